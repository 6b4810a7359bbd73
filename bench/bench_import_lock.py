"""What a large plan import costs the chat: the longest write-lock hold, and chat reply latency.

A generated plan of 200 sections × 120 tasks (24,000 tasks, the size that once answered "database is
locked" to a chat user) is imported by another process into a real SQLite file, either in one
transaction (`import_parsed_plan`, as the CLI did before) or staged in chunks and swapped in
(`import_staged`, as it does now). Meanwhile this process answers chat writes (`/ngonngu en|vi`, each
a write transaction) through the real core, one after another. Printed per mode, medians over the
runs: the import's wall time and CPU time, its longest write transaction (lock taken to commit
done; also the longest after the first, which registers the plan's agencies), and the chat's reply
latency (max and p99) while the import ran.

    python bench/bench_import_lock.py [--sections 200] [--tasks 120] [--runs 3] [--chunk 500]
        [--modes single,staged] [--code DIR]

`--code DIR` runs the importing process on another checkout's code (`git archive` of an older
commit, say) to measure "before"; its `single` mode is the import as the CLI ran it there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_plan_import import large_plan  # noqa: E402
from bench.machine import machine  # noqa: E402

HERE = Path(__file__).resolve().parents[1]

CHILD = r"""
import asyncio, contextlib, json, sys, time, resource
from storage.db import Database
from storage.plans.limits import ImportLimits
from storage.plans.parser import parse_plan_file
from storage.plans.importer import import_parsed_plan

url, path, mode, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
holds = []

class Timed(Database):
    @contextlib.asynccontextmanager
    async def transaction(self):
        async with super().transaction() as session:
            # On SQLite the write lock is held from here (BEGIN IMMEDIATE) until the commit below.
            started = time.perf_counter()
            yield session
        holds.append(time.perf_counter() - started)

async def main():
    parsed = parse_plan_file(path, ImportLimits(max_table_rows=100_000))
    db = Timed(url)
    print("writing", flush=True)
    started, cpu = time.perf_counter(), time.process_time()
    if mode != "staged":
        async with db.transaction() as session:
            await import_parsed_plan(session, parsed)
    else:
        from storage.plans.staging import import_staged
        await import_staged(db, parsed, chunk=chunk)
    print(json.dumps({"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu,
                      "longest_hold": max(holds), "transactions": len(holds),
                      "longest_at": holds.index(max(holds)) + 1,
                      "longest_after_first": max(holds[1:], default=0.0)}), flush=True)
    await db.dispose()

asyncio.run(main())
"""


async def one_run(tmp: Path, plan: Path, mode: str, chunk: int, code: Path) -> dict:
    from bot.app import App
    from bot.config import Config
    from bot.core.messages import Incoming
    from bot.core.service import Core
    from scheduler.clock import SystemClock
    from storage.db import Database
    from storage.migrate import upgrade

    path = tmp / f"{mode}-{time.monotonic_ns()}.db"
    url = f"sqlite+aiosqlite:///{path}"
    db = Database(url)
    await upgrade(db)
    core = Core(App(config=Config(), db=db, clock=SystemClock()))
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, url, str(plan), mode, str(chunk),
        stdout=asyncio.subprocess.PIPE, cwd=str(code), env=os.environ | {"PYTHONPATH": str(code)},
    )  # fmt: skip
    assert (await child.stdout.readline()).strip() == b"writing"
    latencies: list[float] = []
    result = asyncio.create_task(child.stdout.readline())
    n = 0
    while not result.done():
        text = ("/ngonngu en", "/ngonngu vi")[n % 2]
        incoming = Incoming(
            platform="console", chat_id=f"u{n % 5}", user_id=f"u{n % 5}", user_name="u", text=text
        )
        started = time.perf_counter()
        await core.handle(incoming)
        latencies.append(time.perf_counter() - started)
        n += 1
        await asyncio.sleep(0.05)
    figures = json.loads(await result)
    await child.wait()
    await db.dispose()
    latencies.sort()
    figures["chat_max"] = latencies[-1]
    figures["chat_p99"] = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    figures["chat_replies"] = len(latencies)
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=120)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--modes", default="single,staged")
    parser.add_argument("--code", type=Path, default=HERE)
    args = parser.parse_args()
    args.code = args.code.absolute()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        plan = large_plan(Path(tmp) / "large.txt", args.sections, args.tasks)
        for mode in args.modes.split(","):
            runs = []
            for _ in range(args.runs):
                runs.append(await one_run(Path(tmp), plan, mode, args.chunk, args.code))
                print(f"  {mode}: {json.dumps({k: round(v, 3) for k, v in runs[-1].items()})}", flush=True)

            def median(key: str, runs=runs) -> float:
                return statistics.median(r[key] for r in runs)

            label = "one transaction" if mode == "single" else f"staged, {args.chunk} tasks a chunk"
            if args.code != HERE:
                label += f", code from {args.code}"
            print(
                f"{args.sections * args.tasks} tasks, {label}: median of {args.runs} runs: import "
                f"{median('wall'):.1f} s wall, {median('cpu'):.1f} s CPU, {median('transactions'):.0f} "
                f"write transactions, longest write-lock hold {median('longest_hold') * 1000:.0f} ms (after the "
                f"first transaction {median('longest_after_first') * 1000:.0f} ms); chat "
                f"reply latency max {median('chat_max') * 1000:.0f} ms, p99 {median('chat_p99') * 1000:.0f} ms "
                f"({median('chat_replies'):.0f} replies); load {os.getloadavg()[0]:.1f}",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
