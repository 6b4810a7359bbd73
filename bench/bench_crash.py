"""kill -9 the bot at 20 random points of a 1,000-reminder fan-out, restarting it each time.

The bot runs as a real process (PTB polling the Bot API emulator on 127.0.0.1, the chat core, the
reminder engine, a SQLite file); the emulator plays 1,000 focal points, each due one reminder. The
process is killed with SIGKILL at random points of the fan-out and started again, until it finds
nothing left to send. Printed: reminders lost, duplicates per crash, whether every duplicate carries
the same reference as the original, and the wall time. Run with [reminders] max_in_flight = 1 (at
most one send in flight, so at most one duplicate per crash) and then 8 (the default: faster
against a distant Telegram, at most 8 duplicates per crash).

Targets: 0 lost; at most max_in_flight duplicates per crash; every duplicate recognisable.

    python bench/bench_crash.py [--reminders N] [--kills N] [--in-flight 1,8] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.faults.scenarios import crash_fan_out  # noqa: E402


async def run(reminders: int, kills: int, in_flight: int, seed: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="nhacviec-crash-") as tmp:
        workdir = Path(tmp)
        db = Database(f"sqlite+aiosqlite:///{workdir / 'nhacviec.db'}")
        await upgrade(db)
        try:
            result = await crash_fan_out(
                db, db.url, workdir, size=reminders, kills=kills, seed=seed, max_in_flight=in_flight
            )
        finally:
            await db.dispose()
    t = result.tally
    per_crash = result.in_flight_at_crash
    ok = (
        t.lost == 0
        and result.statuses == {"sent": reminders}
        and max(per_crash) <= in_flight
        and t.duplicates == sum(per_crash)
        and t.unrecognisable_duplicates == 0
    )
    print(f"max_in_flight = {in_flight}: {reminders} reminders, {kills} kills, {result.restarts + 1} runs")
    print(f"  lost                      {t.lost}")
    print(f"  outbox                    {dict(result.statuses)}")
    print(
        f"  duplicates                {t.duplicates} (per crash: {per_crash}; median {statistics.median(per_crash)})"
    )
    print(f"  unrecognisable duplicates {t.unrecognisable_duplicates}")
    print(f"  wall time                 {result.seconds:.1f} s (process start-up included)")
    print(f"  verdict                   {'PASS' if ok else 'FAIL'}")
    return ok


async def main() -> int:
    # A killed bot leaves half-sent requests behind; the emulator's server would print each one.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--in-flight", default="1,8")
    parser.add_argument("--seed", type=int, default=20200424)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    results = [await run(args.reminders, args.kills, int(n), args.seed) for n in args.in_flight.split(",")]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
