"""The admin UI under `/admin`: server-rendered Jinja2 pages, no scripts, every form CSRF-checked.

Pages call the same services as the API and the CLI and need the same permissions
(`orchestrator.web.auth`); a signed-out visitor is sent to sign in and comes back afterwards.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.templating import Jinja2Templates

from orchestrator.web.admin import (
    audit,
    campaigns,
    dashboard,
    employees,
    jobs,
    reports,
    session,
)

router = APIRouter(include_in_schema=False)
for module in (session, dashboard, employees, campaigns, jobs, reports, audit):
    router.include_router(module.router)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


def _query(filters: dict[str, Any], **changes: Any) -> str:
    values = {**filters, **changes}
    return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def install_filters(templates: Jinja2Templates) -> None:
    """The helpers admin templates use: times, query strings, JSON."""
    templates.env.filters["when"] = _when
    templates.env.filters["as_json"] = lambda value: json.dumps(
        value, indent=2, ensure_ascii=False, default=str, sort_keys=True
    )
    templates.env.globals["query"] = _query
