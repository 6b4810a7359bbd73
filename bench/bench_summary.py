"""How long the cycle summary takes for a province-sized plan on SQLite, and how it grows.

3,000 agencies × 20 tasks (60,000 tasks) and 1,000,000 progress updates spread over two reporting
cycles, in a real migrated SQLite file. Prints the median of several runs of `build_summary` for the
second cycle (the one that must look at every update of both), wall clock and CPU, and the load
average of the machine. Target for the overview: < 200 ms.

`--grid` prints the growth table instead: updates 10k, 100k, 1M at 3,000 agencies, then agencies
300, 3,000, 30,000 at 1M updates (`--scale 10` divides every size by ten for a quick run; the
worlds are built once into `--cache DIR` and reused).

    python bench/bench_summary.py [--agencies N] [--tasks N] [--updates N] [--runs N] [--keep FILE]
    python bench/bench_summary.py --grid [--scale N] [--runs N] [--cache DIR] [--detail all]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine  # noqa: E402
from bot.core.handlers.overview import ATTENTION_SHOWN  # noqa: E402
from bot.i18n import use_language  # noqa: E402
from bot.render.text import summary_pages  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.summary import (  # noqa: E402
    ALL,
    ATTENTION,
    DEFAULT_TZ,
    attention_first,
    build_summary,
    counts_only,
)

LATEST = importlib.import_module("storage.migrations.versions.0017_progress_latest")
TASK_LATEST = importlib.import_module("storage.migrations.versions.0020_task_latest")

DEADLINES = [dt.date(2020, 6, 20), dt.date(2020, 11, 20)]
# As focal points report them: mostly progress, some done, a few blocked.
STATUSES = ["not_started", "in_progress", "done", "blocked"]
STATUS_WEIGHTS = [7, 60, 30, 3]
TARGET_MS = 200
GRID_UPDATES = (10_000, 100_000, 1_000_000)
GRID_AGENCIES = (300, 3_000, 30_000)


def fill(path: Path, *, agencies: int, tasks_per_agency: int, updates: int, seed: int = 20200424) -> None:
    """Bulk-insert a plan of `agencies` sections of `tasks_per_agency` tasks, members and updates."""
    rng = random.Random(seed)
    now = "2020-04-24 00:00:00.000000"
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    with con:
        con.executemany(
            "INSERT INTO agency (id, name, short_name, key, created_at) VALUES (?, ?, ?, ?, ?)",
            ((a, f"Sở số {a}", f"S{a}", f"so so {a}", now) for a in range(1, agencies + 1)),
        )
        con.execute(
            "INSERT INTO plan (id, number, issued, title, year, start_year, end_year, issuer, issuer_key,"
            " lifecycle, reporting_deadlines, imported_at)"
            " VALUES (1, '1/KH-BENCH', '2020-04-24', 'Kế hoạch đo hiệu năng', 2020, 2020, 2020, '', '',"
            " 'auto', ?, ?)",
            (json.dumps([d.isoformat() for d in DEADLINES]), now),
        )
        con.executemany(
            "INSERT INTO section (id, plan_id, numeral, position, heading, agency_id) VALUES (?, 1, ?, ?, ?, ?)",
            ((a, str(a), a, f"SỞ SỐ {a}", a) for a in range(1, agencies + 1)),
        )
        task_rows, link_rows = [], []
        for a in range(1, agencies + 1):
            for n in range(1, tasks_per_agency + 1):
                task_id = (a - 1) * tasks_per_agency + n
                quarter = rng.choices([None, 2, 3, 4], weights=[80, 7, 7, 6])[0]
                start, end = (
                    ("2020-01-01", "2020-12-31")
                    if quarter is None
                    else (
                        f"2020-{3 * quarter - 2:02d}-01",
                        dt.date(2020, 3 * quarter, 30 if quarter in (2, 3) else 31).isoformat(),
                    )
                )
                task_rows.append(
                    (
                        task_id,
                        a,
                        n,
                        f"{a}.{n}",
                        f"Nhiệm vụ {n} của sở số {a}: tuyên truyền đối ngoại",
                        start,
                        end,
                    )
                )
                link_rows.append((task_id, a, "lead", 0))
                partner = rng.randint(1, agencies)
                if partner != a:
                    link_rows.append((task_id, partner, "coordinating", 0))
        con.executemany(
            "INSERT INTO task (id, plan_id, section_id, number, code, content, timeframe_text, start_on, end_on,"
            " lead_text, coordinating_text, responsible) VALUES (?, 1, ?, ?, ?, ?, 'Cả năm', ?, ?, '', '', '')",
            task_rows,
        )
        con.executemany(
            "INSERT INTO task_agency (task_id, agency_id, role, position) VALUES (?, ?, ?, ?)", link_rows
        )
        con.executemany(
            "INSERT INTO member (id, name, role, agency_id, status, language, reachable, created_at)"
            " VALUES (?, ?, 'focal', ?, 'active', 'vi', ?, ?)",
            ((a, f"Cán bộ {a}", a, a % 97 != 0, now) for a in range(1, agencies + 1)),
        )
        total_tasks = agencies * tasks_per_agency
        start = dt.datetime(2020, 1, 2)
        span = (dt.datetime(2020, 11, 20) - start).total_seconds()
        moments = sorted(start + dt.timedelta(seconds=rng.random() * span) for _ in range(updates))

        def update_rows():
            for moment in moments:
                task_id = rng.randint(1, total_tasks)
                agency_id = (task_id - 1) // tasks_per_agency + 1
                cycle = DEADLINES[0] if moment.date() <= DEADLINES[0] else DEADLINES[1]
                yield (
                    task_id,
                    agency_id,
                    agency_id,
                    rng.choices(STATUSES, STATUS_WEIGHTS)[0],
                    "Đã triển khai theo kế hoạch, đăng tải tin bài trên cổng thông tin",
                    cycle.isoformat(),
                    moment.strftime("%Y-%m-%d %H:%M:%S.%f"),
                )

        con.executemany(
            "INSERT INTO progress_update (task_id, agency_id, member_id, status, note, cycle, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            update_rows(),
        )
        # Rows inserted behind the application's back: fill the newest-update table as the
        # migration that introduced it does.
        con.execute(LATEST.BACKFILL)
        con.execute(TASK_LATEST.BACKFILL)
    con.execute("ANALYZE")
    con.close()


# What each measured summary details: the first blocked and overdue tasks, as /tonghop lists them;
# none (the counts alone, as the Plans list and /kehoach read them); every task needing attention
# (what /tonghop read before it listed only the first ones: no view asks for it now, kept to compare);
# every task (exports). EARLIER is /tonghop for the first cycle, closed by the day asked, whose tasks
# all have words of the second: the statement that seeks each task's word in the cycle.
CHAT = "chat"
COUNTS = "counts"
EARLIER = "earlier"
SHAPES = {
    CHAT: f"counts + the first {ATTENTION_SHOWN} blocked and {ATTENTION_SHOWN} overdue tasks detailed (/tonghop)",
    EARLIER: "the same for the earlier cycle (/tonghop of a past cycle)",
    COUNTS: "counts only (Plans list, /kehoach)",
    ATTENTION: "counts + every blocked/overdue task detailed (/tonghop before it listed the first only)",
    ALL: "full detail (exports)",
}
PICKS = {
    CHAT: attention_first(ATTENTION_SHOWN),
    EARLIER: attention_first(ATTENTION_SHOWN),
    COUNTS: counts_only,
}


async def measure(path: Path, runs: int, detail: str) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per run. CPU time counts every thread of this process (the
    database driver works in one of its own), so it shows the work even when other programs
    compete for the two cores and stretch the wall-clock figure."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    # A world kept from an earlier run is brought to the current schema (its indexes), as the
    # bot's start-up does.
    await upgrade(db)
    timings, cpu = [], []
    try:
        for _ in range(runs):
            async with db.snapshot() as session:
                began, began_cpu = time.perf_counter(), time.process_time()
                summary = await build_summary(
                    session,
                    1,
                    cycle=DEADLINES[0] if detail == EARLIER else DEADLINES[1],
                    today=dt.date(2020, 11, 25),
                    detail=ALL if detail == ALL else ATTENTION,
                    pick=PICKS.get(detail),
                )
                timings.append((time.perf_counter() - began) * 1000)
                cpu.append((time.process_time() - began_cpu) * 1000)
        if detail in (CHAT, EARLIER, ATTENTION):
            # What the coordinator waits for besides: the summary written out as chat pages (the
            # first time in a process also loads the translations: not counted).
            written = []
            with use_language("vi"):
                for _ in range(runs + 1):
                    began = time.perf_counter()
                    pages = summary_pages(summary, limit=4096, tz=DEFAULT_TZ)
                    written.append((time.perf_counter() - began) * 1000)
            print(
                f"  detail={detail}: written as {len(pages)} chat pages of at most 4,096 characters"
                f" in {statistics.median(written[1:]):.0f} ms (median)"
            )
        print(
            f"  detail={detail}: {summary.total} tasks ({len(summary.tasks)} detailed),"
            f" {len(summary.reported_agencies)}/{len(summary.expected_agencies)} agencies reported,"
            f" {summary.reported_counts['blocked']} blocked, {summary.timing_counts['overdue']} overdue"
        )
    finally:
        await db.dispose()
    return timings, cpu


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=3000)
    parser.add_argument("--tasks", type=int, default=20, help="tasks per agency")
    parser.add_argument("--updates", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the database at this path")
    parser.add_argument("--grid", action="store_true", help="print the growth table")
    parser.add_argument("--scale", type=int, default=1, help="divide the grid's sizes by this")
    parser.add_argument("--cache", type=Path, help="where the grid's databases are kept")
    parser.add_argument("--detail", choices=tuple(SHAPES), default=CHAT, help="grid only")
    args = parser.parse_args()
    if args.grid:
        return await grid(args)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.db"
        if not path.exists():
            began = time.perf_counter()
            db = Database(f"sqlite+aiosqlite:///{path}")
            await upgrade(db)
            await db.dispose()
            fill(path, agencies=args.agencies, tasks_per_agency=args.tasks, updates=args.updates)
            print(
                f"built {path.name}: {path.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - began:.1f} s"
            )
        results = {detail: await measure(path, args.runs, detail) for detail in SHAPES}
    print(f"machine: {machine()}")
    size = f"{args.agencies} agencies × {args.tasks} tasks, {args.updates:,} updates"
    for detail, (timings, cpu) in results.items():
        median = statistics.median(timings)
        print(
            f"build_summary {SHAPES[detail]}, {size}: median {median:.0f} ms over {len(timings)} runs"
            f" (min {min(timings):.0f}, max {max(timings):.0f}), CPU median {statistics.median(cpu):.0f} ms"
            + (f"; target < {TARGET_MS} ms" if detail in (CHAT, COUNTS) else "")
        )
    return 0


def grid_cache(args) -> Path:
    """Where the growth table's worlds are kept (`--cache`, or a new temporary folder)."""
    cache = args.cache or Path(tempfile.mkdtemp(prefix="bench-summary-"))
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def grid_sizes(scale: int = 1) -> list[tuple[int, int]]:
    """(agencies, updates) of the growth table: updates grow at 3,000 agencies, then agencies at
    1,000,000 updates; every size divided by `scale`."""
    sizes = [(3_000 // scale, n // scale) for n in GRID_UPDATES]
    return sizes + [(a // scale, 1_000_000 // scale) for a in GRID_AGENCIES if a != 3_000]


async def world(cache: Path, agencies: int, tasks: int, updates: int) -> Path:
    """The database for one size, built once."""
    path = cache / f"summary-{agencies}x{tasks}-{updates}.db"
    if not path.exists():
        began = time.perf_counter()
        db = Database(f"sqlite+aiosqlite:///{path}")
        await upgrade(db)
        await db.dispose()
        fill(path, agencies=agencies, tasks_per_agency=tasks, updates=updates)
        print(f"  built {path.name} in {time.perf_counter() - began:.0f} s", flush=True)
    return path


async def grid(args) -> int:
    """The growth table: each size against the one before it, wall and CPU medians, CPU per task."""
    cache, rows = grid_cache(args), []
    for agencies, updates in grid_sizes(args.scale):
        path = await world(cache, agencies, args.tasks, updates)
        timings, cpu = await measure(path, args.runs, args.detail)
        rows.append((agencies, updates, statistics.median(timings), statistics.median(cpu)))
    print(f"machine: {machine()}")
    print(f"build_summary detail={args.detail}, {args.tasks} tasks per agency, medians of {args.runs} runs")
    print(f"{'agencies':>9} {'tasks':>8} {'updates':>10} {'wall ms':>9} {'CPU ms':>8} {'CPU µs/task':>12}")
    for agencies, updates, wall, cpu in rows:
        tasks = agencies * args.tasks
        print(
            f"{agencies:>9,} {tasks:>8,} {updates:>10,} {wall:>9.0f} {cpu:>8.0f} {1000 * cpu / tasks:>12.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
