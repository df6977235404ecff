"""`/docs`: the API's operations listed from its OpenAPI schema, on a page without scripts.

Swagger UI would need scripts from a CDN, which the Content-Security-Policy forbids (and which
an installation without internet cannot load); this page shows the same schema as plain HTML,
grouped by tag, and links to `/openapi.json` for tools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from orchestrator.web.admin.pages import render
from orchestrator.web.auth import NotSignedInError, principal_of
from orchestrator.web.context import WebDep

router = APIRouter(include_in_schema=False)
_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Parameter:
    name: str
    where: str
    required: bool
    kind: str
    description: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    description: str
    parameters: tuple[Parameter, ...]
    body: tuple[str, ...]  # media types of the request body, if it takes one


def _kind(schema: dict[str, Any]) -> str:
    """A parameter's type in a few words: `integer ≥ 1`, `one of html, pdf`, `string`."""
    if "anyOf" in schema:
        kinds = [_kind(s) for s in schema["anyOf"] if s.get("type") != "null"]
        return " or ".join(kinds)
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = str(schema.get("type", "any"))
    limits = [
        f"{sign} {schema[key]}"
        for key, sign in (("minimum", "≥"), ("maximum", "≤"), ("maxLength", "length ≤"))
        if key in schema
    ]
    return " ".join([kind, *limits])


def _enums(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema with a reference to an enum resolved (so its values show)."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return dict(components.get(ref.rsplit("/", 1)[-1], schema))
    if "anyOf" in schema:
        return {"anyOf": [_enums(s, components) for s in schema["anyOf"]]}
    return schema


def operations(schema: dict[str, Any]) -> dict[str, list[Operation]]:
    """Every operation in the schema, grouped by its first tag, in the schema's order."""
    components = schema.get("components", {}).get("schemas", {})
    groups: dict[str, list[Operation]] = {}
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            found = item.get(method)
            if found is None:
                continue
            parameters = tuple(
                Parameter(
                    name=p["name"],
                    where=p["in"],
                    required=bool(p.get("required")),
                    kind=_kind(_enums(p.get("schema", {}), components)),
                    description=p.get("description", ""),
                )
                for p in found.get("parameters", [])
            )
            body = tuple(found.get("requestBody", {}).get("content", {}))
            operation = Operation(
                method=method.upper(),
                path=path,
                summary=found.get("summary", ""),
                description=found.get("description", ""),
                parameters=parameters,
                body=body,
            )
            groups.setdefault((found.get("tags") or ["other"])[0], []).append(operation)
    return groups


@router.get("/docs")
def docs(request: Request, web: WebDep) -> Response:
    """The API reference: every operation with its parameters, from the OpenAPI schema."""
    schema = request.app.openapi()
    context = {
        "info": schema.get("info", {}),
        "openapi": schema.get("openapi", ""),
        "groups": operations(schema),
    }
    try:
        principal = principal_of(request, web)
    except NotSignedInError:  # a bad token does not hide the reference
        principal = None
    return render(request, web, principal, "admin/docs.html", context)
