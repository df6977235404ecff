"""The policy format: one YAML file per opt-out, described by these strict, frozen models.

A policy says where the setting lives (`origin`, `start_url`, `url_assertions`), where the engine
must never go (`deny_urls`, `deny_names`), how to tell a signed-out or challenged session, which
controls it touches (`controls`: role plus accessible-name variants), what to do (`steps`, a tiny
vocabulary of single-key steps), how to prove the end state (`verify`, `evidence`), and for whom
it applies (`applicability`, dated rules with sources). Every label carries the confidence the
research gave it, so a reviewer can see which ones were never observed.

Checks that span fields (control references, URLs on the origin and off the deny list, step kinds
fitting the control's role) run in `consistency_problems`, which returns each problem with its
own location; validating a `Policy` directly raises them all at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from orchestrator.policies.matching import (
    check_full_path_pattern,
    check_path_pattern,
    check_regex_text_match,
    check_text_match,
    compile_text_match,
    is_regex_form,
)
from orchestrator.policies.regions import check_region, countries_in
from orchestrator.policies.templates import check_template
from orchestrator.policies.urls import check_origin, is_denied, is_on_origin, path_of

DEFER_CONSISTENCY_CHECKS = "defer_consistency_checks"
"""Validation-context key: the loader sets it to report cross-field problems one by one."""

Location = tuple[str | int, ...]

Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=100)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
Confidence = Literal["V", "S", "G"]
Role = Literal[
    "button",
    "checkbox",
    "combobox",
    "link",
    "listbox",
    "menuitem",
    "radio",
    "radiogroup",
    "switch",
    "textbox",
]
EvidenceKind = Literal[
    "screenshot_before", "screenshot_after", "control_state", "confirmation", "final_url"
]
TextMatch = Annotated[
    str,
    AfterValidator(check_text_match),
    Field(description="Plain text: case-insensitive substring. Written /.../ or /.../i: regex."),
]
RegexTextMatch = Annotated[
    str,
    AfterValidator(check_regex_text_match),
    Field(description="A regex written /.../ or /.../i; group 1, if any, is the value."),
]
PathPattern = Annotated[
    str,
    AfterValidator(check_path_pattern),
    Field(description="Regex over the URL path, starting '^/'."),
]
FullPathPattern = Annotated[
    str,
    AfterValidator(check_full_path_pattern),
    Field(description="Regex over the whole URL path, '^/...$'."),
]
PathPrefix = Annotated[str, Field(pattern=r"^/\S*$", description="A URL path prefix, e.g. /logout")]
Region = Annotated[
    str,
    AfterValidator(check_region),
    Field(description="ISO 3166-1 alpha-2 code (GB, CH, FR...) or a group: EU, EEA."),
]
Origin = Annotated[str, AfterValidator(check_origin)]
Template = Annotated[
    str,
    AfterValidator(check_template),
    Field(description="Jinja2 template over employee.email, .name, .department, .country."),
]
NonEmptyText = Annotated[str, Field(min_length=1)]

_STATE_ROLES = frozenset({"switch", "checkbox", "radio"})
_FILL_ROLES = frozenset({"textbox", "combobox"})
_SELECT_ROLES = frozenset({"combobox", "listbox", "radiogroup"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ControlConfidence(_Strict):
    """How sure the research is of a control's labels and role ([V] verified, [S], [G] guess)."""

    names: Confidence
    role: Confidence
    context_text: Confidence | None = None
    options: Confidence | None = Field(
        default=None, description="For select controls: how sure the option labels are."
    )
    source_date: date | None = Field(
        default=None, description="Date of the newest source quoting the label."
    )
    note: str | None = None


class Control(_Strict):
    """A named locator: a role from `roles` and an accessible name matching any of `names`.

    The engine resolves a locator to exactly one element or fails closed: none means the page
    changed, two or more means the locator is ambiguous, and either way nothing is clicked
    (`optional` on a step forgives absence only, never ambiguity).
    `context_text_any` is a drift detector: when none of those texts is on the page, the page's
    wording changed around a control that still matches, and the engine stops for a review.
    """

    role: Role | None = None
    roles: tuple[Role, ...] = ()
    names: tuple[TextMatch, ...] = Field(min_length=1)
    context_text_any: tuple[TextMatch, ...] = ()
    within: str | None = Field(
        default=None,
        pattern=r"^#[A-Za-z][A-Za-z0-9_-]*$",
        description="Look only inside the element with this id (ids only: classes are hashed).",
    )
    confidence: ControlConfidence

    @model_validator(mode="after")
    def _one_way_to_give_roles(self) -> Self:
        if (self.role is None) == (not self.roles):
            raise ValueError("give exactly one of `role` (one role) and `roles` (a non-empty list)")
        return self

    @property
    def allowed_roles(self) -> tuple[Role, ...]:
        """The roles the element may have, however the file wrote them."""
        return (self.role,) if self.role is not None else self.roles


