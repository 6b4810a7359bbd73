"""Planning reminders for 100,000 focal points in 3,000 agencies, and what it costs in memory next to
the common alternative of one in-memory scheduler job per reminder (python-telegram-bot's JobQueue,
which keeps APScheduler jobs in memory).

One planner tick at 1 June 2020 08:00 (Hanoi) with the default 21-day horizon writes the 7-, 3- and
1-day reminders of the 20/6 reporting deadline for every focal point into a real SQLite file (300,000
rows). Time: median of several runs, each on a fresh copy. Memory: Python allocations at their peak
(tracemalloc) during one planner tick, and with the same reminders held as JobQueue jobs — both
measured in this one run. Targets: < 5 s; less memory than the jobs.

`--grid` prints the growth table instead, on the summary benchmark's worlds (20 tasks and one focal
point per agency; updates 10k, 100k, 1M at 3,000 agencies, then agencies 300, 3,000, 30,000 at 1M
updates; built once into `--cache DIR`): the first tick's wall and CPU time, medians.

`--history 0,100` prints what years of plans cost a tick instead: the chat benchmark's reference-
sized plan (bench_core.py) beside that many plans of earlier years, each with its tasks reported on,
ticked again and again at 1 June 2020 (CPU per tick, median).

    python bench/bench_planner.py [--agencies N] [--members N] [--runs N]
    python bench/bench_planner.py --grid [--scale N] [--runs N] [--cache DIR]
    python bench/bench_planner.py --history 0,100 [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reminder_world import build, copy  # noqa: E402

from bench.bench_summary import grid_cache, grid_sizes, world  # noqa: E402
from bench.machine import machine  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.reminders import calendar_from_config, policy_from_config  # noqa: E402
from scheduler.planner import Planner  # noqa: E402
from storage.db import Database  # noqa: E402

NOW = dt.datetime(2020, 6, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
TARGET_SECONDS = 5.0


def planner(db: Database) -> Planner:
    config = Config()
    return Planner(
        db,
        policy_from_config(config),
        calendar_from_config(config),
        horizon=dt.timedelta(days=config.reminders.horizon_days),
        extra_reporting=config.plan.extra_reporting_deadlines,
    )


async def plan_once(path: Path) -> tuple[float, int, float, float, float]:
    """The first tick (wall and CPU seconds), then the same horizon again in the same process and
    after a restart."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        started, cpu = time.perf_counter(), time.process_time()
        ticking = planner(db)
        report = await ticking.tick(NOW)
        first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        started = time.perf_counter()
        again = await ticking.tick(NOW)
        same_process = time.perf_counter() - started
        started = time.perf_counter()
        restarted = await planner(db).tick(NOW)
        after_restart = time.perf_counter() - started
        assert again.total == restarted.total == 0
        return first, report.total, same_process, after_restart, first_cpu
    finally:
        await db.dispose()


async def planner_memory(path: Path) -> tuple[int, int]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        gc.collect()
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        report = await planner(db).tick(NOW)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak - base, report.total
    finally:
        await db.dispose()


async def _reminder(context) -> None:  # what a JobQueue job would run; never reached here
    raise AssertionError("not run in the benchmark")


