"""SQL pieces that read the same on SQLite and PostgreSQL but are written differently on each."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Integer, String, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Session


class _IntegerList(TypeDecorator[list[int]]):
    """A list of integers bound as one parameter: an array on PostgreSQL, JSON on SQLite."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(Integer))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: list[int] | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return json.dumps(value)


class _IdIn(ColumnElement[bool]):
    """`column IN (ids)` with the ids bound as one parameter (see `id_in`)."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a condition: no `= 1` after it on SQLite
    # SQLAlchemy declares it a class attribute of this (mutable) type.
    _traverse_internals = [  # noqa: RUF012
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], ids: Collection[int]) -> None:
        self.column = column
        self.ids = bindparam(None, sorted(ids), type_=_IntegerList(), unique=True)


@compiles(_IdIn, "postgresql")
def _id_in_on_postgresql(element: _IdIn, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = compiler.process(element.column, **kw), compiler.process(element.ids, **kw)
    return f"({column} = ANY({ids}))"


@compiles(_IdIn)
def _id_in_on_sqlite(element: _IdIn, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = compiler.process(element.column, **kw), compiler.process(element.ids, **kw)
    # Both parts are compiled SQL (a column and a bound parameter's placeholder), never data.
    return f"({column} IN (SELECT value FROM json_each({ids})))"  # noqa: S608


def id_in(column: ColumnElement[Any], ids: Collection[int]) -> ColumnElement[bool]:
    """Whether an integer column holds one of these ids, however many there are.

    `column.in_(ids)` binds one parameter per id: SQLite caps their number, and PostgreSQL
    plans a long IN list worse than an array whose length it can see. This binds the list
    as one parameter, `= ANY(array)` on PostgreSQL and a `json_each` table on SQLite.
    """
    return _IdIn(column, ids)


class _Likely(ColumnElement[bool]):
    """A condition SQLite's planner should take as true for most rows (see `likely`)."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True
    _traverse_internals = [("condition", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, condition: ColumnElement[bool]) -> None:
        self.condition = condition


@compiles(_Likely, "sqlite")
def _likely_on_sqlite(element: _Likely, compiler: SQLCompiler, **kw: Any) -> str:
    return f"likely({compiler.process(element.condition, **kw)})"


@compiles(_Likely)
def _likely_elsewhere(element: _Likely, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.condition, **kw))


def likely(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """A condition most rows meet, said so to SQLite's planner.

    Without statistics SQLite takes a range on an indexed column to pick a quarter of the
    rows and walks the index, looking each row up; when the range holds nearly every row, a
    plain scan reads them in a fraction of that. PostgreSQL estimates from its statistics
    and gets the condition as it is.
    """
    return _Likely(condition)


class _ReadInTableOrder(ColumnElement[Any]):
    """A column SQLite's planner should not read through an index (see `in_table_order`)."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(_ReadInTableOrder, "sqlite")
def _in_table_order_on_sqlite(element: _ReadInTableOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.column, **kw)}"


@compiles(_ReadInTableOrder)
def _in_table_order_elsewhere(element: _ReadInTableOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


def in_table_order(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A grouping column SQLite should not walk an index for, to find its groups in order.

    Given an index that starts with a GROUP BY's (or DISTINCT's) first column, SQLite may
    read the table in that index's order rather than by the index the WHERE clause could
    use, or even when it still sorts the groups. Each row is then one more lookup, and the
    rows joined to it (by id) are sought in random order. The unary plus hides the index;
    PostgreSQL gets the column as it is.
    """
    return _ReadInTableOrder(column)


def upsert_row(session: Session, table: Table, values: Mapping[str, Any]) -> None:
    """Insert the row with this `id`, or update the one already there (single-row tables)."""
    module: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(table).values(**values)
    changes = {name: value for name, value in values.items() if name != "id"}
    session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=changes))
