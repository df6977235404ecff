#!/usr/bin/env bash
# The whole test suite, as CI runs it: static checks, then every test on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/ensure-postgres.sh

echo "== static checks: ruff, import layers, mypy"
.venv/bin/ruff check orchestrator tests bench
.venv/bin/ruff format --check orchestrator tests bench
.venv/bin/lint-imports
.venv/bin/mypy orchestrator

echo "== tests (each database test runs on SQLite and on PostgreSQL), two at a time"
# Two pytest-xdist workers: most tests wait on browsers, subprocesses and servers, and each
# worker has its own PostgreSQL database. Pass `-n 0` to run them one at a time.
.venv/bin/python -m pytest -n 2 "$@"
