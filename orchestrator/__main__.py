"""`python -m orchestrator` runs the `optout` command."""

from orchestrator.cli import main

main()
