"""Consent approval benchmark: concurrent approval POSTs against the running web app.

Sets up a scratch database with N employees and a launched campaign (N consent emails in the
outbox), starts `optout serve` on 127.0.0.1, opens every emailed link once (as each employee's
browser would: that yields the page's CSRF token and cookie), then measures in the same run:

  1. the trivial endpoint `GET /healthz` of the same app, N requests;
  2. the same approval POSTs sent with a stale page's text hash: the app parses the form, checks
     CSRF and the signed link, loads the request and renders its page (409, "read it again"),
     but writes nothing: what an answer costs before its transaction;
  3. the approval `POST /consent/{token}`, N requests, each a different employee's first answer
     (one decision, two queued jobs, audit events, a fresh withdraw link, one transaction),

each at the same concurrency, printing requests/s, p50 and p99 latency, and the ratio.
Goal (issue 4): approvals at least half the trivial endpoint's throughput; p99 under 50 ms at
50 concurrent. The load generator is a small keep-alive HTTP/1.1 client on asyncio, so that
the client costs as little CPU as possible on the same machine. Bounded in count and time.

    python bench/consent_bench.py [--employees 1000] [--concurrency 50] [--max-seconds 60]
                                  [--postgres-server postgresql://postgres@127.0.0.1/postgres]
                                  [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import func
from sqlmodel import Session, select

from orchestrator.audit.service import verify_chain
from orchestrator.campaigns.service import CampaignScope, create_campaign, launch_campaign
from orchestrator.consent.config import ConsentConfig
from orchestrator.core.db import make_engine, scratch_postgres_database, session_scope
from orchestrator.core.settings import Settings
from orchestrator.employees.service import import_directory
from orchestrator.jobs.models import Job
from orchestrator.migrations import upgrade
from orchestrator.notifications.models import OutboxMessage

REPO = Path(__file__).resolve().parents[1]
SECRET = "consent-bench-secret-" + "b" * 32
POLICIES = ["linkedin-genai-training", "linkedin-data-processing-objection"]
DECIDE = re.compile(r"/consent/([A-Za-z0-9._-]+)\n")
HIDDEN = re.compile(rb'<input type="hidden" name="(\w+)" value="([^"]*)">')
COOKIE = re.compile(rb"set-cookie: optout_csrf=([^;]+);", re.IGNORECASE)


@dataclass
class Figures:
    name: str
    count: int
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"{self.name:<24} {self.count:>6} req  {self.rate:>8.0f} req/s  "
            f"p50 {self.percentile(0.50):>6.1f} ms  p99 {self.percentile(0.99):>6.1f} ms"
            + (f"  ({self.failures} failed)" if self.failures else "")
        )


class Connection:
    """One keep-alive HTTP/1.1 connection: send a request, read the whole response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        match = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
        body = await self.reader.readexactly(int(match.group(1))) if match else b""
        return status, head, body

    def close(self) -> None:
        self.writer.close()


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n".encode()


def post(path: str, form: dict[str, str], cookie: str) -> bytes:
    body = urlencode(form).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n"
        f"Cookie: optout_csrf={cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def run(
    name: str,
    requests: list[bytes],
    *,
    port: int,
    concurrency: int,
    max_seconds: float,
    expect: int = 200,
) -> tuple[Figures, list[tuple[int, bytes, bytes]]]:
    """Send `requests` over `concurrency` connections; stop early after `max_seconds`.
    Answers with another status than `expect` count as failures."""
    queue = list(enumerate(requests))
    queue.reverse()
    latencies: list[float] = []
    results: list[tuple[int, bytes, bytes]] = [(0, b"", b"")] * len(requests)
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        connection = await Connection.open(port)
        try:
            while queue and time.perf_counter() < deadline:
                index, raw = queue.pop()
                started = time.perf_counter()
                results[index] = await connection.request(raw)
                latencies.append(time.perf_counter() - started)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    done = [result for result in results if result[0]]
    failures = sum(1 for status, _, _ in done if status != expect)
    return Figures(name, len(done), elapsed, latencies, failures), results


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(database_url: str, employees: int) -> list[str]:
    """A launched campaign for `employees` people; returns the decide links' paths."""
    engine = make_engine(database_url)
    upgrade(engine)
    now = datetime.now(UTC)
    rows = "".join(f"e{i}@example.com,Employee {i},Dept {i % 12},US\n" for i in range(employees))
    settings = Settings(_env_file=None, secret_key=SECRET, policies_dir=REPO / "policies")
    config = ConsentConfig.from_settings(settings)
    with session_scope(engine) as session:
        import_directory(
            session,
            data=("email,name,department,country\n" + rows).encode(),
            source="bench.csv",
            actor="bench",
            now=now,
        )
        campaign = create_campaign(
            session,
            name="Consent benchmark",
            policy_ids=POLICIES,
            scope=CampaignScope(everyone=True),
            policies=config.policies,
            deadline=now + timedelta(days=7),
            actor="bench",
            now=now,
        )
        launch_campaign(session, campaign_id=campaign.id, config=config, actor="bench", now=now)
    with Session(engine) as session:
        bodies = session.exec(select(OutboxMessage.text_body)).all()
    engine.dispose()
    return [f"/consent/{DECIDE.search(body).group(1)}" for body in bodies]  # type: ignore[union-attr]


