"""SQLite's WAL checkpoints, made on a worker thread while the bot serves.

In WAL mode a commit appends the pages it changed to the `-wal` file. Once that file holds
`wal_autocheckpoint` pages (1,000 by default), the connection that commits copies them back into
the database file and syncs both files, inside that commit. A chat message's commit runs on the
event loop's thread (storage.sqlite_driver), so about once every hundred one-line updates a message
carried that copy and two fsyncs, and every chat waited behind it: 5–9 ms on this project's test
machine, where a whole update takes 2 ms, and as long as the disk takes to sync anywhere else.

While `Database.checkpoints_in_background` is open, the copy is made here instead: shortly after a
write, a PASSIVE checkpoint (it neither waits for nor blocks readers and writers) on a connection of
its own, on a worker thread; sqlite3 lets go of the GIL while SQLite works, so the loop runs on.
The writer's own automatic checkpoint is raised to `FALLBACK_PAGES` meanwhile rather than turned
off: should this fall behind (a stalled disk, a failing checkpoint), the writer still copies, and
the WAL stays bounded either way. A reader holding an old snapshot (a long export) keeps either
from copying past it, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# SQLite's own default: what a writer checkpoints at when nothing runs in the background.
DEFAULT_PAGES = 1000
# What it checkpoints at while this runs: ten times the default (40 MB of 4 KiB pages), reached only
# if the background copy falls well behind.
FALLBACK_PAGES = 10_000
# The shortest time between two checkpoints: writes in between are copied together. Measured with
# 6,000 chat updates in a row (bench/bench_checkpoints.py): every 0.5 s, p99 2.4–2.9 ms where the
# copy in the commit gave 5.6–6.1, at the same CPU; every 0.1 s a little fewer slow messages but a
# tenth more CPU per message (the syncs); every 2 s more messages over 10 ms (a longer copy slows
# the writer's commits more while its sync lasts).
INTERVAL_SECONDS = 0.5
# With no write of this process's for this long, a checkpoint is made anyway: another process (an
# import) may have written.
IDLE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What one checkpoint did: `wal_pages` in the WAL, `copied_pages` of them now in the database
    file (fewer when a reader still needs older ones), `error` when it failed."""

    wal_pages: int = 0
    copied_pages: int = 0
    error: str | None = None

    @property
    def outcome(self) -> str:
        if self.error is not None:
            return "failed"
        return "complete" if self.copied_pages >= self.wal_pages else "partial"


class WalCheckpointer:
    """Checkpoints one SQLite database file on a worker thread, shortly after each `written()`."""

    def __init__(
        self,
        path: Path,
        *,
        interval: float = INTERVAL_SECONDS,
        idle: float = IDLE_SECONDS,
        on_checkpoint: Callable[[Checkpoint], object] | None = None,
    ):
        self.path = path
        self.interval = interval
        self.idle = idle
        self._on_checkpoint = on_checkpoint
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._running: asyncio.Future | None = None  # the checkpoint under way on the worker thread
        self._connection: sqlite3.Connection | None = None

    def written(self) -> None:
        """Something was committed: a checkpoint follows within `interval`."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sqlite-checkpoints")

    async def stop(self) -> None:
        """Stop checkpointing; a checkpoint under way is let finish (its thread holds the connection)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._running is not None:
            await asyncio.wait([self._running])
            self._running = None
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await asyncio.to_thread(connection.close)

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation that comes
            # as the event is set, and `stop` then waited for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.idle):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._once()
            except Exception:
                # A fault of ours (in the report, say) must not end checkpointing for the rest of
                # the process's life, nor come out of `stop` at shutdown.
                log.exception("background checkpoint of the SQLite database went wrong; going on")
            await asyncio.sleep(self.interval)

    async def _once(self) -> None:
        running = self._running = asyncio.get_running_loop().run_in_executor(None, self._checkpoint)
        try:
            # Shielded: cancelled (stop), this stops waiting, and `stop` waits for the thread.
            done = await asyncio.shield(running)
        finally:
            if running.done():
                self._running = None
        if done.error is not None:
            log.warning(
                "checkpoint of the SQLite database failed (the writer will copy instead): %s", done.error
            )
        if self._on_checkpoint is not None:
            self._on_checkpoint(done)

    def _checkpoint(self) -> Checkpoint:
        """On the worker thread."""
        try:
            if self._connection is None:
                # mode=rw: a database that is not there is an error, not a new empty file.
                # check_same_thread: the executor may run the next checkpoint on another thread.
                self._connection = sqlite3.connect(
                    f"{self.path.resolve().as_uri()}?mode=rw",
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                )
                # What the bot's connections run with (storage.db): the WAL synced before the copy,
                # the database file after it.
                self._connection.execute("PRAGMA synchronous=NORMAL")
            _busy, wal_pages, copied_pages = self._connection.execute(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).fetchone()
        except sqlite3.Error as exc:
            # Opened afresh next time, whatever state the failure left the connection in.
            if self._connection is not None:
                connection, self._connection = self._connection, None
                connection.close()
            return Checkpoint(error=str(exc) or type(exc).__name__)
        # -1, -1 when the database is not in WAL mode: nothing to copy.
        return Checkpoint(max(wal_pages, 0), max(copied_pages, 0))
