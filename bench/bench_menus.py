"""What the Telegram bot sends to set its command menus at start-up, first and after a restart.

The bot (PTB, the chat core, a real SQLite file) starts against the Bot API emulator on 127.0.0.1
with `--coordinators` coordinators and admins, each with a menu of their own; then it is stopped
and started again with nothing changed, and once more after one coordinator chose another language.
For each start: the setMyCommands / deleteMyCommands calls and the wall and CPU time of start-up
(this process: the bot and the emulator), medians of `--runs` runs.

    python bench/bench_menus.py [--coordinators N] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import update  # noqa: E402

from bench.machine import machine  # noqa: E402
from bot.app import App  # noqa: E402
from bot.transports.telegram.runner import TelegramBot  # noqa: E402
from scheduler.clock import ManualClock  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models.people import ADMIN, COORDINATOR, Member  # noqa: E402
from tests.bot.telegram.conftest import telegram_config  # noqa: E402
from tests.emulators.telegram import TelegramEmulator  # noqa: E402
from tests.factories import make_member  # noqa: E402

MENU_METHODS = ("setMyCommands", "deleteMyCommands")


async def one_start(telegram, db, clock) -> tuple[int, float, float]:
    before = sum(len(telegram.calls_to(method)) for method in MENU_METHODS)
    app = App(config=telegram_config(telegram, menu_check_seconds=0), db=db, clock=clock)
    app.config.reminders.enabled = False
    bot = TelegramBot(app, reminders=False)
    wall, cpu = time.perf_counter(), time.process_time()
    await bot.start()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await bot.stop()
    return sum(len(telegram.calls_to(method)) for method in MENU_METHODS) - before, wall, cpu


async def one_run(coordinators: int) -> dict[str, tuple[int, float, float]]:
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{folder}/bench.db")
        await upgrade(db)
        clock = ManualClock(dt.datetime(2026, 6, 1, 1, 0, tzinfo=dt.UTC))
        async with db.transaction() as session:
            for number in range(coordinators):
                role = ADMIN if number == 0 else COORDINATOR
                await make_member(
                    session, f"Người {number}", role=role, platform="telegram", user_id=str(5000 + number)
                )
        async with TelegramEmulator() as telegram:
            first = await one_start(telegram, db, clock)
            unchanged = await one_start(telegram, db, clock)
            async with db.transaction() as session:
                await session.execute(update(Member).where(Member.name == "Người 1").values(language="en"))
            one_changed = await one_start(telegram, db, clock)
        await db.dispose()
    return {"first start": first, "restart, nothing changed": unchanged, "restart, one changed": one_changed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coordinators", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = [asyncio.run(one_run(args.coordinators)) for _ in range(args.runs)]
    print(machine())
    print(f"{args.coordinators} coordinators and admins, medians of {args.runs} runs")
    for name in runs[0]:
        calls = statistics.median(run[name][0] for run in runs)
        wall = statistics.median(run[name][1] for run in runs)
        cpu = statistics.median(run[name][2] for run in runs)
        print(
            f"  {name:<26} {calls:>5.0f} menu calls   start-up {wall * 1000:7.0f} ms wall {cpu * 1000:7.0f} ms CPU"
        )


if __name__ == "__main__":
    main()
