"""1,000 reminders while Telegram fails 10 % of the sends with 429, 403, 400, 5xx and timeouts.

The bot runs as a real process (PTB, the chat core, the reminder engine, a SQLite file) against the
Bot API emulator on 127.0.0.1, which answers about 10 % of the sendMessage calls with a fault:
429 retry after 1 s (2 %), 403 bot blocked (1 %), 400 chat not found (1 %), 400 can't parse
entities (1 %), 500 (1 %), 502 with an HTML page (1 %), and a timeout (3 %: half of them after the
message went out, so the bot cannot know). Printed: what was injected, who was flagged unreachable
against who got a permanent error, who got nothing, and repeats.

Targets: every member without a permanent error reached, exactly the members with one flagged
unreachable, the outbox settled (sent or unreachable, nothing pending), repeats only after a
timeout that had delivered, each with the same reference.

    python bench/bench_platform_faults.py [--reminders N] [--scale X] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.faults.scenarios import faulty_fan_out  # noqa: E402


async def main() -> int:
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every fault share")
    parser.add_argument("--seed", type=int, default=20200424)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="nhacviec-faults-") as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'nhacviec.db'}")
        await upgrade(db)
        try:
            r = await faulty_fan_out(db, Path(tmp), size=args.reminders, seed=args.seed, scale=args.scale)
        finally:
            await db.dispose()
    n = args.reminders
    permanent = len(r.permanent_chats)
    expected = {"sent": n - permanent, "unreachable": permanent} if permanent else {"sent": n}
    ok = (
        r.unreachable_chats == r.permanent_chats
        and r.silent_chats <= r.permanent_chats
        and dict(r.statuses) == expected
        and r.tally.duplicates <= r.delivered_timeouts
        and r.tally.unrecognisable_duplicates == 0
    )
    faults = sum(r.injected.values())
    print(f"{n} reminders; {r.calls} sendMessage calls, {faults} failed on purpose ({faults / r.calls:.1%})")
    print(f"  injected                    {dict(sorted(r.injected.items()))}")
    print(f"  permanent error (chats)     {permanent}")
    print(
        f"  flagged unreachable         {len(r.unreachable_chats)} (same chats: {r.unreachable_chats == r.permanent_chats})"
    )
    print(
        f"  got nothing                 {len(r.silent_chats)} (all among the permanent: {r.silent_chats <= r.permanent_chats})"
    )
    print(f"  outbox                      {dict(r.statuses)}")
    print(
        f"  repeats                     {r.tally.duplicates} (timeouts after delivery: {r.delivered_timeouts}; unrecognisable: {r.tally.unrecognisable_duplicates})"
    )
    print(f"  wall time                   {r.seconds:.1f} s")
    print(f"  verdict                     {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
