"""Running one policy for one employee in a fresh browser context, and proving the result.

The run reads before it writes (a switch already off is left alone), verifies the end state
after a reload, and only then reports the account compliant: every other path ends as
`failed`, `needs_employee_action`, `drifted` or `not_applicable`, each with its reason. The
browser is shared across employees; each task gets its own context, so no cookie, storage or
page state crosses from one employee to the next.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Response,
    Route,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from orchestrator.automation.browser import launch_chromium
from orchestrator.automation.evidence import EvidenceWriter
from orchestrator.automation.locate import (
    StepFailure,
    accessible_name,
    aria_description,
    control_locator,
    failure_acting_on,
    find_optional,
)
from orchestrator.automation.outcomes import (
    ControlReading,
    EngineTask,
    Outcome,
    OutcomeStatus,
)
from orchestrator.policies import (
    Capture,
    Click,
    Dismiss,
    Ensure,
    Fill,
    Goto,
    Policy,
    Select,
    SessionDetector,
    Step,
    WaitForUrl,
    applicable,
    compile_text_match,
    is_denied,
    rebase,
    render_template,
    site_path,
)
from orchestrator.policies.errors import TemplateRenderError
from orchestrator.policies.matching import is_regex_form

ACTION_TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 20_000
VIEWPORT = {"width": 1280, "height": 900}


@dataclass(frozen=True)
class EngineOptions:
    """Tuning that is the same for every task of a batch."""

    action_timeout_ms: float = ACTION_TIMEOUT_MS
    navigation_timeout_ms: float = NAVIGATION_TIMEOUT_MS
    trace_on_failure: bool = True


class NeedsEmployee(Exception):  # noqa: N818 - an outcome, not a fault
    """The session needs the employee: signed out, or a security check only they can pass."""

    def __init__(self, detector: SessionDetector, reason: str) -> None:
        super().__init__(reason)
        self.detector = detector
        self.reason = reason


@dataclass
class _Run:
    """What one task has seen so far; turned into an Outcome at the end."""

    task: EngineTask
    page: Page
    options: EngineOptions
    evidence: EvidenceWriter
    step: str | None = None
    changed: bool = False
    drifted: bool = False
    clicked_in_form: bool = False
    trace_kept: bool = False
    denied_attempts: list[str] = field(default_factory=list)
    captured: dict[str, str] = field(default_factory=dict)
    reading: dict[str, Any] = field(default_factory=dict)

    @property
    def policy(self) -> Policy:
        return self.task.policy.policy


def _now() -> datetime:
    return datetime.now(UTC)


async def run_task(
    browser: Browser, task: EngineTask, *, options: EngineOptions | None = None
) -> Outcome:
    """Run one policy for one employee and return its outcome with evidence.

    Args:
        browser: a launched Chromium, shared by the tasks of a batch.
        task: the policy, the employee, their session and where evidence goes.
        options: timeouts and tracing.

    Returns:
        The outcome. It never raises for anything the page, the session or the policy does.
    """
    options = options or EngineOptions()
    started = _now()
    early = _outcome_without_browser(task, started)
    if early is not None:
        return early
    assert task.storage_state is not None
    context = await browser.new_context(
        storage_state=task.storage_state,  # type: ignore[arg-type]
        viewport=VIEWPORT,  # type: ignore[arg-type]
        locale="en-US",
    )
    context.set_default_timeout(options.action_timeout_ms)
    context.set_default_navigation_timeout(options.navigation_timeout_ms)
    if options.trace_on_failure:
        # No DOM snapshots: they cost two page round trips per call for every task, and only
        # a failed task's trace is kept. A failure adds the page's DOM and accessibility tree
        # as they stood then (see EvidenceWriter.trace), beside the action log and network.
        await context.tracing.start(snapshots=False, screenshots=False)
    evidence = EvidenceWriter(task.evidence_dir, task.task_id)
    run = _Run(task=task, page=await context.new_page(), options=options, evidence=evidence)
    await _guard_deny_list(context, run)
    try:
        outcome = await _drive(run, started)
    except NeedsEmployee as needs:
        outcome = await _finish(
            run,
            started,
            OutcomeStatus.NEEDS_EMPLOYEE_ACTION,
            needs.reason,
            employee_action=needs.detector.message.strip(),
        )
    except StepFailure as failure:
        outcome = await _failed(run, started, failure, context)
    except PlaywrightTimeoutError as exc:
        timed_out = StepFailure(f"timed out: {str(exc).splitlines()[0]}", transient=True)
        outcome = await _failed(run, started, timed_out, context)
    except PlaywrightError as exc:
        broke = StepFailure(f"browser error: {str(exc).splitlines()[0]}", transient=True)
        outcome = await _failed(run, started, broke, context)
    finally:
        if options.trace_on_failure and not run.trace_kept:
            await context.tracing.stop()
        await context.close()
    return outcome


def run_task_alone(task: EngineTask, *, headless: bool = True) -> Outcome:
    """Run one task in a browser of its own, started and closed around it (`optout
    run-policy`, for debugging a policy)."""

    async def run() -> Outcome:
        async with async_playwright() as playwright:
            browser = await launch_chromium(playwright, headless=headless)
            try:
                return await run_task(browser, task)
            finally:
                await browser.close()

    return asyncio.run(run())


def not_started(task: EngineTask, reason: str) -> Outcome:
    """The outcome of a task that was never started: retry it later."""
    now = _now()
    return Outcome(
        task_id=task.task_id,
        policy_id=task.policy.policy.id,
        policy_version=task.policy.version,
        status=OutcomeStatus.FAILED,
        message=f"not started: {reason}",
        started_at=now,
        finished_at=now,
        transient=True,
    )


def _outcome_without_browser(task: EngineTask, started: datetime) -> Outcome | None:
    """Outcomes decided before opening a page: not applicable, already submitted, no session."""
    policy = task.policy.policy

    def decided(status: OutcomeStatus, message: str, **details: Any) -> Outcome:
        return Outcome(
            task_id=task.task_id,
            policy_id=policy.id,
            policy_version=task.policy.version,
            status=status,
            message=message,
            started_at=started,
            finished_at=_now(),
            **details,
        )

    verdict = applicable(policy, country=task.employee.country, on=task.on or started.date())
    if not verdict.applies:
        return decided(
            OutcomeStatus.NOT_APPLICABLE,
            verdict.reason,
            rule_id=verdict.rule_id,
            rule_source=verdict.source,
        )
    if policy.submit_once and task.prior_confirmation:
        return decided(
            OutcomeStatus.ALREADY_COMPLIANT,
            "submitted before; a form is never submitted twice for one account",
            captured=dict(task.prior_confirmation),
        )
    if task.storage_state is None:
        return decided(
            OutcomeStatus.NEEDS_EMPLOYEE_ACTION,
            f"no {policy.platform} session was provided for this employee",
            employee_action=policy.signed_out.message.strip(),
        )
    return None


def _deny_list_pattern(deny_prefixes: Iterable[str]) -> re.Pattern[str]:
    """A loose pattern for URLs that may be deny-listed: any prefix anywhere, each character
    plain or percent-encoded. It only chooses which requests to look at; `is_denied` decides."""

    def loose(character: str) -> str:
        encoded = "%" + format(ord(character), "02x") if character.isascii() else None
        options = [re.escape(character)] + ([encoded] if encoded else [])
        return "(?:" + "|".join(options) + ")"

    alternatives = ("".join(loose(c) for c in prefix.rstrip("/")) for prefix in deny_prefixes)
    return re.compile("|".join(alternatives), re.IGNORECASE)


async def _guard_deny_list(context: BrowserContext, run: _Run) -> None:
    """Abort any request to a deny-listed path (closing or hibernating the account...).

    Only URLs that look like a deny-listed path are intercepted (matched in the browser
    driver), so ordinary page loads pay nothing for the guard.
    """

    async def check(route: Route) -> None:
        path = site_path(route.request.url, run.policy, run.task.base_url)
        if path is not None and is_denied(path, run.policy.deny_urls):
            run.denied_attempts.append(route.request.url)
            await route.abort("blockedbyclient")
        else:
            await route.fallback()

    if run.policy.deny_urls:
        await context.route(_deny_list_pattern(run.policy.deny_urls), check)


async def _drive(run: _Run, started: datetime) -> Outcome:
    policy = run.policy
    run.step = "start_url"
    await _open(run, policy.start_url)
    _assert_on_policy_page(run)
    if "screenshot_before" in policy.evidence:
        await run.evidence.screenshot(run.page, "screenshot_before")
    for index, step in enumerate(policy.steps):
        run.step = f"steps[{index}].{step.keyword}"
        await _perform(run, step)
    return await _verify(run, started)


async def _open(run: _Run, url: str) -> None:
    """Navigate to a policy URL (on the replica when a base URL is set) and check the result."""
    target = rebase(url, run.policy, run.task.base_url)
    path = site_path(target, run.policy, run.task.base_url)
    if path is None or is_denied(path, run.policy.deny_urls):
        raise StepFailure(f"refusing to open {url}: it is deny-listed or off the policy's site")
    response = await run.page.goto(target, wait_until="load")
    await _check_page(run, response)


async def _check_page(run: _Run, response: Response | None) -> None:
    """After a navigation: deny-list, rate limits, server errors, and the session's health."""
    _check_denied(run)
    if response is not None:
        if response.status == 429:
            retry_after = _retry_after(response.headers.get("retry-after"))
            raise StepFailure(
                "the site is rate limiting (HTTP 429)", transient=True, retry_after=retry_after
            )
        if response.status >= 500:
            raise StepFailure(f"the site answered HTTP {response.status}", transient=True)
    await _check_session(run)


