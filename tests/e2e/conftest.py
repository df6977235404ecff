"""End-to-end fixtures: the replica on a free port, one Chromium per session, a context per test.

The replica runs in-process under uvicorn in a background thread so tests can reach it over
real HTTP from a real browser. A failing test leaves a screenshot of each open page and a
Playwright trace in its tmp_path. Tests drive pages with Playwright's sync API; the engine,
which is asynchronous, gets a Chromium of its own on an event loop in a background thread.
"""

import asyncio
import re
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from playwright.async_api import async_playwright
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from orchestrator.automation.browser import launch_chromium, launch_options
from orchestrator.automation.engine import EngineOptions, run_task
from orchestrator.automation.outcomes import EngineTask, Outcome
from orchestrator.replica import (
    Behaviour,
    Platform,
    ReplicaClient,
    ReplicaState,
    SeededAccount,
    create_replica_app,
)

SAVE_LATENCY = 0.05
SLOW_SAVE_LATENCY = 1.0
STARTUP_TIMEOUT = 10.0
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
T = TypeVar("T")


@dataclass(frozen=True)
class Replica:
    base_url: str
    client: ReplicaClient


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep each phase's report on the item so fixtures can tell whether the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def replica() -> Iterator[Replica]:
    state = ReplicaState(save_latency=SAVE_LATENCY, slow_save_latency=SLOW_SAVE_LATENCY)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_replica_app(state), host="127.0.0.1", port=port, log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="replica", daemon=True
    )
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    _wait_until_answering(f"{base_url}/__replica__/health", thread)
    client = ReplicaClient(base_url)
    yield Replica(base_url=base_url, client=client)
    client.close()
    server.should_exit = True
    thread.join(timeout=STARTUP_TIMEOUT)
    listener.close()


def _wait_until_answering(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if not thread.is_alive():
            pytest.fail("the replica server thread died while starting")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"the replica did not answer {url} within {STARTUP_TIMEOUT}s")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(**launch_options())
    yield chromium
    chromium.close()


class EngineBrowser:
    """A Chromium the engine drives from an event loop in a thread of its own, so that a
    synchronous test can run engine tasks (`run`) beside its sync Playwright pages."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._driver = self._call(async_playwright().start())
        self._browser = self._call(launch_chromium(self._driver))

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def run(self, task: EngineTask, *, options: EngineOptions | None = None) -> Outcome:
        return self._call(run_task(self._browser, task, options=options))

    def close(self) -> None:
        self._call(self._browser.close())
        self._call(self._driver.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


@pytest.fixture(scope="session")
def engine_browser() -> Iterator[EngineBrowser]:
    chromium = EngineBrowser()
    yield chromium
    chromium.close()


@pytest.fixture
def context(
    browser: Browser, replica: Replica, request: pytest.FixtureRequest, tmp_path
) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=replica.base_url)
    context.set_default_timeout(5_000)
    context.tracing.start(screenshots=False, snapshots=True)
    yield context
    call_report = request.node.stash.get(_REPORTS, {}).get("call")
    if call_report is not None and call_report.failed:
        for number, open_page in enumerate(context.pages):
            open_page.screenshot(path=tmp_path / f"failure-{number}.png", full_page=True)
        context.tracing.stop(path=tmp_path / "trace.zip")
        request.node.user_properties.append(("failure_artifacts", str(tmp_path)))
        print(f"screenshots and trace kept in {tmp_path}")
    else:
        context.tracing.stop()
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


SignIn = Callable[..., SeededAccount]


@pytest.fixture
def signed_in(replica: Replica, context: BrowserContext, request: pytest.FixtureRequest) -> SignIn:
    """Seed an account for this test and put its session cookie into the test's context."""

    def seed_and_sign_in(
        platform: Platform,
        *behaviours: Behaviour,
        training_enabled: bool | None = None,
    ) -> SeededAccount:
        account_id = re.sub(r"[^\w.@+-]", "-", f"{request.node.name}-{platform.value}")
        seeded = replica.client.seed_account(
            platform, account_id, behaviours=behaviours, training_enabled=training_enabled
        )
        context.add_cookies(replica.client.storage_state(platform, account_id)["cookies"])
        return seeded

    return seed_and_sign_in
