"""Fires the planner and sender ticks on an interval with APScheduler's AsyncIOScheduler.

APScheduler holds exactly two jobs here, the ticks; no reminder ever lives in its job store. The
outbox in the database is the source of truth, so a restart loses nothing and a second instance
sends nothing twice. A tick that is still running when its next turn comes is not started twice
(`max_instances=1`), and turns missed while the process was busy collapse into one (`coalesce`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING, STATE_STOPPED

log = logging.getLogger(__name__)

PLANNER_JOB = "planner"
SENDER_JOB = "sender"


class Ticks:
    def __init__(
        self,
        *,
        plan: Callable[[], Awaitable[object]],
        send: Callable[[], Awaitable[object]],
        plan_every: float,
        send_every: float,
    ):
        self._plan = plan
        self._send = send
        self.plan_every = plan_every
        self.send_every = send_every
        self.scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task] = set()
        self._stopped = False

    async def _guarded(self, name: str, tick: Callable[[], Awaitable[object]]) -> None:
        if self._stopped:
            return
        task = asyncio.current_task()
        self._running.add(task)
        try:
            await tick()
        except Exception:  # a failing tick must not stop the next one; the error is logged
            log.exception("%s tick failed", name)
        finally:
            self._running.discard(task)

    async def _plan_then_send(self) -> None:
        await self._guarded(PLANNER_JOB, self._plan)
        # Newly planned reminders may be due already (catch-up): let the sender look at once.
        if self.scheduler is not None and not self._stopped:
            self.scheduler.modify_job(SENDER_JOB, next_run_time=dt.datetime.now(dt.UTC))

    async def _send_tick(self) -> None:
        await self._guarded(SENDER_JOB, self._send)

    def start(self) -> None:
        """Start firing; must be called with an event loop running."""
        scheduler = AsyncIOScheduler(timezone=dt.UTC)
        common = {"trigger": "interval", "max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        now = dt.datetime.now(dt.UTC)
        scheduler.add_job(
            self._plan_then_send, id=PLANNER_JOB, seconds=self.plan_every, next_run_time=now, **common
        )
        scheduler.add_job(
            self._send_tick, id=SENDER_JOB, seconds=self.send_every, next_run_time=now, **common
        )
        scheduler.start()
        self.scheduler = scheduler

    async def stop(self) -> None:
        """Fire no more ticks and wait for a running one to finish (callers bound the wait)."""
        self._stopped = True
        scheduler = self.scheduler
        if scheduler is not None and scheduler.state == STATE_RUNNING:
            scheduler.pause()
        running = [task for task in self._running if not task.done()]
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        # Turns already handed to the executor find `_stopped` set and end at once; let them, since
        # shutting down cancels whatever the executor still holds.
        for _ in range(3):
            await asyncio.sleep(0)
        if scheduler is not None and scheduler.state != STATE_STOPPED:
            scheduler.shutdown(wait=False)
            # AsyncIOScheduler shuts down on its event loop's next turn.
            await asyncio.sleep(0)
