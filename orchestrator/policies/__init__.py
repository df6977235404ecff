"""Policies: the declarative description of each opt-out, its loader and what follows from it.

This package owns the policy format (`schema`: strict, frozen pydantic models and the JSON Schema
generated from them), loading `policies/*.yml` all-or-nothing with every problem located
(`loader`), and the pure questions other rooms ask of a policy: does it apply to this employee on
this day (`applicability`), which URL to open on the real site or the replica (`urls`), how a
label is matched (`matching`) and how a `fill` value is rendered (`templates`). It is pure: no
database, no browser, and nothing of ours but `orchestrator.core.errors`. Adding a platform is
adding a YAML file; a policy's version is the SHA-256 of that file.
"""

from orchestrator.policies.applicability import Applicability, applicable, exposure_start
from orchestrator.policies.errors import (
    PolicyError,
    PolicyProblem,
    TemplateRenderError,
    UnknownPolicyError,
)
from orchestrator.policies.loader import LoadedPolicy, PolicySet, load_policies, policy_version
from orchestrator.policies.matching import compile_text_match
from orchestrator.policies.regions import EEA, EU_27, REGION_GROUPS, countries_in
from orchestrator.policies.schema import (
    ApplicabilityRule,
    Capture,
    Click,
    Control,
    ControlState,
    Dismiss,
    Ensure,
    Fill,
    Goto,
    Policy,
    Select,
    SessionDetector,
    Step,
    StepAction,
    Verify,
    WaitForUrl,
    policy_json_schema,
)
from orchestrator.policies.templates import TEMPLATE_VARIABLES, render_template
from orchestrator.policies.urls import is_denied, rebase, site_path

__all__ = [
    "EEA",
    "EU_27",
    "REGION_GROUPS",
    "TEMPLATE_VARIABLES",
    "Applicability",
    "ApplicabilityRule",
    "Capture",
    "Click",
    "Control",
    "ControlState",
    "Dismiss",
    "Ensure",
    "Fill",
    "Goto",
    "LoadedPolicy",
    "Policy",
    "PolicyError",
    "PolicyProblem",
    "PolicySet",
    "Select",
    "SessionDetector",
    "Step",
    "StepAction",
    "TemplateRenderError",
    "UnknownPolicyError",
    "Verify",
    "WaitForUrl",
    "applicable",
    "compile_text_match",
    "countries_in",
    "exposure_start",
    "is_denied",
    "load_policies",
    "policy_json_schema",
    "policy_version",
    "rebase",
    "render_template",
    "site_path",
]
