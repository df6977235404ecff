"""Finding a policy's controls on a page: by role and accessible name, exactly one or fail.

Class names are hashed on the real sites and change without notice; roles and accessible names
are what a person sees, so they are the only hooks we use. A locator that matches nothing means
the page changed; one that matches several is ambiguous; either way nothing is clicked.
"""

from __future__ import annotations

import re

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page

from orchestrator.policies import Control, compile_text_match

_ARIA_LINE = re.compile(r'^- (?P<role>[\w-]+)(?: "(?P<name>(?:[^"\\]|\\.)*)")?(?P<rest>.*)$')


class StepFailure(Exception):  # noqa: N818 - it is the failure itself, carried to the outcome
    """A step could not do what the policy says; `transient` means a retry may succeed."""

    def __init__(
        self, reason: str, *, transient: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.retry_after = retry_after


def _describe(control_name: str, control: Control) -> str:
    roles = " or ".join(control.allowed_roles)
    names = " | ".join(repr(name) for name in control.names)
    where = f" inside {control.within}" if control.within else ""
    return f"{control_name!r} ({roles} named {names}{where})"


def control_locator(page: Page, control: Control) -> Locator:
    """Every element with one of the control's roles and a name matching one of its variants."""
    scope = page.locator(control.within) if control.within else page
    combined: Locator | None = None
    for role in control.allowed_roles:
        for name in control.names:
            found = scope.get_by_role(role, name=compile_text_match(name))
            combined = found if combined is None else combined.or_(found)
    assert combined is not None  # a control has at least one role and one name
    return combined


async def find_optional(page: Page, control_name: str, control: Control) -> Locator | None:
    """The one element for an optional control as the page stands now, or None.

    Optional controls (a cookie banner's button) are looked for once, not waited for, so a
    run without the banner loses no time; two matches still fail closed.
    """
    locator = control_locator(page, control)
    count = await locator.count()
    if count == 0:
        return None
    if count > 1:
        raise _ambiguous(control_name, control, count)
    return locator


async def failure_acting_on(
    exc: PlaywrightError, locator: Locator, control_name: str, control: Control
) -> StepFailure:
    """Why acting on a control failed, from Playwright's error (it waits and acts in strict
    mode, so one round trip finds the element, refuses a second match and acts)."""
    text = str(exc)
    if "strict mode violation" in text:
        return _ambiguous(control_name, control, await locator.count())
    if "resolved to" in text:  # found, but it never became usable (disabled, covered...)
        first_line = text.splitlines()[0]
        return StepFailure(
            f"{_describe(control_name, control)} was found but could not be used: {first_line}",
            transient=True,
        )
    return StepFailure(f"no element matches {_describe(control_name, control)}")


def _ambiguous(control_name: str, control: Control, count: int) -> StepFailure:
    return StepFailure(
        f"{count} elements match {_describe(control_name, control)}; refusing to guess"
    )


async def aria_description(locator: Locator) -> str:
    """The element as assistive technology sees it: role, accessible name and state."""
    return (await locator.aria_snapshot()).strip().splitlines()[0]


async def accessible_name(locator: Locator) -> str:
    """The element's accessible name, read from its accessibility snapshot."""
    match = _ARIA_LINE.match(await aria_description(locator))
    return (match.group("name") or "") if match else ""
