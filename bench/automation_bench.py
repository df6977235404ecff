"""Engine benchmark: both LinkedIn policies for N employees against the replica.

Runs the same work twice in one browser against one replica process: through the engine
(policy loading already done, role/name resolution, read-before-write, verify after reload,
evidence with hashes, tracing kept for failures) and as a bare Playwright loop doing the same
clicks, reloads and screenshots with nothing else. Prints employees/s for each and the ratio
(goal, issue 3: the engine at least 0.85 of the bare loop).

    python bench/automation_bench.py [--employees 20]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
from playwright.async_api import Browser, async_playwright

from orchestrator.automation.browser import launch_chromium
from orchestrator.automation.engine import run_task
from orchestrator.automation.outcomes import EmployeeFacts, EngineTask
from orchestrator.policies import load_policies
from orchestrator.replica import Platform, ReplicaClient

REPO = Path(__file__).resolve().parents[1]
TOGGLE_NAME = re.compile("Use my data for training content creation AI models", re.IGNORECASE)
CASE_NUMBER = re.compile(r"\b(CASE-\d{8})\b")
ROUND = 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_replica() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "replica", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/__replica__/health", timeout=1).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the replica did not start")


def seed(client: ReplicaClient, prefix: str, count: int) -> list[str]:
    accounts = [f"{prefix}{number}" for number in range(count)]
    for account in accounts:
        client.seed_account(Platform.LINKEDIN, account)
    return accounts


async def engine_loop(
    browser: Browser, client: ReplicaClient, accounts: list[str], out: Path
) -> float:
    policies = load_policies(REPO / "policies")
    toggle, form = (
        policies.get("linkedin-genai-training"),
        policies.get("linkedin-data-processing-objection"),
    )
    base_url = client.site_url(Platform.LINKEDIN, "").rstrip("/")
    start = time.perf_counter()
    for account in accounts:
        state = client.storage_state(Platform.LINKEDIN, account)
        facts = EmployeeFacts(f"{account}@example.com", "Bench Person", "Bench", "US")
        for loaded in (toggle, form):
            task = EngineTask(
                task_id=f"{account}-{loaded.policy.id}",
                policy=loaded,
                employee=facts,
                storage_state=state,
                evidence_dir=out,
                base_url=base_url,
                on=date.today(),
            )
            outcome = await run_task(browser, task)
            if not outcome.status.compliant:
                raise SystemExit(f"engine run failed for {account}: {outcome.message}")
    return time.perf_counter() - start


async def bare_toggle_off(browser: Browser, state: dict, url: str, prefix: Path) -> None:
    """The switch turned off with nothing but Playwright: the yardstick for the engine."""
    context = await browser.new_context(
        storage_state=state,  # type: ignore[arg-type]
        viewport={"width": 1280, "height": 900},
    )
    page = await context.new_page()
    await page.goto(url)
    await page.screenshot(path=f"{prefix}-before.png")
    switch = page.get_by_role("switch", name=TOGGLE_NAME)
    await switch.click()
    await page.wait_for_function(
        "el => !el.checked && el.getAttribute('aria-busy') !== 'true' && !el.disabled",
        arg=await switch.element_handle(),
    )
    await page.reload()
    assert not await page.get_by_role("switch", name=TOGGLE_NAME).is_checked()
    await page.screenshot(path=f"{prefix}-after.png")
    await context.close()


async def bare_loop(
    browser: Browser, client: ReplicaClient, accounts: list[str], out: Path
) -> float:
    setting = client.site_url(
        Platform.LINKEDIN, "/mypreferences/d/settings/data-for-ai-improvement"
    )
    form_url = client.site_url(Platform.LINKEDIN, "/help/linkedin/ask/TS-DPRO")
    start = time.perf_counter()
    for account in accounts:
        state = client.storage_state(Platform.LINKEDIN, account)
        await bare_toggle_off(browser, state, setting, out / account)

        context = await browser.new_context(
            storage_state=state,  # type: ignore[arg-type]
            viewport={"width": 1280, "height": 900},
        )
        page = await context.new_page()
        await page.goto(form_url)
        await page.screenshot(path=out / f"{account}-form-before.png")
        await (
            page.get_by_role("radiogroup", name=re.compile("type of request", re.I))
            .get_by_role("radio", name=re.compile("object to processing", re.I))
            .check()
        )
        await page.get_by_role("combobox", name=re.compile("object to", re.I)).select_option(
            label="Training other AI or machine learning models"
        )
        await page.get_by_role("textbox", name=re.compile("explain", re.I)).fill("I object.")
        await page.get_by_role("textbox", name=re.compile("email address", re.I)).fill(
            f"{account}@example.com"
        )
        await page.get_by_role("button", name=re.compile("^submit$", re.I)).click()
        await page.wait_for_load_state("load")
        if not CASE_NUMBER.search(await page.locator("body").inner_text()):
            raise SystemExit(f"bare loop found no case number for {account}")
        await page.screenshot(path=out / f"{account}-form-after.png")
        await context.close()
    return time.perf_counter() - start


async def interleaved(client: ReplicaClient, employees: int) -> tuple[float, float]:
    """Seconds of the bare loop and of the engine, in alternating rounds of one browser."""
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        with tempfile.TemporaryDirectory() as directory:
            out = Path(directory)
            warm = seed(client, "warm", 2)
            await bare_loop(browser, client, warm[:1], out)
            await engine_loop(browser, client, warm[1:], out)
            # Interleaved rounds, so that whatever else the machine does hits both alike.
            bare = engine = 0.0
            for round_number in range(0, employees, ROUND):
                size = min(ROUND, employees - round_number)
                accounts = seed(client, f"bare{round_number}-", size)
                bare += await bare_loop(browser, client, accounts, out)
                accounts = seed(client, f"engine{round_number}-", size)
                engine += await engine_loop(browser, client, accounts, out)
        await browser.close()
    return bare, engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=20)
    args = parser.parse_args()
    process, base_url = start_replica()
    try:
        with ReplicaClient(base_url) as client:
            bare, engine = asyncio.run(interleaved(client, args.employees))
    finally:
        process.terminate()
        process.wait(timeout=10)
    bare_rate, engine_rate = args.employees / bare, args.employees / engine
    print(f"employees            {args.employees} (both LinkedIn policies each)")
    print(f"bare Playwright loop {bare:6.1f} s  {bare_rate:5.2f} employees/s")
    print(f"engine               {engine:6.1f} s  {engine_rate:5.2f} employees/s")
    ratio = engine_rate / bare_rate
    verdict = "met" if ratio >= 0.85 else "NOT met"
    print(f"ratio engine/bare    {ratio:5.2f}  (goal at least 0.85: {verdict})")


if __name__ == "__main__":
    main()