def _check_denied(run: _Run) -> None:
    if run.denied_attempts:
        raise StepFailure(f"the page tried to open a deny-listed URL: {run.denied_attempts[0]}")


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _current_path(run: _Run) -> str | None:
    return site_path(run.page.url, run.policy, run.task.base_url)


async def _check_session(run: _Run) -> None:
    """Signed out or challenged: the employee must act; nothing more is tried."""
    path = _current_path(run)
    for detector, what in (
        (run.policy.signed_out, "the session is signed out"),
        (run.policy.checkpoint, "the site asks for a security check"),
    ):
        if path is not None and any(re.match(p, path) for p in detector.url_patterns):
            raise NeedsEmployee(detector, f"{what} (landed on {path})")
        if detector.text_any and await _page_shows(run.page, detector.text_any):
            raise NeedsEmployee(detector, what)


async def _page_shows(page: Page, texts: Iterable[str]) -> bool:
    """Whether any of the texts is on the page (one round trip for all of them)."""
    combined: Locator | None = None
    for text in texts:
        found = page.get_by_text(compile_text_match(text))
        combined = found if combined is None else combined.or_(found)
    return combined is not None and await combined.count() > 0


def _assert_on_policy_page(run: _Run) -> None:
    path = _current_path(run)
    if path is None or not any(re.match(p, path) for p in run.policy.url_assertions):
        raise StepFailure(f"expected the policy's page but landed on {run.page.url}")


