"""Two bot instances on one PostgreSQL database deliver 10,000 reminders.

Each instance is a real process in webhook mode (PTB, the chat core, the reminder engine) against
the Bot API emulator on 127.0.0.1, which plays 10,000 focal points each due one reminder; both claim
from the one outbox (FOR UPDATE SKIP LOCKED) under one sending budget kept in the database. Printed:
duplicates, reminders lost, how many each instance sent, and the most messages the emulator received
in any one second (and any five) against the budget.

Telegram's budget is about 30 messages a second; the run uses 100/s (a paid-broadcast-sized budget)
so that 10,000 messages take under two minutes — the sharing is what is measured, and it does not
depend on the figure.
Targets: 0 duplicates, 0 lost; in any five seconds (where they arrive) at most the budget + 5 %; in
any one second (where the sends start) at most the budget + 20 %, the room a stall of this shared
2-core machine needs — the exact rule is proven on a moved clock in tests/scheduler.

    python bench/bench_instances.py [--reminders N] [--per-second R] [--instances N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine  # noqa: E402
from tests.faults.harness import postgres_database  # noqa: E402
from tests.faults.scenarios import fleet_fan_out, within_budget  # noqa: E402

PG_URL = os.environ.get("NHACVIEC_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def one_second_allowance(per_second: float) -> int:
    """As tests/faults/test_instances.py: a one-second window also holds what a stall of the shared
    cores bunched together (the exact rule is proven on a moved clock in tests/scheduler)."""
    return int(per_second * 1.2) + 1


async def main() -> int:
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--per-second", type=float, default=100)
    parser.add_argument("--instances", type=int, default=2)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    try:
        database = postgres_database(PG_URL)
        db = await database.__aenter__()
    except OSError as exc:
        print(f"skipped: PostgreSQL not reachable at {PG_URL} ({exc})")
        return 0
    try:
        with tempfile.TemporaryDirectory(prefix="nhacviec-instances-") as tmp:
            r = await fleet_fan_out(
                db, Path(tmp), size=args.reminders, per_second=args.per_second, instances=args.instances
            )
    finally:
        await database.__aexit__(None, None, None)
    t = r.tally
    ok = (
        t.duplicates == 0
        and t.lost == 0
        and r.statuses == {"sent": args.reminders}
        and r.most_started_in_one_second <= one_second_allowance(args.per_second)
        and r.most_in_five_seconds <= within_budget(args.per_second, 5)
    )
    print(f"{args.instances} instances, {args.reminders} reminders, budget {args.per_second:g}/s shared")
    print(f"  lost                  {t.lost}")
    print(f"  duplicates            {t.duplicates}")
    print(f"  outbox                {dict(r.statuses)}")
    print(f"  sent by instance      {r.sent_by_instance}")
    allowed = one_second_allowance(args.per_second)
    print(
        f"  most sends started in any second  {r.most_started_in_one_second} (budget {args.per_second:g}, allowed {allowed})"
    )
    print(f"  most arrived in any second        {r.most_in_one_second}")
    print(
        f"  most in any 5 seconds {r.most_in_five_seconds} (budget {5 * args.per_second:g}, allowed {within_budget(args.per_second, 5)})"
    )
    print(f"  send rate             {args.reminders / r.send_seconds:.1f}/s over {r.send_seconds:.1f} s")
    print(f"  wall time             {r.seconds:.1f} s (start-up and planning included)")
    print(f"  verdict               {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