async def jobqueue_memory(path: Path) -> tuple[int, int]:
    """The same reminders as python-telegram-bot JobQueue jobs (APScheduler, in memory)."""
    import sqlite3

    from telegram.ext import ApplicationBuilder

    con = sqlite3.connect(path)
    rows = con.execute(
        "SELECT r.key, r.due_at, r.member_id, i.chat_id FROM reminder r JOIN identity i ON i.member_id = r.member_id"
    ).fetchall()
    con.close()
    application = ApplicationBuilder().token("123456:bench").build()
    job_queue = application.job_queue
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    await job_queue.start()
    # The same instants moved into the future, so that no job fires while they are being added.
    shift = dt.datetime.now(dt.UTC) - NOW + dt.timedelta(days=1)
    for key, due_at, member_id, chat_id in rows:
        when = dt.datetime.fromisoformat(due_at).replace(tzinfo=dt.UTC) + shift
        job_queue.run_once(
            _reminder, when, data={"reminder": key, "member": member_id}, name=key, chat_id=int(chat_id)
        )
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    count = len(job_queue.jobs())
    await job_queue.stop(wait=False)
    return max(current, peak) - base, count


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def grid(args) -> int:
    """The growth table: one planner tick per size, each on a fresh copy of the world."""
    cache = grid_cache(args)
    rows = []
    for agencies, updates in grid_sizes(args.scale):
        template = asyncio.run(world(cache, agencies, 20, updates))
        work = cache / "planner-run.db"
        times, cpus, reminders = [], [], 0
        for _ in range(args.runs):
            seconds, reminders, _same, _restart, cpu = asyncio.run(plan_once(copy(template, work)))
            times.append(seconds * 1000)
            cpus.append(cpu * 1000)
        rows.append((agencies, updates, reminders, statistics.median(times), statistics.median(cpus)))
    print(f"machine: {machine()}")
    print(f"planner tick, 20 tasks and one focal point per agency, medians of {args.runs} runs")
    print(
        f"{'agencies':>9} {'tasks':>8} {'updates':>10} {'reminders':>10} {'wall ms':>9} {'CPU ms':>8} {'CPU µs/task':>12}"
    )
    for agencies, updates, reminders, wall, cpu in rows:
        tasks = agencies * 20
        print(
            f"{agencies:>9,} {tasks:>8,} {updates:>10,} {reminders:>10,} {wall:>9.0f} {cpu:>8.0f}"
            f" {1000 * cpu / tasks:>12.1f}"
        )
    return 0


async def ticks_beside(kept: int, ticks: int) -> float:
    """CPU milliseconds of one planner tick, median of `ticks` after the first, beside `kept` plans
    of earlier years."""
    from bench.bench_core import seed
    from storage.migrate import upgrade

    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{folder}/history.db")
        try:
            await upgrade(db)
            await seed(db, kept)
            ticking = planner(db)
            took = []
            for n in range(ticks + 1):
                cpu = time.process_time()
                await ticking.tick(NOW + dt.timedelta(minutes=n))
                took.append((time.process_time() - cpu) * 1000)
            return statistics.median(took[1:])
        finally:
            await db.dispose()


def history(args) -> int:
    print(f"machine: {machine()}")
    print("planner tick beside plans of earlier years (12 agencies × 5 tasks each, reported twice)")
    for kept in (int(count) for count in args.history.split(",")):
        cpu = asyncio.run(ticks_beside(kept, max(args.runs, 5)))
        print(f"  {kept:>4} plans kept: CPU per tick {cpu:8.1f} ms (median)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agencies", type=int, default=3000)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--grid", action="store_true", help="print the growth table")
    parser.add_argument("--scale", type=int, default=1, help="divide the grid's sizes by this")
    parser.add_argument("--cache", type=Path, help="where the grid's databases are kept")
    parser.add_argument("--history", help="numbers of earlier plans kept: what they cost a tick")
    args = parser.parse_args()
    if args.grid:
        return grid(args)
    if args.history:
        return history(args)
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "world.db"
        build(template, agencies=args.agencies, members=args.members)
        work = Path(tmp) / "run.db"
        times, rows, same, restart, cpus = [], 0, [], [], []
        for _ in range(args.runs):
            seconds, rows, same_process, after_restart, cpu = asyncio.run(plan_once(copy(template, work)))
            times.append(seconds)
            cpus.append(cpu)
            same.append(same_process)
            restart.append(after_restart)
        median = statistics.median(times)
        print(
            f"planner tick: {args.members:,} focal points in {args.agencies:,} agencies -> {rows:,} reminders; "
            f"median {median:.2f} s over {args.runs} runs (runs: {', '.join(f'{t:.2f}' for t in times)}); "
            f"target < {TARGET_SECONDS:.0f} s: {'met' if median < TARGET_SECONDS else 'NOT met'}"
        )
        print(
            f"  CPU of this process (both threads): median {statistics.median(cpus):.2f} s; "
            f"load average during the runs: {os.getloadavg()[0]:.1f}"
        )
        print(
            f"the same horizon again (0 new rows): median {statistics.median(same):.2f} s in the same process, "
            f"{statistics.median(restart):.2f} s after a restart"
        )
        ours, planned = asyncio.run(planner_memory(copy(template, work)))
        theirs, jobs = asyncio.run(jobqueue_memory(work))
        print(f"memory, planner tick (peak, Python allocations): {mib(ours)} for {planned:,} reminders")
        print(f"memory, one JobQueue job per reminder (held):     {mib(theirs)} for {jobs:,} jobs")
        print(f"the outbox planner needs {theirs / max(ours, 1):.1f}x less memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
