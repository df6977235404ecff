"""Fleet opt-out orchestrator.

Takes employees' accounts out of platforms' AI-training programs, with each employee's consent
and with proof for auditors. Sub-packages are rooms of one house: `core` is the foundation, the
domain packages (`employees`, `audit`, ...) own their tables and services, and the surfaces
(`cli`, `web`, `worker`) sit on top. Imports point downwards only (see pyproject's import-linter).
"""
