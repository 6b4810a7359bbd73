"""Updates per second and reply latency of the Zalo bot, through the real HTTP stack.

The Zalo runner (Bot Platform, polling then webhook; and the Official Account webhook) with the chat
core on a real SQLite file, against the Zalo emulators on 127.0.0.1, all in this one process (so the
emulator's own work is counted against the bot). 100 registered focal points send one-line progress
updates (`capnhat 1 đang thực hiện …`, a database write each).

For each way in: the latency of one update at a time (user sends → the reply reaches Zalo), then the
capacity: a burst of updates sent at once, handled per second until the last reply. Zalo's getUpdates
hands out one update per call, so polling capacity is bounded by round trips; the webhook is not.
The reminder engine is off, so its ticks do not land in the measurement.

    python bench/bench_zalo.py [--members N] [--burst N] [--modes polling,webhook,official_account]
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
from bot.transports.zalo.runner import ZaloRunner  # noqa: E402
from scheduler.clock import ManualClock  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.emulators.zalo_bot import ZaloBotEmulator  # noqa: E402
from tests.emulators.zalo_oa import APP_ID, APP_SECRET, OA_SECRET_KEY, SECRET_KEY, ZaloOAEmulator  # noqa: E402
from tests.factories import NOW, make_member, make_plan  # noqa: E402


async def seed(db: Database, platform_name: str, members: int) -> None:
    async with db.transaction() as session:
        plan = await make_plan(session)
        agency = plan.agencies["Sở Du lịch"]
        for n in range(members):
            await make_member(session, f"Đầu mối {n}", agency=agency, platform=platform_name, user_id=f"u{n}")


async def start(mode: str, db: Database, clock: ManualClock):
    env: dict[str, str] = {}
    settings: dict = {}
    if mode == "official_account":
        api = await ZaloOAEmulator(clock=clock).start()
        env.update(
            ZALO_OA_APP_ID=APP_ID,
            ZALO_OA_APP_SECRET=APP_SECRET,
            ZALO_OA_SECRET_KEY=OA_SECRET_KEY,
            ZALO_OA_ACCESS_TOKEN=api.access_token,
            ZALO_OA_REFRESH_TOKEN=api.refresh_token,
            NHACVIEC_SECRET_KEY=SECRET_KEY,
        )
        settings.update(oa_api_base_url=api.api_base_url, oa_oauth_url=api.oauth_url, webhook_port=0)
    else:
        api = await ZaloBotEmulator(clock=clock).start()
        env["ZALO_BOT_TOKEN"] = api.token
        settings.update(api_base_url=api.base_url, poll_timeout=1, concurrent_updates=32)
        if mode == "webhook":
            port = free_port()
            env["ZALO_WEBHOOK_SECRET"] = "bench-webhook-secret"
            settings.update(mode="webhook", webhook_port=port, webhook_url=f"http://127.0.0.1:{port}/zalo")
    config = load_config(env=env)
    config.ops.http_enabled = False
    config.reminders.enabled = False
    for key, value in settings.items():
        setattr(config.zalo, key, value)
    runner = ZaloRunner(App(config=config, db=db, clock=clock), official_account=mode == "official_account")
    await runner.start()
    if mode == "official_account":
        api.webhook_url = f"http://127.0.0.1:{runner.port}/zalo-oa"
    return api, runner


async def one_at_a_time(api, members: int, rounds: int) -> list[float]:
    latencies = []
    for n in range(rounds):
        user = f"u{n % members}"
        before = len([m for m in api.sent if getattr(m, "chat_id", getattr(m, "user_id", None)) == user])
        started = time.perf_counter()
        await api.user_sends(user, f"capnhat 1 đang thực hiện lần {n}")
        await api.wait_for_messages(user, before + 1, within=30)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def burst(api, runner, members: int, size: int) -> float:
    sent_before = len(api.sent)
    started = time.perf_counter()
    await asyncio.gather(
        *(api.user_sends(f"u{n % members}", f"capnhat 2 đang thực hiện đợt {n}") for n in range(size))
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while len(api.sent) < sent_before + size:
        if loop.time() > deadline:
            raise TimeoutError(f"{len(api.sent) - sent_before} of {size} replies")
        await asyncio.sleep(0.01)
    await runner.queue.drain()
    return size / (time.perf_counter() - started)


async def run(mode: str, members: int, burst_size: int, rounds: int) -> str:
    with tempfile.TemporaryDirectory() as directory:
        db = Database(f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}")
        await upgrade(db)
        clock = ManualClock(NOW)
        platform_name = "zalo_oa" if mode == "official_account" else "zalo"
        await seed(db, platform_name, members)
        api, runner = await start(mode, db, clock)
        try:
            await one_at_a_time(api, members, 5)  # warm-up
            latencies = sorted(await one_at_a_time(api, members, rounds))
            capacity = await burst(api, runner, members, burst_size)
        finally:
            await runner.stop()
            await api.stop()
            await db.dispose()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return (
        f"{mode:17} latency median {statistics.median(latencies):6.1f} ms, p99 {p99:6.1f} ms "
        f"(one at a time, {rounds} updates); capacity {capacity:6.1f} updates/s (burst of {burst_size})"
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--modes", default="polling,webhook,official_account")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"machine: {machine()}")
    for mode in args.modes.split(","):
        print(await run(mode, args.members, args.burst, args.rounds), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
