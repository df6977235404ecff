"""Value templates for `fill` steps: Jinja2 in a sandbox, checked when the policy loads.

A policy file is data an admin may edit, so its templates run in Jinja2's sandbox with
`StrictUndefined`: a missing value stops the job instead of typing an empty string into a legal
form. The variables a template may use are fixed here and checked against the template's syntax
tree at load time, so a typo fails the policy set, not an employee's job.
"""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from orchestrator.policies.errors import TemplateRenderError

TEMPLATE_VARIABLES: Mapping[str, frozenset[str]] = {
    "employee": frozenset({"email", "name", "department", "country"}),
}
"""What `fill` values may refer to, as `employee.email` and so on: the directory's fields."""

# Values are typed into form fields, never inserted into HTML, so HTML escaping would corrupt them.
_ENVIRONMENT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def check_template(source: str) -> str:
    """Validator: the template parses and uses only the variables in `TEMPLATE_VARIABLES`."""
    try:
        _ENVIRONMENT.from_string(source)
        tree = _ENVIRONMENT.parse(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template syntax error on line {exc.lineno}: {exc.message}") from exc
    unknown = sorted(_unknown_variables(tree))
    if unknown:
        known = ", ".join(
            f"{root}.{field}"
            for root, fields in TEMPLATE_VARIABLES.items()
            for field in sorted(fields)
        )
        raise ValueError(f"unknown template variable {', '.join(unknown)} (known: {known})")
    return source


def render_template(source: str, variables: Mapping[str, Mapping[str, str]]) -> str:
    """Render a checked `fill` value, e.g. with `{"employee": {"email": ..., "name": ...}}`."""
    try:
        return _ENVIRONMENT.from_string(source).render(variables)
    except UndefinedError as exc:
        raise TemplateRenderError(f"cannot fill in the policy's value: {exc.message}") from exc


def _unknown_variables(tree: nodes.Template) -> set[str]:
    """Dotted names the template reads that are not in `TEMPLATE_VARIABLES`."""
    unknown = {
        name for name in meta.find_undeclared_variables(tree) if name not in TEMPLATE_VARIABLES
    }
    accesses = [(node.node, node.attr) for node in tree.find_all(nodes.Getattr)]
    accesses += [(node.node, _constant(node.arg)) for node in tree.find_all(nodes.Getitem)]
    qualified: set[int] = set()
    for base, field in accesses:
        if not isinstance(base, nodes.Name) or base.name not in TEMPLATE_VARIABLES:
            continue
        qualified.add(id(base))
        if field not in TEMPLATE_VARIABLES[base.name]:
            unknown.add(f"{base.name}.{field}")
    for name in tree.find_all(nodes.Name):
        if name.name in TEMPLATE_VARIABLES and name.ctx == "load" and id(name) not in qualified:
            unknown.add(name.name)  # the whole record, not one of its fields
    return unknown


def _constant(node: nodes.Node) -> str:
    return str(node.value) if isinstance(node, nodes.Const) else "[...]"