class Goto(_Strict):
    """Open a URL on the policy's origin (absolute or a bare path)."""

    url: NonEmptyText


class Dismiss(_Strict):
    """Click an overlay's control (a cookie banner's Reject) and wait for it to go away."""

    control: Identifier
    optional: bool = True


class Ensure(_Strict):
    """Read a switch or checkbox; click only if it differs from `checked`, then wait until the
    page shows the saved state. Already in that state counts as compliant."""

    control: Identifier
    checked: bool


class Fill(_Strict):
    """Type a rendered template into a text field."""

    control: Identifier
    value: Template


class Select(_Strict):
    """Choose the option matching `option` in a dropdown or radio group."""

    control: Identifier
    option: TextMatch


class Click(_Strict):
    """Click a control (open a dialog, submit a form); `optional` skips it when absent."""

    control: Identifier
    optional: bool = False


class Capture(_Strict):
    """Read a value (a case number) from a control's text or the page text and keep it `as`;
    the step fails when nothing matches, so a submission without proof is never "done"."""

    control: Identifier | None = None
    text_pattern: RegexTextMatch | None = None
    as_: Identifier = Field(alias="as")

    @model_validator(mode="after")
    def _has_a_source(self) -> Self:
        if self.control is None and self.text_pattern is None:
            raise ValueError("give `control`, `text_pattern`, or both")
        return self


class WaitForUrl(_Strict):
    """Wait until the page's path matches `pattern` (after a click that navigates)."""

    pattern: FullPathPattern


StepAction = Goto | Dismiss | Ensure | Fill | Select | Click | Capture | WaitForUrl


class Step(_Strict):
    """One single-key step, e.g. `ensure: {control: training_toggle, checked: false}`."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    goto: Goto | None = None
    dismiss: Dismiss | None = None
    ensure: Ensure | None = None
    fill: Fill | None = None
    select: Select | None = None
    click: Click | None = None
    capture: Capture | None = None
    wait_for_url: WaitForUrl | None = None

    @model_validator(mode="after")
    def _exactly_one_key(self) -> Self:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            allowed = ", ".join(type(self).model_fields)
            found = ", ".join(given) or "none"
            raise ValueError(f"a step has exactly one of: {allowed} (found: {found})")
        return self

    @property
    def keyword(self) -> str:
        """The step's key, such as `ensure`."""
        return next(name for name in type(self).model_fields if getattr(self, name) is not None)

    @property
    def action(self) -> StepAction:
        """The step's arguments; its type tells the engine what to do."""
        action: StepAction = getattr(self, self.keyword)
        return action


class ControlState(_Strict):
    """The state a switch or checkbox must show for the opt-out to count as done."""

    control: Identifier
    checked: bool


_READ_ONLY_STEPS = frozenset({"goto", "dismiss", "click", "wait_for_url"})


class Verify(_Strict):
    """The end state, checked after the steps: a control's state (re-read after a reload) or a
    captured confirmation. `steps` only bring the control into view (reopen a dialog)."""

    reload: bool
    steps: tuple[Step, ...] = ()
    control_state: ControlState | None = None
    captured: Identifier | None = Field(
        default=None,
        description="The `as` name of a capture step whose value proves the submission.",
    )

    @model_validator(mode="after")
    def _one_end_state(self) -> Self:
        if (self.control_state is None) == (self.captured is None):
            raise ValueError("give exactly one of `control_state` and `captured`")
        for step in self.steps:
            if step.keyword not in _READ_ONLY_STEPS:
                allowed = ", ".join(sorted(_READ_ONLY_STEPS))
                raise ValueError(f"verify steps may only be {allowed}, not {step.keyword!r}")
        return self


class SessionDetector(_Strict):
    """Signs that the session needs the employee (signed out, challenged), and what to tell them."""

    url_patterns: tuple[PathPattern, ...] = ()
    text_any: tuple[TextMatch, ...] = ()
    message: NonEmptyText

    @model_validator(mode="after")
    def _detects_something(self) -> Self:
        if not self.url_patterns and not self.text_any:
            raise ValueError("give `url_patterns`, `text_any`, or both")
        return self


