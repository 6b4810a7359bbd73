"""A list of ids bound as one value: `column IN (...)` with thousands of ids costs more to write out
than to run.

An expanding IN renders one placeholder per id each time the statement runs (SQLAlchemy cannot cache
that part) and binds each one; an overview details thousands of tasks. Here the list travels as one
value instead: a JSON array that SQLite's json_each reads, or a PostgreSQL integer array.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Integer, String, any_, bindparam, func, literal_column, select


def among(column, name: str, dialect: str):
    """`column` is one of the ids bound as `name` (pass them through `ids_value`)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    listed = select(literal_column("value")).select_from(func.json_each(bindparam(name, type_=String)))
    return column.in_(listed.scalar_subquery())


def ids_value(ids: Iterable[int], dialect: str):
    """The value to bind for `among`."""
    if dialect == "postgresql":
        return list(ids)
    return json.dumps(list(ids))