async def _transient_error_on_page(run: _Run) -> str | None:
    for text in run.policy.transient_error_texts:
        shown = run.page.get_by_text(compile_text_match(text))
        if await shown.count() > 0 and await shown.first.is_visible():
            return (await shown.first.inner_text()).strip()
    return None


def _locator(run: _Run, name: str) -> Locator:
    """The locator of a required control; the first action on it waits for exactly one match."""
    return control_locator(run.page, run.policy.controls[name])


@asynccontextmanager
async def _acting_on(run: _Run, name: str) -> AsyncIterator[None]:
    """Turn Playwright's errors while acting on a control into fail-closed step failures."""
    try:
        yield
    except PlaywrightError as exc:
        control = run.policy.controls[name]
        failure = await failure_acting_on(exc, _locator(run, name), name, control)
        if not failure.transient:
            # A missing control on an error page is the site's hiccup, not a changed page.
            error = await _transient_error_on_page(run)
            if error is not None:
                raise StepFailure(f"the site showed an error: {error}", transient=True) from exc
        raise failure from exc


async def _optional(run: _Run, name: str) -> Locator | None:
    return await find_optional(run.page, name, run.policy.controls[name])


async def _refuse_denied_name(run: _Run, control_name: str, locator: Locator) -> None:
    """Never act on an element whose accessible name is deny-listed ("Close account"...).

    Plain label variants were checked against deny_names when the policy loaded; only a
    regex variant can match an unforeseen name, so only then is the live name read.
    """
    control = run.policy.controls[control_name]
    if not run.policy.deny_names or not any(is_regex_form(name) for name in control.names):
        return
    name = await accessible_name(locator)
    for pattern in run.policy.deny_names:
        if compile_text_match(pattern).search(name):
            raise StepFailure(f"refusing to act on {name!r}: it matches deny_names")


