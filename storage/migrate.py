"""Bring a database's schema up to date with the migrations shipped in this package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        # ConfigParser treats % as interpolation; URLs may carry percent-encoded passwords.
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def _sqlite_pragma(connection, statement: str) -> list:
    """Run a PRAGMA on the driver's connection, outside any transaction (where SQLite ignores
    `foreign_keys`)."""
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(statement)
        return cursor.fetchall()
    finally:
        cursor.close()


async def upgrade(db: Database, revision: str = "head") -> None:
    cfg = alembic_config(db.url)

    def _run(connection) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with db.engine.connect() as conn:
        if db.sqlite:
            # SQLite alters a table by copying it and dropping the old one, and with foreign keys on
            # that drop deletes every row referring to it (ON DELETE CASCADE): a migration of `plan`
            # would empty the tasks and their progress updates. SQLite's own recipe: keys off for
            # the rebuild, then check them before turning them back on.
            await conn.run_sync(_sqlite_pragma, "PRAGMA foreign_keys=OFF")
        try:
            await conn.run_sync(_run)
            await conn.commit()
        finally:
            if db.sqlite:
                await conn.rollback()
                broken = await conn.run_sync(_sqlite_pragma, "PRAGMA foreign_key_check")
                await conn.run_sync(_sqlite_pragma, "PRAGMA foreign_keys=ON")
        if db.sqlite and broken:
            raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")


async def ensure_schema(db: Database) -> bool:
    """Apply pending migrations; returns True when anything was applied."""
    if await current_revision(db) == head_revision():
        return False
    await upgrade(db)
    return True
