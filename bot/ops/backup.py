"""Online backup and checked restore of the embedded SQLite database.

The backup goes through SQLite's backup API on a connection of its own, copying every page in one
step: in WAL mode that step reads one consistent snapshot while the bot keeps writing (readers never
block writers), so the copy is what the database was at one instant, never a torn file. Copying the
file with `cp` is not safe: the last transactions may still sit in the `-wal` file.

Restore replaces the database file, so it must never run under a live bot: every `nhacviec run`
holds a shared lock on `<database>.lock` (see `run_lock`), and restore takes it exclusively or
refuses. As a second guard it asks SQLite itself for an exclusive lock on the current file.

PostgreSQL is backed up with its own tools (pg_dump / pg_restore); `postgres_instructions` says how.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.i18n import N_, _

# Tables whose row counts a backup or restore reports, so an operator sees at a glance what is in it.
COUNTED_TABLES = ("plan", "task", "agency", "member", "progress_update", "reminder")


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and what to do, in the language of
    whoever reads it (the template is translated when the message is shown)."""

    def __init__(self, template: str, **values: object):
        super().__init__(template)
        self.template = template
        self.values = values

    def __str__(self) -> str:
        return _(self.template).format(**self.values)


@dataclass(frozen=True)
class DatabaseFacts:
    path: Path
    revision: str | None
    counts: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        counts = ", ".join(f"{name} {count}" for name, count in self.counts.items())
        return f"schema {self.revision or 'none'}; rows: {counts}"


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextlib.contextmanager
def run_lock(database: Path) -> Iterator[None]:
    """Held (shared) by every running bot on this database file, so restore can tell it is in use.

    Several bots may share one file; only restore needs it to itself. The lock dies with the
    process, so a bot killed with -9 never leaves a stale lock behind.
    """
    path = lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held for the life of the block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BackupError(
                N_("{database} is being restored; start the bot when the restore is done"), database=database
            ) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()


@contextlib.contextmanager
def _exclusive_lock(database: Path) -> Iterator[None]:
    path = lock_path(database)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BackupError(
                N_(
                    "the bot is running on {database} (it holds {lock}); stop it first, "
                    "e.g. `systemctl stop nhacviec`, then run the restore again"
                ),
                database=database,
                lock=path.name,
            ) from exc
        yield


def _connect(path: Path, *, timeout: float = 10.0) -> sqlite3.Connection:
    # autocommit mode: we issue BEGIN ourselves where it matters.
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    return connection


def inspect_database(path: Path) -> DatabaseFacts:
    """Check integrity and read the schema revision and row counts; raise BackupError if unusable."""
    if not path.exists():
        raise BackupError(N_("{path}: no such file"), path=path)
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise BackupError(
            N_("{path}: cannot be opened as a SQLite database: {error}"), path=path, error=exc
        ) from exc
    try:
        try:
            result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as exc:
            raise BackupError(N_("{path}: not a SQLite database ({error})"), path=path, error=exc) from exc
        if result != ["ok"]:
            raise BackupError(
                N_("{path}: integrity check failed: {problems}"), path=path, problems="; ".join(result[:5])
            )
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "alembic_version" not in tables:
            raise BackupError(N_("{path}: not a nhacviec database (no schema revision)"), path=path)
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        counts = {
            name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for name in COUNTED_TABLES
            if name in tables
        }
    finally:
        connection.close()
    return DatabaseFacts(path=path, revision=revision[0] if revision else None, counts=counts)


def _copy_pages(source: sqlite3.Connection, target_path: Path, *, journal_mode: str) -> None:
    target = _connect(target_path)
    try:
        # pages=-1: the whole database in one step, i.e. from one read snapshot of the source.
        source.backup(target, pages=-1)
        target.execute(f"PRAGMA journal_mode={journal_mode}")
    finally:
        target.close()


def _partial_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial-{os.getpid()}")


