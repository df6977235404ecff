"""Whether a policy applies to an employee in a country on a day, and since when they were exposed.

Exemptions are dated data with sources, never code: LinkedIn exempted the EU, EEA and Switzerland
at launch and ended that on 2025-11-03, so the same employee is exempt on one day and in scope on
the next. Rules of one policy never contradict each other (the schema refuses overlaps that
disagree), so the decision never depends on their order; the first matching rule is reported.
Without a matching rule the policy applies: an unnecessary opt-out costs little, a wrongly
skipped one leaves an account exposed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from orchestrator.policies.schema import ApplicabilityRule, Policy


@dataclass(frozen=True)
class Applicability:
    """The decision for one employee, with the rule and source an auditor can check."""

    applies: bool
    rule_id: str | None
    reason: str
    source: str | None


def applicable(policy: Policy, *, country: str, on: date) -> Applicability:
    """Whether `policy` applies to someone in `country` (ISO alpha-2) on the day `on`."""
    code = country.upper()
    rule = _rule_for(policy, country=code, on=on)
    if rule is None:
        return Applicability(
            applies=True,
            rule_id=None,
            reason=f"No rule of {policy.id} limits it for {code} on {on.isoformat()}.",
            source=None,
        )
    return Applicability(
        applies=rule.effect == "applies", rule_id=rule.id, reason=rule.reason, source=rule.source
    )


def exposure_start(policy: Policy, *, country: str) -> date | None:
    """The first day someone in `country` was opted in by default; None if never or unknown.

    Applicability only changes where a rule starts or ends, so those days are the only candidates.
    """
    if policy.default_on_since is None:
        return None
    code = country.upper()
    candidates = {policy.default_on_since}
    for rule in policy.applicability:
        candidates.add(rule.effective_from)
        if rule.effective_until is not None:
            candidates.add(rule.effective_until + timedelta(days=1))
    for day in sorted(day for day in candidates if day >= policy.default_on_since):
        if applicable(policy, country=code, on=day).applies:
            return day
    return None


def _rule_for(policy: Policy, *, country: str, on: date) -> ApplicabilityRule | None:
    return next(
        (rule for rule in policy.applicability if rule.covers(country=country, on=on)), None
    )
