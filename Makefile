# The two commands a new user runs (see README.md), plus helpers for developers.
.PHONY: setup demo test bench lint

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/optout demo --out demo-output

test:
	bash scripts/test.sh

lint: setup
	.venv/bin/ruff check orchestrator tests bench
	.venv/bin/ruff format --check orchestrator tests bench
	.venv/bin/lint-imports

bench: setup
	.venv/bin/python bench/import_bench.py
	.venv/bin/python bench/automation_bench.py
	.venv/bin/python bench/consent_bench.py
	.venv/bin/python bench/fleet_bench.py
