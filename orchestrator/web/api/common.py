"""What every API router shares: paging parameters, bounded ids, and running a change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from anyio import to_thread
from fastapi import Path, Query
from pydantic import BaseModel

from orchestrator.core.models import MAX_ID, MAX_OFFSET
from orchestrator.web.context import WebContext

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=500, description="At most this many items.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Skip this many items.")]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Text = Annotated[str | None, Query(max_length=200)]


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, how many match in all, and where this page starts."""

    items: list[T]
    total: int
    limit: int
    offset: int


async def write(web: WebContext, change: Callable[[], T]) -> T:
    """Run a change in a worker thread, at most as many at once as the database takes well."""
    return await to_thread.run_sync(change, limiter=web.writes)
