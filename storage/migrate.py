"""Bring a database's schema up to date with the migrations shipped in this package.

Every start checks the schema, and most find it up to date; Alembic (a tenth of a second and
several megabytes to import) is loaded only when there is something to apply. The check reads the
revision from the database with one query and the newest shipped revision from the migration files'
own `revision` / `down_revision` lines; a test holds that reading to Alembic's.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*=\s*['\"]?(\w+)['\"]?", re.MULTILINE)


def alembic_config(url: str | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        # ConfigParser treats % as interpolation; URLs may carry percent-encoded passwords.
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration shipped: the one no other migration names as its predecessor."""
    revisions, predecessors = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        lines = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        revisions.add(lines["revision"])
        predecessors.add(lines.get("down_revision"))
    heads = revisions - predecessors
    if len(heads) != 1:  # branches to merge: Alembic says what is wrong
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(alembic_config()).get_current_head()
    return heads.pop()


async def current_revision(db: Database) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    async with db.engine.connect() as conn:
        try:
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        except DBAPIError:  # no alembic_version table yet
            return None


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
    from alembic import command

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