async def _perform(run: _Run, step: Step) -> None:
    action = step.action
    if isinstance(action, Goto):
        await _open(run, action.url)
    elif isinstance(action, Dismiss):
        await _dismiss(run, action)
    elif isinstance(action, Ensure):
        await _ensure(run, action)
    elif isinstance(action, Fill):
        await _fill(run, action)
    elif isinstance(action, Select):
        await _select(run, action)
    elif isinstance(action, Click):
        await _click(run, action)
    elif isinstance(action, Capture):
        await _capture(run, action)
    elif isinstance(action, WaitForUrl):
        pattern = re.compile(action.pattern)
        await run.page.wait_for_url(
            lambda url: bool(pattern.match(site_path(url, run.policy, run.task.base_url) or ""))
        )
        await _check_page(run, None)


async def _dismiss(run: _Run, action: Dismiss) -> None:
    found = (
        await _optional(run, action.control) if action.optional else _locator(run, action.control)
    )
    if found is None:
        return
    await _refuse_denied_name(run, action.control, found)
    async with _acting_on(run, action.control):
        await found.click()
        await found.wait_for(state="hidden")


# The switch's state as the page holds it, and the page's text for the drift detector.
_READ_SWITCH = """element => ({
    checked: element instanceof HTMLInputElement
        ? element.checked : element.getAttribute("aria-checked") === "true",
    text: document.body.innerText,
})"""

# Resolves once the switch has settled: not saving any more, and either in the wanted state or
# with an alert on the page. One round trip, however long the site takes to save.
_SETTLE = """async (element, [wanted, timeoutMs]) => {
    const state = () => element instanceof HTMLInputElement
        ? element.checked : element.getAttribute("aria-checked") === "true";
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const busy = element.getAttribute("aria-busy") === "true" || element.disabled;
        const alert = [...document.querySelectorAll("[role=alert]")]
            .some((node) => node.innerText.trim() !== "");
        if (!busy && (state() === wanted || alert)) return {checked: state(), settled: true};
        if (Date.now() > deadline) return {checked: state(), settled: false};
        await new Promise((resolve) => setTimeout(resolve, 25));
    }
}"""


def _checked_in(aria: str) -> bool:
    """The checked state from an accessibility snapshot line (`- switch "…" [checked]`)."""
    return "[checked]" in aria or "[checked=true]" in aria


