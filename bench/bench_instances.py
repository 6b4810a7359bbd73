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

Then the chat side (tests/faults/webhook_fleet.py): a burst of updates from focal points (the
reports mix of bench_telegram.py: half one-line updates, a quarter task lists, a quarter help),
answered by one and then by two webhook instances on one PostgreSQL behind a round-robin balancer,
each run on a fresh database; one update in twenty is handed to two instances at once (a
re-delivery). Printed: updates per second from the first update sent to the last reply, each
instance's CPU time per update it was handed, duplicates and lost (target 0 / 0). On a 2-core
machine a second instance cannot add much: the instances, PostgreSQL and the emulator share the
same two cores, and the CPU per update shows where the ceiling is.

    python bench/bench_instances.py [--reminders N] [--per-second R] [--instances N]
                                    [--updates N] [--members N] [--skip-reminders] [--skip-updates]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine  # noqa: E402
from tests.faults.harness import postgres_database  # noqa: E402
from tests.faults.scenarios import fleet_fan_out, within_budget  # noqa: E402
from tests.faults.webhook_fleet import fleet_updates  # noqa: E402

PG_URL = os.environ.get("NHACVIEC_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# One update in this many is handed to two instances at once (a re-delivery sent elsewhere).
TWICE_EVERY = 20


def one_second_allowance(per_second: float) -> int:
    """As tests/faults/test_instances.py: a one-second window also holds what a stall of the shared
    cores bunched together (the exact rule is proven on a moved clock in tests/scheduler)."""
    return int(per_second * 1.2) + 1


async def on_fresh_database(scenario, **sizes):
    """`scenario(db, workdir, **sizes)` on a fresh PostgreSQL database; None (said) when unreachable."""
    try:
        database = postgres_database(PG_URL)
        db = await database.__aenter__()
    except OSError as exc:
        print(f"skipped: PostgreSQL not reachable at {PG_URL} ({exc})")
        return None
    try:
        with tempfile.TemporaryDirectory(prefix="nhacviec-instances-") as tmp:
            return await scenario(db, Path(tmp), **sizes)
    finally:
        await database.__aexit__(None, None, None)


async def reminders(args) -> bool:
    r = await on_fresh_database(
        fleet_fan_out, size=args.reminders, per_second=args.per_second, instances=args.instances
    )
    if r is None:
        return True
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
    print(f"  verdict               {'PASS' if ok else 'FAIL'}", flush=True)
    return ok


async def updates(args) -> bool:
    ok = True
    print(
        f"a burst of {args.updates} updates (reports mix) from {args.members} focal points, "
        f"one in {TWICE_EVERY} handed to two instances; each run on a fresh database"
    )
    for instances in (1, 2):
        runs = []
        for _ in range(args.runs):
            result = await on_fresh_database(
                fleet_updates,
                members=args.members,
                burst=args.updates,
                instances=instances,
                twice_every=TWICE_EVERY if instances > 1 else 0,
            )
            if result is None:
                return True
            runs.append(result)
        rates = [r.per_second for r in runs]
        # Each instance's CPU per update it was handed (a round robin hands each its share).
        cpu_ms = [
            statistics.median(r.cpu_seconds[n] * 1000 / (r.updates / instances) for r in runs)
            for n in range(instances)
        ]
        lost, duplicates = sum(r.lost for r in runs), sum(r.duplicates for r in runs)
        stored_ok = all(r.reports_stored == r.reports_sent for r in runs)
        ok = ok and lost == 0 and duplicates == 0 and stored_ok
        print(
            f"  {instances} instance{'s' if instances > 1 else ' '}: {statistics.median(rates):5.0f} updates/s "
            f"(runs: {', '.join(f'{rate:.0f}' for rate in rates)}); CPU per update handed to each: "
            f"{', '.join(f'{ms:.1f} ms' for ms in cpu_ms)}; lost {lost}, duplicates {duplicates}, "
            f"one-line updates stored once: {'yes' if stored_ok else 'NO'}",
            flush=True,
        )
    print(f"  verdict               {'PASS' if ok else 'FAIL'}")
    return ok


async def main() -> int:
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--per-second", type=float, default=100)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--updates", type=int, default=1500, help="updates in the burst")
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3, help="runs of each update burst; medians are printed")
    parser.add_argument("--skip-reminders", action="store_true")
    parser.add_argument("--skip-updates", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    ok = True
    if not args.skip_reminders:
        ok = await reminders(args) and ok
    if not args.skip_updates:
        ok = await updates(args) and ok
    print(f"after: {machine()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
