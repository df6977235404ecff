"""Pacing: each platform's opt-outs are spread out, with jitter, across the whole run."""

from __future__ import annotations

import random
from datetime import date
from itertools import pairwise
from pathlib import Path

from orchestrator.automation.outcomes import EmployeeFacts, EngineTask
from orchestrator.flows.execute import pace_offsets
from orchestrator.policies import load_policies

POLICIES = load_policies(Path(__file__).resolve().parents[2] / "policies")


def task(task_id: str, policy_id: str) -> EngineTask:
    return EngineTask(
        task_id=task_id,
        policy=POLICIES.get(policy_id),
        employee=EmployeeFacts("a@example.com", "A", "Ops", "US"),
        storage_state=None,
        evidence_dir=Path("/nonexistent"),
        on=date(2026, 11, 23),
    )


def test_each_platform_is_paced_on_its_own_with_jitter() -> None:
    tasks = [task(f"li-{n}", "linkedin-genai-training") for n in range(6)]
    tasks += [task(f"x-{n}", "x-grok-training") for n in range(3)]
    offsets = pace_offsets(tasks, per_minute=6, rng=random.Random(7))
    linkedin = [offsets[f"li-{n}"] for n in range(6)]
    gaps = [later - earlier for earlier, later in pairwise(linkedin)]
    assert linkedin[0] == 0.0
    assert all(7.5 <= gap <= 12.5 for gap in gaps)  # 10 s ± 25%
    assert len(set(round(gap, 3) for gap in gaps)) > 1  # not a regular beat
    assert offsets["x-0"] == 0.0  # another platform does not wait for LinkedIn
    assert 7.5 <= offsets["x-1"] <= 12.5


def test_no_pacing_when_switched_off() -> None:
    assert pace_offsets([task("a", "linkedin-genai-training")], per_minute=0) == {}
