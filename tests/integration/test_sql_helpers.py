"""SQL written once for both databases: a list of ids bound as one parameter, single-row upserts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select
from sqlmodel import Session

from orchestrator.core.sql import id_in, upsert_row

_METADATA = MetaData()
_NUMBERS = Table("sql_helper_numbers", _METADATA, Column("id", Integer, primary_key=True))


@pytest.fixture
def numbers(engine: Engine) -> Iterator[Table]:
    with engine.begin() as connection:
        _METADATA.create_all(connection)
        connection.execute(insert(_NUMBERS), [{"id": n} for n in range(1, 50_001)])
    yield _NUMBERS
    with engine.begin() as connection:
        _METADATA.drop_all(connection)


@pytest.mark.parametrize("size", [0, 1, 40_000])
def test_one_of_selects_exactly_the_listed_ids_past_sqlites_parameter_cap(
    engine: Engine, numbers: Table, size: int
) -> None:
    # 40,000 ids as separate parameters would pass SQLite's cap of 32,766.
    listed = list(range(2, 2 * size + 2, 2))
    with engine.connect() as connection:
        inside = connection.execute(select(numbers.c.id).where(id_in(numbers.c.id, listed)))
        outside = connection.execute(
            select(numbers.c.id).where(~id_in(numbers.c.id, listed), numbers.c.id <= 10)
        )
        assert sorted(inside.scalars()) == [n for n in listed if n <= 50_000]
        assert sorted(outside.scalars()) == [n for n in range(1, 11) if n not in set(listed)]


def test_upsert_row_inserts_then_replaces_the_single_row(engine: Engine) -> None:
    table = Table(
        "sql_helper_mark",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("seq", Integer),
    )
    table.create(engine)
    try:
        with Session(engine) as session:
            upsert_row(session, table, {"id": 1, "seq": 5})
            upsert_row(session, table, {"id": 1, "seq": 9})
            session.commit()
            assert session.execute(select(table.c.id, table.c.seq)).all() == [(1, 9)]
    finally:
        table.drop(engine)
