"""Backups of a live SQLite database, and restores that refuse to run under a live bot."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from bot.cli import main
from bot.i18n import use_language
from bot.ops.backup import BackupError, backup_sqlite, inspect_database, restore_sqlite, run_lock


class Writer(threading.Thread):
    """Writes like the bot does: short transactions, each adding an agency and its alias together,
    so a backup that is not one consistent snapshot shows up as unequal counts."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path = path
        self.written = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        connection.execute("PRAGMA busy_timeout=10000")
        try:
            while not self.stop.is_set():
                n = self.written
                connection.execute("BEGIN IMMEDIATE")
                cursor = connection.execute(
                    "INSERT INTO agency (name, key, created_at) VALUES (?, ?, '2020-06-01 01:00:00')",
                    (f"Agency {n}", f"agency {n}"),
                )
                connection.execute(
                    "INSERT INTO agency_alias (agency_id, alias, key) VALUES (?, ?, ?)",
                    (cursor.lastrowid, f"A{n}", f"a{n}"),
                )
                connection.execute("COMMIT")
                self.written = n + 1
        except BaseException as exc:  # surfaced by the test, which fails on it
            self.error = exc
        finally:
            connection.close()

    def wait_for(self, rows: int) -> None:
        while self.written < rows and self.is_alive():
            self.stop.wait(0.001)
        assert self.error is None and self.written >= rows


def agency_names(path: Path) -> set[str]:
    connection = sqlite3.connect(path)
    try:
        return {row[0] for row in connection.execute("SELECT name FROM agency")}
    finally:
        connection.close()


def counts(path: Path) -> tuple[int, int]:
    connection = sqlite3.connect(path)
    try:
        agencies = connection.execute("SELECT count(*) FROM agency").fetchone()[0]
        aliases = connection.execute("SELECT count(*) FROM agency_alias").fetchone()[0]
    finally:
        connection.close()
    return agencies, aliases


@pytest.fixture(autouse=True)
def english():
    """The refusals are read in English here; test_backup_refusals_speak_vietnamese_by_default checks
    the default."""
    with use_language("en"):
        yield


@pytest.fixture
def live_db(sqlite_db) -> Path:
    return sqlite_db.sqlite_path()


def test_a_backup_taken_while_the_bot_writes_is_one_consistent_snapshot(live_db, tmp_path):
    writer = Writer(live_db)
    writer.start()
    try:
        writer.wait_for(200)
        facts = backup_sqlite(live_db, tmp_path / "backup.db")
        written_at_backup = writer.written
        writer.wait_for(written_at_backup + 200)
    finally:
        writer.stop.set()
        writer.join()
    agencies, aliases = counts(tmp_path / "backup.db")
    assert agencies == aliases
    assert 200 <= agencies <= written_at_backup + 1
    assert counts(live_db)[0] > agencies
    assert facts.counts["agency"] == agencies


def test_a_backup_is_a_single_self_contained_file(live_db, tmp_path):
    backup_sqlite(live_db, tmp_path / "backup.db")
    connection = sqlite3.connect(tmp_path / "backup.db")
    mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    connection.close()
    assert mode == "delete"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("backup")) == ["backup.db"]


def test_restoring_a_backup_brings_back_exactly_the_rows_it_holds(live_db, tmp_path):
    writer = Writer(live_db)
    writer.start()
    try:
        writer.wait_for(100)
        backup_sqlite(live_db, tmp_path / "backup.db")
        writer.wait_for(writer.written + 100)
    finally:
        writer.stop.set()
        writer.join()
    expected = agency_names(tmp_path / "backup.db")
    rows_before_restore = agency_names(live_db)

    result = restore_sqlite(tmp_path / "backup.db", live_db)

    assert agency_names(live_db) == expected
    assert result.restored.counts["agency"] == len(expected)
    assert agency_names(result.previous) == rows_before_restore
    assert inspect_database(live_db).revision == inspect_database(tmp_path / "backup.db").revision


