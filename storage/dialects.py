"""Dialect-specific statements, built when a dialect first asks for them.

SQLAlchemy's PostgreSQL dialect (with its drivers' modules) costs a process about 2 MB and 17 ms to
import; a bot on its embedded SQLite database never needs it, so nothing imports it at module level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def upsert_insert(postgres: bool) -> Callable[..., Any]:
    """The dialect's `insert`, the one with `on_conflict_do_nothing` / `on_conflict_do_update`."""
    if postgres:
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def upsert_for(dialect_name: str) -> Callable[..., Any]:
    return upsert_insert(dialect_name == "postgresql")


class ByDialect(dict):
    """Statements built once per dialect, keyed by "is it PostgreSQL": `build(insert)` receives the
    dialect's upsert `insert`. Built on first use: building a statement for every call cost about
    as much as running it, and building both up front imports the dialect a process may not use."""

    def __init__(self, build: Callable[[Callable[..., Any]], Any]) -> None:
        super().__init__()
        self._build = build

    def __missing__(self, postgres: bool) -> Any:
        built = self[postgres] = self._build(upsert_insert(postgres))
        return built


# Execution options for a statement that may touch many rows (housekeeping's deletes): on SQLite it
# runs on the driver's thread even inside a brief unit of work (storage.sqlite_driver), so that the
# event loop is not held while it runs. Other dialects ignore the option.
ON_THREAD = "nhacviec_on_thread"
MAY_TAKE_LONG = {ON_THREAD: True}
