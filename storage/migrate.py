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


async def upgrade(db: Database, revision: str = "head") -> None:
    cfg = alembic_config(db.url)

    def _run(connection) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with db.engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()


async def ensure_schema(db: Database) -> bool:
    """Apply pending migrations; returns True when anything was applied."""
    if await current_revision(db) == head_revision():
        return False
    await upgrade(db)
    return True
