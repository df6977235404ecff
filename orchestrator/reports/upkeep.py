"""Keeping what reports read current: the projection of now and the hourly status history.

The worker does a little of it on every scheduler pass. `optout db upgrade` does all of it at
once: an upgrade may empty the projection or the history (migrations 0010 and 0011), and a
report that finds them behind derives from the audit log instead, seconds at 100,000
employees, for as long as the worker takes to catch up (a backfill is a pass's budget at a
time). Recorded at the upgrade, the first report after it reads stored state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from orchestrator.core.db import session_scope
from orchestrator.reports.history import HistoryCatchUp, catch_up_status_history
from orchestrator.reports.projection import Refresh, refresh_projection


@dataclass(frozen=True)
class ReportsUpkeep:
    """What one round of upkeep took in: the projection's refresh and the history's hours."""

    projection: Refresh
    history: HistoryCatchUp


def keep_reports_current(
    engine: Engine, *, now: datetime, history_budget: timedelta | None = None
) -> ReportsUpkeep:
    """Refresh the projection up to the newest event, then record the finished hours of the
    status history: all of them, or as many as `history_budget` allows (at least one)."""
    with session_scope(engine) as session:
        projection = refresh_projection(session)
    history = catch_up_status_history(engine, now=now, budget=history_budget)
    return ReportsUpkeep(projection=projection, history=history)
