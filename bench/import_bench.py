"""Directory import benchmark: a generated directory of N employees into a fresh database.

Prints rows/s for a first import (all created) and a re-import (all unchanged), and the peak
memory of the process. Goal (issue 2): 100,000 rows in under 10 s on SQLite here.

    python bench/import_bench.py [--rows 100000] [--postgres-server URL]

With --postgres-server, it runs in a scratch database created on that server and dropped after.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.core.db import make_engine, scratch_postgres_database, session_scope
from orchestrator.employees.service import ImportReport, import_directory
from orchestrator.migrations import upgrade

DEPARTMENTS = [
    "Engineering/Platform",
    "Engineering/Mobile",
    "Engineering/Data",
    "Sales/EMEA",
    "Sales/Americas",
    "Marketing",
    "Finance",
    "People",
    "Legal",
    "Support/Tier 1",
    "Support/Tier 2",
    "Research",
]
COUNTRIES = ["US", "DE", "FR", "GB", "UK", "IE", "NL", "ES", "PL", "CA", "IN", "JP", "BR", "SE"]
GIVEN = [
    "Ann",
    "Björn",
    "Chloé",
    "Dmitri",
    "Eun-ji",
    "Farah",
    "Gustavo",
    "Hiro",
    "Ines",
    "Jun",
    "李",
    "Ζωή",
]
FAMILY = [
    "Lee",
    "Ångström",
    "Dubois",
    "Ivanov",
    "Kim",
    "Haddad",
    "Silva",
    "Tanaka",
    "Costa",
    "王",
    "Παππάς",
]


def generate_csv(rows: int, seed: int = 7) -> bytes:
    chance = random.Random(seed)
    lines = ["email,name,department,country,linkedin_url,fleet_host"]
    for number in range(rows):
        given, family = chance.choice(GIVEN), chance.choice(FAMILY)
        lines.append(
            f"person{number}@example.com,{given} {family},{chance.choice(DEPARTMENTS)},"
            f"{chance.choice(COUNTRIES)},https://www.linkedin.com/in/person-{number},"
            f"host-{number % 500}.fleet.example"
        )
    return ("\n".join(lines) + "\n").encode("utf-8")


def timed_import(url: str, data: bytes) -> tuple[float, ImportReport]:
    engine = make_engine(url)
    start = time.perf_counter()
    with session_scope(engine) as session:
        report = import_directory(
            session, data=data, source="bench.csv", actor="bench", now=datetime.now(UTC)
        )
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--postgres-server", help="e.g. postgresql://postgres@127.0.0.1:5432/test (default: SQLite)"
    )
    args = parser.parse_args()

    data = generate_csv(args.rows)
    with ExitStack() as stack:
        if args.postgres_server:
            url = stack.enter_context(
                scratch_postgres_database(args.postgres_server, prefix="optout_bench")
            )
        else:
            directory = stack.enter_context(tempfile.TemporaryDirectory())
            url = f"sqlite:///{Path(directory) / 'bench.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        first, report = timed_import(url, data)
        again, report_again = timed_import(url, data)

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database            {url.split(':', 1)[0]}")
    print(f"rows                {args.rows:,} ({len(data) / 2**20:.1f} MiB CSV)")
    print(
        f"first import        {first:6.2f} s  {args.rows / first:10,.0f} rows/s"
        f"  (created {report.created:,})"
    )
    print(
        f"re-import           {again:6.2f} s  {args.rows / again:10,.0f} rows/s"
        f"  (unchanged {report_again.unchanged:,})"
    )
    if args.rows == 100_000:
        verdict = "met" if first < 10 else "NOT met"
        print(f"goal                100,000 rows in under 10 s: {verdict}")
    print(f"peak memory (RSS)   {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()
