"""How long a coordinator waits for /tonghop (the summary and its chart) and /xuat docx|xlsx, through
the whole chat core, and how long the event loop stalls meanwhile.

The reference plan (Hanoi 87/KH-UBND, beside the repository) when present, else the sample plan,
in a fresh SQLite file, about two thirds of its tasks with an update (as bench_docx prepares it), a
coordinator on the console. Each command runs several times; medians are printed. The longest gap
of a 5 ms ticker running beside the core says how long other chats and the reminder engine would
have waited: rendering runs in a worker thread, so the gap stays well under the command's time.

    python bench/bench_chat_exports.py [--runs N]
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_docx import REFERENCE_PLAN, SAMPLE_PLAN, prepare  # noqa: E402
from bench.machine import machine  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.core.messages import Incoming  # noqa: E402
from bot.core.service import Core  # noqa: E402
from scheduler.clock import ManualClock  # noqa: E402
from storage.models.people import ACTIVE, COORDINATOR, Identity, Member  # noqa: E402

COMMANDS = ("/tonghop", "/xuat docx", "/xuat xlsx")


class Ticker:
    """Sleeps 5 ms at a time and records the longest it was kept waiting beyond that."""

    def __init__(self):
        self.longest = 0.0
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(0.005)
            self.longest = max(self.longest, time.perf_counter() - began - 0.005)

    def __enter__(self) -> Ticker:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc) -> None:
        self._task.cancel()


async def add_coordinator(db, now: dt.datetime) -> None:
    async with db.transaction() as session:
        member = Member(
            name="An",
            role=COORDINATOR,
            status=ACTIVE,
            language="vi",
            preferred_platform="console",
            created_at=now,
        )
        session.add(member)
        await session.flush()
        session.add(
            Identity(member_id=member.id, platform="console", external_id="an", chat_id="an", created_at=now)
        )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    plan_file = REFERENCE_PLAN if REFERENCE_PLAN.exists() else SAMPLE_PLAN
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        db, _plan_id, _cycle, today = await prepare(Path(tmp) / "bench.db", plan_file)
        now = dt.datetime.combine(today, dt.time(2), dt.UTC)
        await add_coordinator(db, now)
        core = Core(App(config=load_config(env={}), db=db, clock=ManualClock(now)))
        try:
            for command in COMMANDS:
                wall, cpu, stalls, sizes = [], [], [], []
                for _ in range(args.runs + 1):  # the first run loads fonts and templates: left out
                    with Ticker() as ticker:
                        began, began_cpu = time.perf_counter(), time.process_time()
                        replies = await core.handle(
                            Incoming(platform="console", chat_id="an", user_id="an", text=command)
                        )
                        wall.append((time.perf_counter() - began) * 1000)
                        cpu.append((time.process_time() - began_cpu) * 1000)
                    stalls.append(ticker.longest * 1000)
                    files = [f for r in replies for f in (*r.documents, *r.images)]
                    assert files, f"{command} sent no file: {[r.text for r in replies]}"
                    sizes.append(sum(len(f.content) for f in files))
                lines.append(
                    f"{command:<11} median {statistics.median(wall[1:]):.0f} ms (CPU {statistics.median(cpu[1:]):.0f} ms,"
                    f" min {min(wall[1:]):.0f}, max {max(wall[1:]):.0f}); longest event-loop stall median"
                    f" {statistics.median(stalls[1:]):.0f} ms; files {sizes[-1] / 1024:.0f} KB"
                )
        finally:
            await db.dispose()
    print(f"machine: {machine()}")
    print(f"plan: {plan_file.name}, {args.runs} runs per command after one warm-up")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
