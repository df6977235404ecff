"""Starting Chromium the one way that works on fleet hosts, in CI and in tests.

Playwright cannot download its own browsers here, so we always launch the system Chromium, with
flags that keep it from phoning home or needing a sandbox the container does not provide.
"""

from __future__ import annotations

import os
from typing import Any

from playwright.async_api import Browser, Playwright

DEFAULT_CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_executable() -> str:
    """The Chromium binary to drive: `OPTOUT_CHROMIUM_PATH`, else Debian's."""
    return os.environ.get("OPTOUT_CHROMIUM_PATH", DEFAULT_CHROMIUM_PATH)


def launch_options(*, headless: bool = True) -> dict[str, Any]:
    """The arguments of `chromium.launch` every run of ours needs (sync or async driver)."""
    return {
        "executable_path": chromium_executable(),
        "headless": headless,
        "args": list(CHROMIUM_ARGS),
    }


async def launch_chromium(playwright: Playwright, *, headless: bool = True) -> Browser:
    """Launch the system Chromium for the engine, which drives it asynchronously."""
    return await playwright.chromium.launch(**launch_options(headless=headless))