async def _ensure(run: _Run, action: Ensure) -> None:
    control = _locator(run, action.control)
    async with _acting_on(run, action.control):
        read = await control.evaluate(_READ_SWITCH)
    context_text = run.policy.controls[action.control].context_text_any
    if context_text and not any(compile_text_match(t).search(read["text"]) for t in context_text):
        raise StepFailure(
            f"the page around {action.control!r} no longer says any of {list(context_text)}: "
            "its wording changed; review the policy before running it again"
        )
    before = bool(read["checked"])
    run.reading.setdefault("checked_before", before)
    run.reading["control"] = action.control
    if before == action.checked:
        return
    if run.task.mode == "verify":
        run.drifted = True  # a read-only check never clicks
        return
    await _refuse_denied_name(run, action.control, control)
    async with _acting_on(run, action.control):
        await control.click()
        settled = await control.evaluate(_SETTLE, [action.checked, run.options.action_timeout_ms])
    if settled["checked"] == action.checked and settled["settled"]:
        run.changed = True
        return
    if not settled["settled"]:
        raise StepFailure("the switch did not settle in the wanted state", transient=True)
    error = await _transient_error_on_page(run)
    raise StepFailure(
        f"the site did not save the change: {error or 'the switch reverted'}", transient=True
    )


async def _fill(run: _Run, action: Fill) -> None:
    control = _locator(run, action.control)
    try:
        value = render_template(action.value, run.task.employee.template_context())
    except TemplateRenderError as exc:
        raise StepFailure(exc.message) from exc
    async with _acting_on(run, action.control):
        await _refuse_denied_name(run, action.control, control)
        await control.fill(value)


_SELECT_OPTIONS = """element => element instanceof HTMLSelectElement
    ? [...element.options].map((option) => option.label.trim())
    : null"""


async def _select(run: _Run, action: Select) -> None:
    """Choose an option in a dropdown (by its label) or a radio group (by the radio's name)."""
    control = _locator(run, action.control)
    wanted = compile_text_match(action.option)
    async with _acting_on(run, action.control):
        labels: list[str] | None = await control.evaluate(_SELECT_OPTIONS)
    if labels is None:  # a radio group
        radios = control.get_by_role("radio", name=wanted)
        try:
            await radios.check()
        except PlaywrightError as exc:
            matched = await radios.count()
            raise StepFailure(
                f"{matched} radio options of {action.control!r} match {action.option!r}"
            ) from exc
        return
    matching = [label for label in labels if wanted.search(label)]
    if len(matching) != 1:
        raise StepFailure(
            f"{len(matching)} options of {action.control!r} match {action.option!r} "
            f"(options: {labels})"
        )
    async with _acting_on(run, action.control):
        await control.select_option(label=matching[0])


async def _click(run: _Run, action: Click) -> None:
    found = (
        await _optional(run, action.control) if action.optional else _locator(run, action.control)
    )
    if found is None:
        return
    async with _acting_on(run, action.control):
        await _refuse_denied_name(run, action.control, found)
        if run.policy.submit_once:
            run.clicked_in_form = True
        await found.click()
    await run.page.wait_for_load_state("load")
    _check_denied(run)


async def _capture(run: _Run, action: Capture) -> None:
    if action.control is None:
        text = await run.page.locator("body").inner_text()
    else:
        async with _acting_on(run, action.control):
            text = await _locator(run, action.control).inner_text()
    if action.text_pattern is None:
        value = text.strip()
    else:
        match = compile_text_match(action.text_pattern).search(text)
        value = (match.group(1) if match.groups() else match.group(0)) if match else ""
    if not value:
        error = await _transient_error_on_page(run)
        if error is not None:  # the site said the submission failed: safe to try again
            raise StepFailure(f"the site did not accept the submission: {error}", transient=True)
        raise StepFailure(f"no {action.as_} found on the page after submitting")
    run.captured[action.as_] = value


