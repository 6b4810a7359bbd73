"""SQLite's WAL copied back into the database file on a worker thread while the bot serves, not
inside the commit of whichever chat message fills it (storage.checkpoints)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest
from sqlalchemy import text

from bot.ops import metrics
from storage import checkpoints
from storage.checkpoints import Checkpoint, WalCheckpointer
from storage.db import Database
from tests.sqlite_files import count_in_file_alone

WRITES = 1500  # chat-sized commits: two or three pages each, well past SQLite's 1,000-page default


async def chat_writes(db: Database, first: int, count: int) -> None:
    """What a chat message writes: a few rows, committed on the loop's thread (`brief`)."""
    for n in range(first, first + count):
        async with db.transaction(brief=True) as session:
            await session.execute(
                text(
                    "INSERT INTO processed_update (platform, update_key, processed_at) VALUES ('t', :key, '2020-06-01')"
                ),
                {"key": f"u{n}"},
            )


def rows_in_database_file(db: Database, tmp_path) -> int:
    """The updates the database file itself holds, without what is still only in its WAL."""
    return count_in_file_alone(
        db.sqlite_path(), tmp_path / "copy.db", "SELECT count(*) FROM processed_update WHERE platform = 't'"
    )


async def writer_autocheckpoint(db: Database) -> int:
    async with db.transaction() as session:
        return (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()


class Reports(list):
    """What the checkpointer reported, in order; `after(n)` waits for the n-th."""

    def __init__(self) -> None:
        super().__init__()
        self._more = asyncio.Event()

    def __call__(self, checkpoint: Checkpoint) -> None:
        self.append(checkpoint)
        self._more.set()

    async def after(self, count: int) -> None:
        async with asyncio.timeout(30):
            while len(self) < count:
                self._more.clear()
                await self._more.wait()


async def test_while_serving_the_wal_is_copied_back_in_the_background(sqlite_db, tmp_path):
    reports = Reports()
    before = metrics.SQLITE_CHECKPOINTS.value(outcome="complete")

    def report(checkpoint: Checkpoint) -> None:
        reports(checkpoint)
        metrics.count_checkpoint(checkpoint)

    assert await writer_autocheckpoint(sqlite_db) == checkpoints.DEFAULT_PAGES
    async with sqlite_db.checkpoints_in_background(on_checkpoint=report, idle=0.05) as checkpointer:
        assert isinstance(checkpointer, WalCheckpointer)
        # One is enough: a second block in the same process adds nothing.
        async with sqlite_db.checkpoints_in_background() as second:
            assert second is None
        assert await writer_autocheckpoint(sqlite_db) == checkpoints.FALLBACK_PAGES
        await chat_writes(sqlite_db, 0, WRITES)
        # Two more reports: at least one checkpoint began after the last commit.
        await reports.after(len(reports) + 2)
        assert rows_in_database_file(sqlite_db, tmp_path) == WRITES
    assert reports and all(report.outcome == "complete" for report in reports)
    assert sum(report.copied_pages for report in reports) >= WRITES
    assert metrics.SQLITE_CHECKPOINTS.value(outcome="complete") - before == len(reports)
    # Left: the writer copies by itself again.
    assert await writer_autocheckpoint(sqlite_db) == checkpoints.DEFAULT_PAGES


async def test_the_commit_leaves_the_copy_to_the_background(sqlite_db, tmp_path):
    # Without it, a commit that fills the WAL to 1,000 pages copies them into the file itself.
    await chat_writes(sqlite_db, 0, WRITES)
    assert rows_in_database_file(sqlite_db, tmp_path) > 0

    # With it, held back for the test (one checkpoint, then an hour's pause), no commit copies.
    reports = Reports()
    async with sqlite_db.checkpoints_in_background(on_checkpoint=reports, interval=3600, idle=3600):
        await chat_writes(sqlite_db, WRITES, 1)
        await reports.after(1)
        copied = rows_in_database_file(sqlite_db, tmp_path)
        await chat_writes(sqlite_db, WRITES + 1, WRITES)
        assert rows_in_database_file(sqlite_db, tmp_path) == copied
    # Every update is kept all the same: SQLite reads the WAL too.
    async with sqlite_db.snapshot() as session:
        stored = await session.scalar(text("SELECT count(*) FROM processed_update WHERE platform = 't'"))
    assert stored == 2 * WRITES + 1


async def test_a_reader_on_an_older_snapshot_holds_the_copy_back_until_it_ends(sqlite_db, tmp_path):
    # A coordinator's export reading the plan as it stood when it began, while chats write on.
    export = sqlite3.connect(sqlite_db.sqlite_path(), isolation_level=None)
    reports = Reports()
    try:
        async with sqlite_db.checkpoints_in_background(on_checkpoint=reports, interval=0.01, idle=0.05):
            await chat_writes(sqlite_db, 0, 10)
            export.execute("BEGIN")
            assert export.execute(
                "SELECT count(*) FROM processed_update WHERE platform = 't'"
            ).fetchone() == (10,)
            await chat_writes(sqlite_db, 10, 300)
            await reports.after(len(reports) + 2)
            held = reports[-1]
            assert held.outcome == "partial" and held.copied_pages < held.wal_pages
            assert rows_in_database_file(sqlite_db, tmp_path) <= 10
            # The export still reads its own moment.
            assert export.execute(
                "SELECT count(*) FROM processed_update WHERE platform = 't'"
            ).fetchone() == (10,)
            export.execute("COMMIT")
            # Ended, the next checkpoint copies the rest without any further write.
            await reports.after(len(reports) + 2)
            assert reports[-1].outcome == "complete"
            assert rows_in_database_file(sqlite_db, tmp_path) == 310
    finally:
        export.close()
    assert "failed" not in {report.outcome for report in reports}


async def test_a_checkpoint_that_fails_is_told_and_the_next_one_tries_again(tmp_path, caplog):
    missing = tmp_path / "gone" / "nhacviec.db"
    reports = Reports()
    checkpointer = WalCheckpointer(missing, interval=0.01, idle=3600, on_checkpoint=reports)
    checkpointer.start()
    try:
        with caplog.at_level(logging.WARNING, logger="storage.checkpoints"):
            checkpointer.written()
            await reports.after(1)
            checkpointer.written()
            await reports.after(2)
    finally:
        await checkpointer.stop()
    assert [report.outcome for report in reports[:2]] == ["failed", "failed"]
    assert "unable to open database file" in reports[0].error
    assert "checkpoint of the SQLite database failed (the writer will copy instead)" in caplog.text
    # A checkpoint never makes a database where there was none.
    assert not missing.parent.exists()


async def test_a_fault_in_one_round_does_not_end_checkpointing(sqlite_db, tmp_path, caplog):
    reports = Reports()

    def report(checkpoint: Checkpoint) -> None:
        reports(checkpoint)
        if len(reports) == 1:
            raise RuntimeError("the report broke")

    with caplog.at_level(logging.ERROR, logger="storage.checkpoints"):
        async with sqlite_db.checkpoints_in_background(on_checkpoint=report, interval=0.01, idle=0.05):
            await chat_writes(sqlite_db, 0, 1)
            await reports.after(1)
            await chat_writes(sqlite_db, 1, WRITES)
            # Two more reports: at least one checkpoint began after the last commit.
            await reports.after(len(reports) + 2)
            assert rows_in_database_file(sqlite_db, tmp_path) == WRITES + 1
    # Stopped without the fault coming out, which was logged with its traceback.
    assert "background checkpoint of the SQLite database went wrong" in caplog.text
    assert "the report broke" in caplog.text


async def test_stopped_at_once_it_ends_cleanly(sqlite_db):
    for _ in range(20):
        async with sqlite_db.checkpoints_in_background(interval=0) as checkpointer:
            await chat_writes(sqlite_db, 0, 1)
            checkpointer.written()
        async with sqlite_db.transaction() as session:
            await session.execute(text("DELETE FROM processed_update WHERE platform = 't'"))


@pytest.mark.parametrize("db", ["sqlite", "postgres"], indirect=True)
async def test_only_an_sqlite_file_has_a_wal_to_copy(db):
    async with db.checkpoints_in_background() as checkpointer:
        await chat_writes(db, 0, 3)
    assert (checkpointer is not None) == (db.dialect == "sqlite")
    async with db.snapshot() as session:
        assert await session.scalar(text("SELECT count(*) FROM processed_update WHERE platform = 't'")) == 3
    memory = Database("sqlite+aiosqlite:///:memory:")
    try:
        async with memory.checkpoints_in_background() as checkpointer:
            assert checkpointer is None
    finally:
        await memory.dispose()
