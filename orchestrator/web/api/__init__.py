"""The JSON API under `/api` (OpenAPI at `/openapi.json`, listed at `/docs`): one router per
resource.

Every route names the permission it needs (`orchestrator.web.auth`); lists are paged with
`limit` and `offset` and say their `total`; errors are `{"error": {"status", "message"}}`.
"""

from fastapi import APIRouter

from orchestrator.web.api import (
    audit,
    campaigns,
    consents,
    employees,
    evidence,
    jobs,
    policies,
    reports,
)

router = APIRouter(prefix="/api")
for module in (employees, policies, campaigns, consents, jobs, evidence, reports, audit):
    router.include_router(module.router)