class ApplicabilityRule(_Strict):
    """A dated, sourced statement that the policy does or does not apply in some regions."""

    id: Slug
    effect: Literal["applies", "not_applicable"]
    regions: tuple[Region, ...] = Field(min_length=1)
    effective_from: date
    effective_until: date | None = Field(default=None, description="Last day included.")
    source: NonEmptyText
    confidence: Confidence
    reason: NonEmptyText

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.effective_until is not None and self.effective_until < self.effective_from:
            raise ValueError("`effective_until` is before `effective_from`")
        return self

    @property
    def countries(self) -> frozenset[str]:
        """Every country code the rule's regions cover."""
        return frozenset(code for region in self.regions for code in countries_in(region))

    def covers(self, *, country: str, on: date) -> bool:
        """Whether the rule speaks about `country` on the day `on`."""
        in_force = self.effective_from <= on and (
            self.effective_until is None or on <= self.effective_until
        )
        return in_force and country in self.countries


class Source(_Strict):
    """Where a fact in the policy comes from."""

    title: NonEmptyText
    url: str | None = None
    dated: date | None = None


class Policy(_Strict):
    """One opt-out on one platform, as an admin reviews it and the engine runs it."""

    id: Slug = Field(description="Equals the file name without .yml.")
    platform: Slug
    title: NonEmptyText
    description: NonEmptyText = Field(
        description="What the opt-out does, in the employee's words; quoted in the consent email."
    )
    kind: Literal["toggle", "form", "flow"]
    origin: Origin
    start_url: NonEmptyText
    url_assertions: tuple[FullPathPattern, ...] = Field(
        min_length=1, description="The path after opening start_url must match one of these."
    )
    deny_urls: tuple[PathPrefix, ...] = Field(
        default=(), description="Path prefixes the engine must never open."
    )
    deny_names: tuple[TextMatch, ...] = Field(
        default=(), description="Accessible names the engine must never click or type into."
    )
    signed_out: SessionDetector
    checkpoint: SessionDetector
    transient_error_texts: tuple[TextMatch, ...] = Field(
        default=(), description="Texts of a failed page load: retry later, not drift."
    )
    controls: dict[Identifier, Control] = Field(min_length=1)
    steps: tuple[Step, ...] = Field(min_length=1)
    verify: Verify
    submit_once: bool = Field(
        default=False,
        description="Never submit twice for one account: a stored confirmation means done.",
    )
    evidence: tuple[EvidenceKind, ...] = Field(min_length=1)
    applicability: tuple[ApplicabilityRule, ...] = Field(
        default=(), description="Without a matching rule the policy applies."
    )
    out_of_scope: tuple[str, ...] = Field(
        default=(), description="Who or what the rules deliberately do not model."
    )
    default_on_since: date | None = Field(
        description="When the platform switched this on by default (null: no source gives a date)."
    )
    residual_risk: NonEmptyText
    sources: tuple[Source, ...] = Field(min_length=1)
    verified_on: date | None = Field(
        description="When someone last checked this file against the live site (null: never)."
    )

    @field_validator("evidence")
    @classmethod
    def _evidence_once_each(cls, evidence: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(evidence)) != len(evidence):
            raise ValueError("each kind of evidence is listed once")
        return evidence

    @field_validator("applicability")
    @classmethod
    def _rules_do_not_contradict(
        cls, rules: tuple[ApplicabilityRule, ...]
    ) -> tuple[ApplicabilityRule, ...]:
        ids = [rule.id for rule in rules]
        if len(set(ids)) != len(ids):
            raise ValueError("rule ids must be unique within a policy")
        for index, first in enumerate(rules):
            for second in rules[index + 1 :]:
                if first.effect != second.effect and _overlap(first, second):
                    raise ValueError(
                        f"rules {first.id!r} and {second.id!r} overlap in regions and dates "
                        "but disagree; split their date ranges or regions"
                    )
        return rules

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Self:
        if info.context and info.context.get(DEFER_CONSISTENCY_CHECKS):
            return self
        problems = consistency_problems(self)
        if problems:
            raise ValueError(
                "; ".join(f"{format_location(loc)}: {reason}" for loc, reason in problems)
            )
        return self

    def all_steps(self) -> Iterator[tuple[Location, Step]]:
        """Every step with its location, the verify steps included."""
        for index, step in enumerate(self.steps):
            yield ("steps", index), step
        for index, step in enumerate(self.verify.steps):
            yield ("verify", "steps", index), step


