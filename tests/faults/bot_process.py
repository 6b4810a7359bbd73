"""The bot as a real process, for the fault tests:

    python -m tests.faults.bot_process CONFIG START EPOCH [RETRY_WINDOW]


It runs what `nhacviec run --transport telegram` runs — the PTB application polling the Bot API at
`[telegram] api_base_url` (the emulator), the chat core and the reminder engine with its ticks on
a timer — with two differences a test needs: its clock reads START (an ISO 8601 instant) at Unix
time EPOCH and runs at the speed of real time, and it exits on its own (status 0) once the outbox has
nothing left that it could send now (or within RETRY_WINDOW seconds, to wait out short retry
backoffs). The parent kills it with SIGKILL whenever it likes.

It prints "started" once the engine runs and "idle" when it stops for lack of work; on SIGTERM
it stops as `nhacviec run` does (bot.ops.shutdown) and prints "stopping", then "stopped".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
import time

from sqlalchemy import func, or_, select

from bot.app import open_app
from bot.config import load_config
from bot.ops import metrics
from bot.ops.logging import configure_logging
from bot.ops.shutdown import GracefulShutdown
from bot.transports.telegram.runner import TelegramBot
from storage.models.reminders import CLAIMED, PENDING, Reminder

IDLE_CHECKS = 3
CHECK_EVERY = 0.1


class RunningClock:
    """Reads `start` at Unix time `epoch` and runs with real time from there (the rate limiter and
    leases need time to pass). Processes given the same pair agree on the time, as NTP-synced hosts do."""

    def __init__(self, start: dt.datetime, epoch: float):
        self._start = start
        self._epoch = epoch

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=time.time() - self._epoch)


async def outstanding(db, now: dt.datetime) -> int:
    """Reminders this process could still send by `now`: due and pending, or claimed (by anyone)."""
    async with db.snapshot() as session:
        return await session.scalar(
            select(func.count())
            .select_from(Reminder)
            .where(
                or_(
                    (Reminder.status == PENDING) & (Reminder.available_at <= now),
                    Reminder.status == CLAIMED,
                )
            )
        )


# When set, the instant (Unix time) each send to Telegram starts is appended to this file: what the
# rate budget governs, measured before the network and the emulator's own scheduling blur it.
SEND_LOG = "NHACVIEC_FAULTS_SEND_LOG"


def record_send_starts(bot: TelegramBot, path: str) -> None:
    log = open(path, "a", buffering=1)  # noqa: SIM115 - open for the life of the process
    send = bot.transport.send

    async def timed(recipient, reply):
        log.write(f"{time.time()!r}\n")
        return await send(recipient, reply)

    bot.transport.send = timed


async def wait_until_idle(app, retry_window: float) -> None:
    idle = 0
    # The planner's first tick (at start) must have run before an empty outbox means "done".
    while idle < IDLE_CHECKS:
        await asyncio.sleep(CHECK_EVERY)
        if metrics.last_tick("planner") is None:
            continue
        horizon = app.clock.now() + dt.timedelta(seconds=retry_window)
        idle = idle + 1 if await outstanding(app.db, horizon) == 0 else 0


async def main(config_path: str, start: str, epoch: float, retry_window: float = 0.0) -> int:
    config = load_config(config_path)
    configure_logging(config)
    app = await open_app(config, clock=RunningClock(dt.datetime.fromisoformat(start), epoch))
    bot = TelegramBot(app, reminders=True)
    if os.environ.get(SEND_LOG):
        record_send_starts(bot, os.environ[SEND_LOG])
    # As `nhacviec run` does: SIGTERM stops gracefully within the grace period, a second exits at once.
    async with GracefulShutdown(config.ops.shutdown_grace_seconds) as shutdown:
        try:
            await bot.start()
            print("started", flush=True)
            idle = asyncio.create_task(wait_until_idle(app, retry_window))
            signalled = asyncio.create_task(shutdown.wait())
            await asyncio.wait({idle, signalled}, return_when=asyncio.FIRST_COMPLETED)
            if shutdown.requested:
                idle.cancel()
                print("stopping", flush=True)
                clean = await shutdown.stop(*bot.stop_steps())
                print("stopped" if clean else "grace period over", flush=True)
            else:
                signalled.cancel()
                print("idle", flush=True)
        finally:
            await bot.stop()
            await app.close()
    return 0


if __name__ == "__main__":
    window = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), window)))