def test_a_restored_database_takes_writes_again(live_db, tmp_path):
    backup_sqlite(live_db, tmp_path / "backup.db")
    restore_sqlite(tmp_path / "backup.db", live_db)
    writer = Writer(live_db)
    writer.start()
    writer.wait_for(10)
    writer.stop.set()
    writer.join()
    assert counts(live_db)[0] == writer.written


def test_restore_refuses_while_a_bot_runs_on_the_database(live_db, tmp_path):
    backup_sqlite(live_db, tmp_path / "backup.db")
    writer = Writer(live_db)
    with run_lock(live_db):
        writer.start()
        writer.wait_for(5)
        with pytest.raises(BackupError, match="the bot is running"):
            restore_sqlite(tmp_path / "backup.db", live_db)
        writer.stop.set()
        writer.join()
    assert counts(live_db)[0] == writer.written


def test_restore_refuses_while_another_process_writes_without_the_lock(live_db, tmp_path):
    backup_sqlite(live_db, tmp_path / "backup.db")
    holder = sqlite3.connect(live_db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(BackupError, match="in use by another process"):
            restore_sqlite(tmp_path / "backup.db", live_db)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_bot_cannot_start_while_a_restore_holds_the_database(live_db):
    import fcntl

    from bot.ops.backup import lock_path

    with open(lock_path(live_db), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(BackupError, match="being restored"), run_lock(live_db):
            pass


def test_restore_rejects_a_file_that_is_not_a_nhacviec_backup(live_db, tmp_path):
    junk = tmp_path / "notes.db"
    junk.write_text("minutes of the meeting")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    expected = agency_names(live_db)

    with pytest.raises(BackupError, match="not a SQLite database"):
        restore_sqlite(junk, live_db)
    with pytest.raises(BackupError, match="not a nhacviec database"):
        restore_sqlite(other, live_db)
    assert agency_names(live_db) == expected


@pytest.fixture
def cli_env(monkeypatch):
    for name in ("NHACVIEC_CONFIG", "NHACVIEC_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_backup_command_refuses_to_overwrite_without_force(live_db, tmp_path, capsys, cli_env):
    url = f"sqlite+aiosqlite:///{live_db}"
    target = tmp_path / "nightly.db"

    assert main(["--db", url, "--lang", "en", "backup", str(target)]) == 0
    assert "verified" in capsys.readouterr().out
    assert main(["--db", url, "--lang", "en", "backup", str(target)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["--db", url, "--lang", "en", "backup", "--force", str(target)]) == 0


def test_restore_command_puts_the_backup_in_place_and_keeps_the_old_file(live_db, tmp_path, capsys, cli_env):
    url = f"sqlite+aiosqlite:///{live_db}"
    assert main(["--db", url, "--lang", "en", "backup", str(tmp_path / "empty.db")]) == 0
    writer = Writer(live_db)
    writer.start()
    writer.wait_for(3)
    writer.stop.set()
    writer.join()

    assert main(["--db", url, "--lang", "en", "restore", str(tmp_path / "empty.db")]) == 0

    out = capsys.readouterr().out
    assert "restored" in out and "before-restore" in out
    assert counts(live_db) == (0, 0)


def test_backup_of_postgresql_points_to_pg_dump_without_showing_the_password(tmp_path, capsys, cli_env):
    url = "postgresql+asyncpg://nhacviec:s3cret-pass@db.example.internal/nhacviec"
    assert main(["--db", url, "--lang", "en", "backup", str(tmp_path / "x.dump")]) == 1
    err = capsys.readouterr().err
    assert "pg_dump --format=custom" in err and "pg_restore" in err
    assert "s3cret-pass" not in err
    assert not (tmp_path / "x.dump").exists()


def test_backup_refusals_speak_vietnamese_by_default(tmp_path):
    with pytest.raises(BackupError) as refused:
        inspect_database(tmp_path / "missing.db")

    with use_language("vi"):
        shown = str(refused.value)
    assert shown == f"{tmp_path / 'missing.db'}: không có tệp này"
