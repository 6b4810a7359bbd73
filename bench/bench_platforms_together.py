"""Telegram and Zalo served by one process (`nhacviec run` with both tokens): reply latency per
platform when both are busy, and the capacity of the process for a mixed burst.

The process's runners (bot.transports.runner.Bots: one core, one registry) on a real SQLite file,
against the Telegram Bot API emulator and the Zalo emulator on 127.0.0.1, all in this one process
(so the emulators' own work is counted against the bot). 100 focal points on each platform send
one-line progress updates (a database write each). Both platforms on webhooks (how a loaded
deployment runs), then both polling. First one update at a time, alternating platforms; then a
burst on both at once, handled per second until the last reply. The reminder engine is off.

    python bench/bench_platforms_together.py [--members N] [--burst N] [--rounds N] [--modes webhook,polling]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import free_port, machine  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.transports.runner import Bots  # noqa: E402
from scheduler.clock import ManualClock  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.emulators.telegram import TelegramEmulator  # noqa: E402
from tests.emulators.zalo_bot import ZaloBotEmulator  # noqa: E402
from tests.factories import NOW, make_member, make_plan  # noqa: E402

FIRST_TELEGRAM_ID = 3000


async def seed(db: Database, members: int) -> None:
    async with db.transaction() as session:
        plan = await make_plan(session)
        tourism, foreign = plan.agencies["Sở Du lịch"], plan.agencies["Sở Ngoại vụ"]
        for n in range(members):
            await make_member(session, f"Zalo {n}", agency=tourism, platform="zalo", user_id=f"u{n}")
            await make_member(
                session,
                f"Telegram {n}",
                agency=foreign,
                platform="telegram",
                user_id=str(FIRST_TELEGRAM_ID + n),
            )


def config_for(telegram: TelegramEmulator, zalo: ZaloBotEmulator, mode: str):
    config = load_config(
        env={
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_WEBHOOK_SECRET": "bench-telegram-secret",
            "ZALO_BOT_TOKEN": zalo.token,
            "ZALO_WEBHOOK_SECRET": "bench-zalo-secret",
        }
    )
    settings = config.telegram
    settings.api_base_url, settings.api_file_url = telegram.api_base_url, telegram.file_base_url
    settings.bot_username, settings.mode, settings.webhook_port = telegram.username, mode, 0
    settings.poll_timeout, settings.concurrent_updates = 1, 32
    config.zalo.api_base_url, config.zalo.mode = zalo.base_url, mode
    config.zalo.poll_timeout, config.zalo.concurrent_updates = 1, 32
    if mode == "webhook":
        config.zalo.webhook_port = free_port()
        config.zalo.webhook_url = f"http://127.0.0.1:{config.zalo.webhook_port}/zalo"
    config.ops.http_enabled = False
    config.reminders.enabled = False
    return config


class People:
    """Sends for the n-th focal point on either platform and waits for the bot's answer."""

    def __init__(self, telegram: TelegramEmulator, zalo: ZaloBotEmulator, members: int):
        self.telegram, self.zalo = telegram, zalo
        self.users = [telegram.user(FIRST_TELEGRAM_ID + n, f"Telegram {n}") for n in range(members)]

    def replies(self) -> int:
        return len(self.telegram.sent) + len(self.zalo.sent)

    async def send(self, on: str, n: int, text: str) -> None:
        if on == "telegram":
            await self.telegram.send_text(self.users[n], text)
        else:
            await self.zalo.user_sends(f"u{n}", text)

    async def round_trip(self, on: str, n: int, text: str) -> float:
        if on == "telegram":
            chat, emulator = FIRST_TELEGRAM_ID + n, self.telegram
            before = len(emulator.sent_to(chat))
        else:
            chat, emulator = f"u{n}", self.zalo
            before = len(emulator.texts_to(chat))
        started = time.perf_counter()
        await self.send(on, n, text)
        await emulator.wait_for_messages(chat, before + 1, within=30)
        return (time.perf_counter() - started) * 1000

    async def all_answered(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 300
        while self.replies() < count:
            if loop.time() > deadline:
                raise TimeoutError(f"{self.replies()} of {count} replies")
            await asyncio.sleep(0.01)


async def run(mode: str, members: int, burst_size: int, rounds: int) -> list[str]:
    with tempfile.TemporaryDirectory() as directory:
        db = Database(f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}")
        await upgrade(db)
        clock = ManualClock(NOW)
        await seed(db, members)
        zalo = await ZaloBotEmulator(clock=clock).start()
        async with TelegramEmulator(clock=clock.now) as telegram:
            bots = Bots(
                App(config=config_for(telegram, zalo, mode), db=db, clock=clock), ["telegram", "zalo"]
            )
            await bots.start()
            people = People(telegram, zalo, members)
            try:
                for n in range(4):  # warm-up
                    await people.round_trip(("telegram", "zalo")[n % 2], n, f"capnhat 1 đang thực hiện {n}")
                latencies: dict[str, list[float]] = {"telegram": [], "zalo": []}
                for n in range(rounds):
                    on = ("telegram", "zalo")[n % 2]
                    text = f"capnhat 1 đang thực hiện lần {n}"
                    latencies[on].append(await people.round_trip(on, n % members, text))
                before = people.replies()
                started = time.perf_counter()
                await asyncio.gather(
                    *(
                        people.send(on, n % members, f"capnhat 2 đang thực hiện đợt {n}")
                        for n in range(burst_size)
                        for on in ("telegram", "zalo")
                    )
                )
                await people.all_answered(before + 2 * burst_size)
                capacity = 2 * burst_size / (time.perf_counter() - started)
            finally:
                await bots.stop()
                await zalo.stop()
                await db.dispose()
    lines = []
    for on, values in latencies.items():
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        lines.append(
            f"{mode:8} {on:8} latency median {statistics.median(values):6.1f} ms, p99 {p99:6.1f} ms "
            f"(one at a time, {len(values)} updates, platforms alternating)"
        )
    lines.append(
        f"{mode:8} both     capacity {capacity:6.1f} updates/s (a burst of {burst_size} on each platform)"
    )
    return lines


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--burst", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--modes", default="webhook,polling")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"machine: {machine()}")
    for mode in args.modes.split(","):
        for line in await run(mode, args.members, args.burst, args.rounds):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