async def _verify(run: _Run, started: datetime) -> Outcome:
    policy = run.policy
    verify = policy.verify
    run.step = "verify"
    if verify.reload:
        response = await run.page.reload(wait_until="load")
        await _check_page(run, response)
        _assert_on_policy_page(run)
    for index, step in enumerate(verify.steps):
        run.step = f"verify.steps[{index}].{step.keyword}"
        await _perform(run, step)
    run.step = "verify"
    if verify.control_state is not None:
        control = _locator(run, verify.control_state.control)
        async with _acting_on(run, verify.control_state.control):
            run.reading["aria"] = await aria_description(control)
        after = _checked_in(run.reading["aria"])
        run.reading["checked_after"] = after
        run.reading.setdefault("control", verify.control_state.control)
        if after != verify.control_state.checked:
            if run.task.mode == "verify":
                return await _finish(
                    run, started, OutcomeStatus.DRIFTED, "the setting is back on (drift)"
                )
            raise StepFailure(
                f"after reloading, {verify.control_state.control!r} still shows "
                f"{'on' if after else 'off'}: the change was not saved",
                transient=True,
            )
    elif verify.captured is not None and verify.captured not in run.captured:
        raise StepFailure(f"no {verify.captured} was captured: the submission is not proven")
    if run.drifted:
        return await _finish(run, started, OutcomeStatus.DRIFTED, "the setting is back on (drift)")
    if run.changed or run.clicked_in_form:
        status, message = OutcomeStatus.CHANGED, "opted out and verified"
    else:
        status, message = OutcomeStatus.ALREADY_COMPLIANT, "already opted out; nothing clicked"
    return await _finish(run, started, status, message)


async def _finish(
    run: _Run,
    started: datetime,
    status: OutcomeStatus,
    message: str,
    *,
    employee_action: str | None = None,
) -> Outcome:
    policy = run.policy
    final_url = run.page.url
    if status is OutcomeStatus.NEEDS_EMPLOYEE_ACTION:
        await run.evidence.screenshot(run.page, "screenshot_needs_action")
    if status.compliant or status is OutcomeStatus.DRIFTED:
        if "screenshot_after" in policy.evidence:
            await run.evidence.screenshot(run.page, "screenshot_after")
        if "control_state" in policy.evidence and run.reading:
            run.evidence.record("control_state", _reading_record(run, final_url), url=final_url)
        if "confirmation" in policy.evidence and run.captured:
            run.evidence.record("confirmation", dict(run.captured), url=final_url)
        if "final_url" in policy.evidence:
            run.evidence.record("final_url", {"url": final_url}, url=final_url)
    reading = None
    if run.reading:
        reading = ControlReading(
            control=run.reading.get("control", ""),
            aria=run.reading.get("aria", ""),
            checked_before=run.reading.get("checked_before"),
            checked_after=run.reading.get("checked_after"),
        )
    return Outcome(
        task_id=run.task.task_id,
        policy_id=policy.id,
        policy_version=run.task.policy.version,
        status=status,
        message=message,
        started_at=started,
        finished_at=_now(),
        step=None if status.compliant else run.step,
        employee_action=employee_action,
        final_url=final_url,
        control=reading,
        captured=dict(run.captured),
        evidence=run.evidence.files,
    )


def _reading_record(run: _Run, final_url: str) -> dict[str, Any]:
    return {
        "policy_id": run.policy.id,
        "policy_version": run.task.policy.version,
        "control": run.reading.get("control"),
        "accessibility": run.reading.get("aria"),
        "checked_before": run.reading.get("checked_before"),
        "checked_after": run.reading.get("checked_after"),
        "final_url": final_url,
        "site_path": _current_path(run),
    }


async def _failed(
    run: _Run, started: datetime, failure: StepFailure, context: BrowserContext
) -> Outcome:
    """A failed run keeps a screenshot and a Playwright trace to show what the page looked like."""
    transient = failure.transient
    reason = failure.reason
    if run.clicked_in_form and not transient:
        reason += " (the form may have been submitted: check the account before running again)"
    with suppress(PlaywrightError):  # the page may be gone; the trace still tells
        await run.evidence.screenshot(run.page, "failure_screenshot")
    if run.options.trace_on_failure:
        await run.evidence.trace(context, run.page)
        run.trace_kept = True
    outcome = await _finish(run, started, OutcomeStatus.FAILED, reason)
    return replace(outcome, transient=transient, retry_after_seconds=failure.retry_after)


def write_outcome(outcome: Outcome, directory: Path) -> Path:
    """Keep the outcome beside its evidence as JSON (what a fleet host sends back)."""
    path = directory / outcome.task_id / "outcome.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outcome.as_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    return path
