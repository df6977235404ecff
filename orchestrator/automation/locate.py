"""Finding a policy's controls on a page: by role and accessible name, exactly one or fail.

Class names are hashed on the real sites and change without notice; roles and accessible names
are what a person sees, so they are the only hooks we use. A locator that matches nothing means
the page changed; one that matches several is ambiguous; either way nothing is clicked.
"""

from __future__ import annotations

import re

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page

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


def resolve(
    page: Page, control_name: str, control: Control, *, optional: bool, timeout_ms: float
) -> Locator | None:
    """The one element for `control`, None if optional and absent; fails closed otherwise.

    A required control is waited for (pages render asynchronously); an optional one is looked
    for once, as the page stands, so a run without a cookie banner loses no time.
    """
    locator = control_locator(page, control)
    if optional:
        count = locator.count()
        if count == 0:
            return None
    else:
        try:
            locator.first.wait_for(state="visible", timeout=timeout_ms)
        except PlaywrightError as exc:
            raise StepFailure(f"no element matches {_describe(control_name, control)}") from exc
        count = locator.count()
    if count > 1:
        raise StepFailure(
            f"{count} elements match {_describe(control_name, control)}; refusing to guess"
        )
    return locator


def aria_description(locator: Locator) -> str:
    """The element as assistive technology sees it: role, accessible name and state."""
    return locator.aria_snapshot().strip().splitlines()[0]


def accessible_name(locator: Locator) -> str:
    """The element's accessible name, read from its accessibility snapshot."""
    match = _ARIA_LINE.match(aria_description(locator))
    return (match.group("name") or "") if match else ""