def _overlap(first: ApplicabilityRule, second: ApplicabilityRule) -> bool:
    if not first.countries & second.countries:
        return False
    first_end = first.effective_until or date.max
    second_end = second.effective_until or date.max
    return first.effective_from <= second_end and second.effective_from <= first_end


def consistency_problems(policy: Policy) -> list[tuple[Location, str]]:
    """Problems that span fields, each with its location in the document."""
    return [
        *_url_problems(policy),
        *_control_problems(policy),
        *_kind_problems(policy),
    ]


def _url_problems(policy: Policy) -> Iterator[tuple[Location, str]]:
    urls: list[tuple[Location, str]] = [(("start_url",), policy.start_url)]
    for location, step in policy.all_steps():
        if step.goto is not None:
            urls.append(((*location, "goto", "url"), step.goto.url))
    for location, url in urls:
        if not is_on_origin(url, policy.origin):
            yield location, f"{url!r} is not on the policy's origin {policy.origin}"
        elif is_denied(path_of(url), policy.deny_urls):
            yield location, f"{url!r} falls under the policy's deny_urls"


def _control_problems(policy: Policy) -> Iterator[tuple[Location, str]]:
    known = ", ".join(sorted(policy.controls))
    used: set[str] = set()
    references: list[tuple[Location, str, frozenset[str] | None]] = []
    for location, step in policy.all_steps():
        action = step.action
        control = getattr(action, "control", None)
        if control is not None:
            references.append(((*location, step.keyword, "control"), control, _roles_for(action)))
    if policy.verify.control_state is not None:
        references.append(
            (("verify", "control_state", "control"), policy.verify.control_state.control, None)
        )
    for location, name, roles in references:
        control = policy.controls.get(name)
        if control is None:
            yield location, f"unknown control {name!r} (known: {known})"
            continue
        used.add(name)
        if roles is not None and not set(control.allowed_roles) <= roles:
            has = " or ".join(control.allowed_roles)
            needs = " or ".join(sorted(roles))
            yield location, f"control {name!r} has role {has}, but this step needs {needs}"
    for name in sorted(set(policy.controls) - used):
        yield ("controls", name), f"control {name!r} is not used by any step"
    deny_patterns = [compile_text_match(text) for text in policy.deny_names]
    for name, control in policy.controls.items():
        for index, label in enumerate(control.names):
            if not is_regex_form(label) and any(p.search(label) for p in deny_patterns):
                yield ("controls", name, "names", index), f"{label!r} matches deny_names"


def _roles_for(action: StepAction) -> frozenset[str] | None:
    """The roles a step can act on; None when any role will do."""
    if isinstance(action, Ensure):
        return _STATE_ROLES
    if isinstance(action, Fill):
        return _FILL_ROLES
    if isinstance(action, Select):
        return _SELECT_ROLES
    return None


def _kind_problems(policy: Policy) -> Iterator[tuple[Location, str]]:
    captures = [step.capture.as_ for _, step in policy.all_steps() if step.capture is not None]
    for name in sorted({name for name in captures if captures.count(name) > 1}):
        yield ("steps",), f"more than one capture step keeps its value as {name!r}"
    verify = policy.verify
    if verify.captured is not None and verify.captured not in captures:
        yield ("verify", "captured"), f"no capture step keeps a value as {verify.captured!r}"
    state = verify.control_state
    if policy.kind == "toggle":
        ensured = {
            (step.ensure.control, step.ensure.checked)
            for step in policy.steps
            if step.ensure is not None
        }
        if state is None:
            yield ("verify",), "a toggle policy verifies a `control_state`"
        elif (state.control, state.checked) not in ensured:
            yield (
                ("verify", "control_state"),
                (f"no step ensures {state.control!r} is checked: {str(state.checked).lower()}"),
            )
    if policy.kind == "form" and not policy.submit_once:
        yield ("submit_once",), "a form policy is submitted once: set `submit_once: true`"
    if policy.submit_once:
        if verify.captured is None:
            yield ("verify",), "a submit-once policy verifies by a `captured` confirmation"
        if verify.reload:
            yield ("verify", "reload"), "reloading after a one-shot submission could resend it"
    if "control_state" in policy.evidence and state is None:
        yield ("evidence",), "`control_state` evidence needs `verify.control_state`"
    if "confirmation" in policy.evidence and verify.captured is None:
        yield ("evidence",), "`confirmation` evidence needs `verify.captured`"


def format_location(location: Location) -> str:
    """`("steps", 2, "ensure", "control")` as `steps[2].ensure.control`."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file, generated from the models (editors, reviews, CI)."""
    schema = Policy.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
