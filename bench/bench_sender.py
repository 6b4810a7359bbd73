"""How fast the sender delivers, and how close it runs to a platform's rate limit without a 429.

1. Throughput against a transport that answers at once (no network, no rate limit): every focal
   point of a province has one reminder due; sender ticks claim, re-check, render, key the buttons,
   send and acknowledge each message in its own transaction, on a real SQLite file. Target:
   >= 3,000 sends/s, so the engine is never the bottleneck (paid Telegram broadcasts reach 1,000/s).
2. Against the Telegram Bot API emulator (real HTTP on 127.0.0.1, python-telegram-bot client)
   enforcing Telegram's flood limits, 30 messages a second overall, answering 429 beyond: the
   engine's shared budget ([reminders.rates.telegram], 29/s by default) paces the sends. Target:
   >= 95 % of 30/s with zero 429s.

Medians of several runs, each on a fresh copy of the database.

    python bench/bench_sender.py [--members N] [--agencies N] [--paced N] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reminder_world import build, copy  # noqa: E402

from bench.machine import machine  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import Config, RateConfig  # noqa: E402
from bot.reminders import build_engine  # noqa: E402
from scheduler.clock import ManualClock  # noqa: E402
from storage.db import Database  # noqa: E402

HANOI = dt.timezone(dt.timedelta(hours=7))
PLANNED_AT = dt.datetime(2020, 6, 1, 8, 0, tzinfo=HANOI)
# The 7-day reminders of the 20/6/2020 deadline are due now: one per focal point.
DUE = dt.datetime(2020, 6, 12, 8, 0, tzinfo=HANOI)
TARGET_PER_SECOND = 3000
TELEGRAM_LIMIT = 30
BROADCAST_PER_SECOND = 1000
# Group commit needs several sends outstanding to share acknowledgements; the throughput target is
# for a deployment configured for volume, the default (1) favours "at most one repeat per crash".
FAST_IN_FLIGHT = 16


class InstantTransport:
    """Telegram as if it answered at once (it shows real buttons, as Telegram does)."""

    platform = "telegram"
    max_text_length = 4096

    def __init__(self):
        self.count = 0

    async def send(self, recipient, reply) -> str:
        self.count += 1
        return str(self.count)


class FlowingClock:
    """Real time, started at `start`: the reminders of 2020 fall due while the benchmark runs."""

    def __init__(self, start: dt.datetime):
        self.shift = dt.datetime.now(dt.UTC) - start

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) - self.shift


async def _plan(db: Database, config: Config, transports: dict) -> None:
    engine = build_engine(App(config=config, db=db, clock=ManualClock(PLANNED_AT)), transports)
    await engine.plan()


async def instant_run(path: Path, per_second: float, in_flight: int) -> tuple[int, float, float]:
    """Send every due reminder; `per_second` is the shared budget (0: none)."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        config = Config()
        config.reminders.rates["telegram"] = RateConfig(per_second=per_second, per_chat_per_second=0)
        config.reminders.max_in_flight = in_flight
        transport = InstantTransport()
        await _plan(db, config, {"telegram": transport})
        clock = FlowingClock(DUE)
        engine = build_engine(App(config=config, db=db, clock=clock), {"telegram": transport})
        started, cpu = time.perf_counter(), time.process_time()
        while (await engine.send()).messages:
            pass
        return transport.count, time.perf_counter() - started, time.process_time() - cpu
    finally:
        await db.dispose()


class Timed:
    """Notes when each message was accepted."""

    def __init__(self, inner):
        self.inner = inner
        self.platform = inner.platform
        self.max_text_length = inner.max_text_length
        self.accepted: list[float] = []

    async def send(self, recipient, reply) -> str:
        message_id = await self.inner.send(recipient, reply)
        self.accepted.append(time.monotonic())
        return message_id


def _serve_telegram(members: int, ready, stop) -> None:
    """The Bot API emulator in a process of its own, as the real platform is: its clock and event loop
    are not the sender's."""
    from tests.emulators.telegram import FloodLimits, TelegramEmulator

    async def serve() -> None:
        limits = FloodLimits(per_second=TELEGRAM_LIMIT, per_chat_per_second=1)
        async with TelegramEmulator(flood_limits=limits) as tg:
            for m in range(1, members + 1):
                tg.user(10_000_000 + m, f"Cán bộ {m}")
            ready.send((tg.token, tg.api_base_url))
            await asyncio.to_thread(stop.wait)
            ready.send(sum(1 for call in tg.calls if call.status == 429))

    asyncio.run(serve())