def _remove_quietly(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def backup_sqlite(database: Path, destination: Path, *, force: bool = False) -> DatabaseFacts:
    """Copy a live database to `destination` (one self-contained file) and verify the copy."""
    if not database.exists():
        raise BackupError(N_("{database}: no database here to back up"), database=database)
    if destination.resolve() == database.resolve():
        raise BackupError(N_("the backup file cannot be the database itself"))
    if destination.exists() and not force:
        raise BackupError(
            N_("{destination} already exists; choose another name or pass --force to overwrite it"),
            destination=destination,
        )
    if not destination.parent.is_dir():
        raise BackupError(N_("{folder}: no such directory"), folder=destination.parent)
    partial = _partial_name(destination)
    _remove_quietly(partial)
    source = _connect(database)
    try:
        # DELETE journal mode: the backup is one file that can be copied or mailed as it is.
        _copy_pages(source, partial, journal_mode="DELETE")
    except sqlite3.Error as exc:
        _remove_quietly(partial)
        raise BackupError(N_("backup failed: {error}"), error=exc) from exc
    finally:
        source.close()
    try:
        facts = inspect_database(partial)
    except BackupError:
        _remove_quietly(partial)
        raise
    # Only a verified copy takes the destination's name, so a failed run never leaves a bad backup.
    os.replace(partial, destination)
    return DatabaseFacts(path=destination, revision=facts.revision, counts=facts.counts)


def _refuse_if_in_use(database: Path) -> None:
    """SQLite's own view: a connection mid-write (or a bot of a version without the lock file)
    keeps us from taking an exclusive lock."""
    if not database.exists():
        return
    connection = _connect(database, timeout=1.0)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        raise BackupError(
            N_("{database} is in use by another process ({error}); stop the bot first"),
            database=database,
            error=exc,
        ) from exc
    finally:
        connection.close()


@dataclass(frozen=True)
class RestoreResult:
    restored: DatabaseFacts
    previous: Path | None


def restore_sqlite(backup: Path, database: Path, *, now: dt.datetime | None = None) -> RestoreResult:
    """Replace `database` with the contents of `backup`, keeping the current file aside.

    Refuses while a bot runs on the database. The current database, if any, is first copied to
    `<database>.before-restore-<UTC time>` so that a restore of the wrong file can be undone.
    """
    if backup.resolve() == database.resolve():
        raise BackupError(N_("the backup file is the database itself"))
    inspect_database(backup)
    now = now or dt.datetime.now(dt.UTC)
    database.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(database):
        _refuse_if_in_use(database)
        previous = None
        if database.exists():
            previous = database.with_name(f"{database.name}.before-restore-{now:%Y%m%dT%H%M%SZ}")
            current = _connect(database)
            try:
                # Through SQLite, not a file copy: the last transactions may still be in the WAL.
                _copy_pages(current, previous, journal_mode="DELETE")
            finally:
                current.close()
        partial = _partial_name(database)
        _remove_quietly(partial)
        source = _connect(backup)
        try:
            _copy_pages(source, partial, journal_mode="WAL")
        finally:
            source.close()
        # A -wal left by the old file must never be replayed onto the restored one.
        _remove_quietly(
            database.with_name(database.name + "-wal"),
            database.with_name(database.name + "-shm"),
            partial.with_name(partial.name + "-wal"),
            partial.with_name(partial.name + "-shm"),
        )
        os.replace(partial, database)
        restored = inspect_database(database)
    return RestoreResult(restored=restored, previous=previous)


def postgres_instructions(url: str, destination: str) -> str:
    """How to back up and restore a PostgreSQL deployment; the password is never printed."""
    parsed = make_url(url).set(drivername="postgresql")
    shown = parsed.render_as_string(hide_password=True)
    return (
        "nhacviec backs up only its embedded SQLite database. This deployment uses PostgreSQL; "
        "use PostgreSQL's own tools, which take a consistent snapshot while the bots keep running:\n"
        f"  pg_dump --format=custom --file={destination} '{shown}'\n"
        "and to restore (stop every instance first):\n"
        f"  pg_restore --clean --if-exists --no-owner --dbname='{shown}' {destination}\n"
        "Copy the evidence folder ([evidence] dir) with it, e.g. rsync -a: its files are named by "
        "their hash and never change, so a copy taken while the bot runs is consistent file by file."
    )
