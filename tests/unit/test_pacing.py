"""Pacing: each platform's opt-outs are spread out, with jitter, across a run and from one run
to the next."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from orchestrator.automation.outcomes import EmployeeFacts, EngineTask
from orchestrator.flows.execute import PaceCarry, pace_offsets
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


def test_a_run_starts_each_platform_no_earlier_than_the_previous_run_allows() -> None:
    tasks = [task(f"li-{n}", "linkedin-genai-training") for n in range(2)]
    tasks.append(task("x-0", "x-grok-training"))
    offsets = pace_offsets(tasks, per_minute=6, rng=random.Random(3), first={"linkedin": 4.0})
    assert offsets["li-0"] == 4.0  # what the previous run left of LinkedIn's gap
    assert 11.5 <= offsets["li-1"] <= 16.5
    assert offsets["x-0"] == 0.0


def test_the_gap_after_a_run_carries_over_to_the_next_run() -> None:
    ended = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    carry = PaceCarry(per_minute=6, rng=random.Random(5))
    carry.ran({"linkedin"}, ended=ended)
    # The next run starts 3 s after the last one ended: its first LinkedIn task waits for
    # the rest of a 10 s ± 25% gap after the end (the latest its last task can have started).
    first = carry.first_offsets(now=ended + timedelta(seconds=3))
    assert set(first) == {"linkedin"}
    assert 4.5 <= first["linkedin"] <= 9.5
    # A run starting after the gap has passed waits for nothing.
    assert carry.first_offsets(now=ended + timedelta(seconds=13)) == {}


def test_nothing_carries_over_without_pacing() -> None:
    carry = PaceCarry(per_minute=0)
    ended = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    carry.ran({"linkedin"}, ended=ended)
    assert carry.first_offsets(now=ended) == {}
