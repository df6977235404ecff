"""Property-based fuzzing of the whole API from its OpenAPI schema: no request yields a 5xx.

schemathesis generates requests (valid and invalid) for every operation and sends them, with
an admin's API token, to the app served over real HTTP. Every operation is fuzzed on both
databases; PostgreSQL gets fewer examples per operation (what it adds is its stricter types and
limits, which a few examples reach), keeping the pair well under a minute.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from orchestrator.core.db import session_scope
from orchestrator.employees.service import import_directory
from tests.support import admin_accounts, web_app

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


EXAMPLES = {"sqlite": 12, "postgresql": 5}


@pytest.fixture
def api(engine, tmp_path, live_server):
    """The served app's schema, with one employee to find, and an admin token."""
    tokens = admin_accounts(engine, now=NOW)
    with session_scope(engine) as session:
        import_directory(
            session,
            data=b"email,name,department,country\nann@example.com,Ann,Eng,DE\n",
            source="d.csv",
            actor="t",
            now=NOW,
        )
    app, _ = web_app(engine, data_dir=tmp_path, now=NOW)
    server = live_server(lambda _: app)
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    return schema, server.url, tokens["admin"], EXAMPLES[engine.dialect.name]


def test_no_request_to_the_api_is_a_server_error(api) -> None:
    schema, base_url, token, examples = api
    failures: list[str] = []
    fuzzed: set[str] = set()
    operations = [operation.ok() for operation in schema.get_all_operations()]
    assert len(operations) >= 24  # every operation of the API, reports and bundles included
    for op in operations:

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=op.as_strategy())
        def check(case) -> None:
            response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
            fuzzed.add(f"{case.method} {case.path}")
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        check()
    assert failures == []
    assert len(fuzzed) == len(operations)  # each operation was really sent requests