def start_server(
    database_url: str, port: int, data_dir: Path, workers: int
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPTOUT_")}
    env.update(
        {
            "OPTOUT_DATABASE_URL": database_url,
            "OPTOUT_DATA_DIR": str(data_dir),
            "OPTOUT_SECRET_KEY": SECRET,
            "OPTOUT_POLICIES_DIR": str(REPO / "policies"),
            "OPTOUT_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        }
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("the server did not start") from None
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start within 30 s")


async def measure(port: int, paths: list[str], args: argparse.Namespace) -> None:
    opened, pages = await run(
        "open page (GET, setup)",
        [get(path) for path in paths],
        port=port,
        concurrency=args.concurrency,
        max_seconds=args.max_seconds,
    )
    approvals, stale = [], []
    for path, (_, head, body) in zip(paths, pages, strict=True):
        fields = {k.decode(): v.decode() for k, v in HIDDEN.findall(body)}
        cookie = COOKIE.search(head)
        if cookie and fields:
            form = {**fields, "decision": "approve"}
            approvals.append(post(path, form, cookie.group(1).decode()))
            stale.append(post(path, {**form, "shown": "0" * 64}, cookie.group(1).decode()))
    trivial, _ = await run(
        "GET /healthz (trivial)",
        [get("/healthz")] * len(approvals),
        port=port,
        concurrency=args.concurrency,
        max_seconds=args.max_seconds,
    )
    refused, _ = await run(
        "POST, no write (409)",
        stale,
        port=port,
        concurrency=args.concurrency,
        max_seconds=args.max_seconds,
        expect=409,
    )
    approved, _ = await run(
        "POST approve",
        approvals,
        port=port,
        concurrency=args.concurrency,
        max_seconds=args.max_seconds,
    )
    print(f"\nconcurrency {args.concurrency}, {len(paths)} employees, 2 policies each")
    for figures in (opened, trivial, refused, approved):
        print(figures.line())
    ratio = approved.rate / trivial.rate
    print(
        f"\napproval / trivial throughput: {ratio:.2f} (goal ≥ 0.5); "
        f"approval p99 {approved.percentile(0.99):.1f} ms (goal < 50 ms)\n"
        f"no-write answer / trivial: {refused.rate / trivial.rate:.2f}; "
        f"approval / no-write answer: {approved.rate / refused.rate:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="per phase")
    parser.add_argument("--postgres-server", help="run in a scratch database on this server")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args()
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="consent-bench-")))
        if args.postgres_server:
            url = stack.enter_context(
                scratch_postgres_database(args.postgres_server, prefix="consent_bench")
            )
        else:
            url = f"sqlite:///{directory / 'bench.db'}"
        started = time.perf_counter()
        paths = prepare(url, args.employees)
        print(
            f"set-up: {len(paths)} consent emails queued in {time.perf_counter() - started:.1f} s "
            f"({url.split(':', 1)[0]})"
        )
        port = free_port()
        server = start_server(url, port, directory, args.workers)
        try:
            asyncio.run(measure(port, paths, args))
        finally:
            server.terminate()
            server.wait(timeout=10)
        engine = make_engine(url)
        with Session(engine) as session:
            jobs = session.exec(select(func.count()).select_from(Job)).one()
            chain = verify_chain(session)
        engine.dispose()
        print(f"check: {jobs} jobs queued; audit chain {'intact' if chain.ok else chain.problem}")


if __name__ == "__main__":
    main()