async def paced_run(path: Path, members: int) -> tuple[int, float, int, int]:
    import multiprocessing

    from telegram import Bot
    from telegram.request import HTTPXRequest

    from bot.transports.telegram.transport import TelegramTransport

    parent, child = multiprocessing.Pipe()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve_telegram, args=(members, child, stop), daemon=True)
    server.start()
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        token, base_url = await asyncio.to_thread(parent.recv)
        request = HTTPXRequest(connection_pool_size=16, read_timeout=5, write_timeout=5, connect_timeout=5)
        async with Bot(token, base_url=base_url, request=request) as bot:
            transport = Timed(TelegramTransport(bot))
            config = Config()
            await _plan(db, config, {"telegram": transport})
            engine = build_engine(App(config=config, db=db, clock=FlowingClock(DUE)), {"telegram": transport})
            rate_limited = 0
            while True:
                report = await engine.send()
                rate_limited += report.rate_limited
                if not report.messages and not report.rate_limited:
                    break
        times = transport.accepted
        rate = (len(times) - 1) / (times[-1] - times[0])
        gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
        busiest = max(sum(1 for t in times if end - 1 < t <= end) for end in times)
        print(
            f"  a run: most accepted in any one second {busiest}; gap between messages p5/p50/p95 "
            f"{gaps[len(gaps) // 20] * 1000:.1f}/{gaps[len(gaps) // 2] * 1000:.1f}/"
            f"{gaps[len(gaps) * 19 // 20] * 1000:.1f} ms"
        )
        stop.set()
        refused = await asyncio.to_thread(parent.recv)
        return len(times), rate, refused, rate_limited
    finally:
        stop.set()
        server.join(timeout=10)
        await db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=20_000, help="focal points for the throughput run")
    parser.add_argument("--agencies", type=int, default=600)
    parser.add_argument("--paced", type=int, default=450, help="focal points for the 30 msg/s run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--in-flight",
        type=int,
        default=FAST_IN_FLIGHT,
        help="[reminders] max_in_flight for the throughput runs (the default configuration uses 1)",
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "world.db"
        work = Path(tmp) / "run.db"
        build(template, agencies=args.agencies, members=args.members, platform_name="telegram")
        default_rates = []
        for _ in range(args.runs):
            sent, seconds, _cpu = asyncio.run(instant_run(copy(template, work), 0, 1))
            default_rates.append(sent / seconds)
        print(
            f"throughput, instant transport, no budget, max_in_flight = 1 (the default): median "
            f"{statistics.median(default_rates):,.0f} sends/s ({', '.join(f'{r:,.0f}' for r in default_rates)})"
        )
        rates, cpu_rates, sent = [], [], 0
        for _ in range(args.runs):
            sent, seconds, cpu = asyncio.run(instant_run(copy(template, work), 0, args.in_flight))
            rates.append(sent / seconds)
            cpu_rates.append(sent / cpu)
        median = statistics.median(rates)
        print(
            f"throughput, instant transport, no budget, max_in_flight = {args.in_flight}: "
            f"{sent:,} reminders in {args.agencies:,} agencies; median "
            f"{median:,.0f} sends/s over {args.runs} runs ({', '.join(f'{r:,.0f}' for r in rates)}); "
            f"target >= {TARGET_PER_SECOND:,}: {'met' if median >= TARGET_PER_SECOND else 'NOT met'}"
        )
        print(
            f"  per CPU second of this process (both threads): median {statistics.median(cpu_rates):,.0f} sends "
            f"(what an unshared core does; load average during the run: {os.getloadavg()[0]:.1f})"
        )
        broadcast = []
        for _ in range(args.runs):
            sent, seconds, _cpu = asyncio.run(
                instant_run(copy(template, work), BROADCAST_PER_SECOND, args.in_flight)
            )
            broadcast.append(sent / seconds)
        print(
            f"throughput, instant transport, shared budget {BROADCAST_PER_SECOND:,}/s (paid broadcasts): median "
            f"{statistics.median(broadcast):,.0f} sends/s ({', '.join(f'{r:,.0f}' for r in broadcast)})"
        )

        paced_template = Path(tmp) / "paced.db"
        build(
            paced_template,
            agencies=min(args.agencies, args.paced),
            members=args.paced,
            coordinators=0,
            platform_name="telegram",
        )
        results = [asyncio.run(paced_run(copy(paced_template, work), args.paced)) for _ in range(args.runs)]
        paced = statistics.median(rate for _, rate, _, _ in results)
        refused = sum(r[2] for r in results)
        print(
            f"paced, Telegram emulator enforcing {TELEGRAM_LIMIT} msg/s over HTTP: {results[0][0]} messages a run; "
            f"median {paced:.2f} msg/s = {100 * paced / TELEGRAM_LIMIT:.1f} % of the limit "
            f"(runs: {', '.join(f'{r[1]:.2f}' for r in results)}); 429 answers: {refused}; "
            f"target >= 95 % with no 429: {'met' if paced >= 0.95 * TELEGRAM_LIMIT and not refused else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
