"""The dashboard's plan overview for a province-sized plan, over HTTP on 127.0.0.1.

3,000 agencies × 20 tasks (60,000 tasks) and 1,000,000 progress updates in a real SQLite file (the
same world as bench_summary.py). A coordinator signs in through /web as a person would; then the
overview page is fetched several times, unfiltered, filtered and paged, then the Plans list, an
agency's page and a task's page. Prints the median server time (request to last byte on loopback)
and the HTML size. Target for the overview: < 500 ms, < 2 MB.

`--grid` prints the growth table of the unfiltered overview instead (updates 10k, 100k, 1M at 3,000
agencies, then agencies 300, 3,000, 30,000 at 1M updates; the summary benchmark's worlds, built once
into `--cache DIR`).

    python bench/bench_web.py [--agencies N] [--tasks N] [--updates N] [--runs N] [--keep FILE]
    python bench/bench_web.py --grid [--scale N] [--runs N] [--cache DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_summary import fill, grid_cache, grid_sizes, world  # noqa: E402
from bench.machine import machine  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.core.messages import Incoming  # noqa: E402
from bot.core.service import Core  # noqa: E402
from bot.web.server import start_web_server  # noqa: E402
from scheduler.clock import ManualClock  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import ensure_schema, upgrade  # noqa: E402
from storage.models import Identity, Member  # noqa: E402

TARGET_MS = 500
TARGET_BYTES = 2 * 2**20


async def sign_in(app: App, core: Core, http: aiohttp.ClientSession) -> None:
    async with app.db.transaction() as session:
        known = await session.scalar(select(Identity).where(Identity.external_id == "coord"))
    if known is None:
        await _add_coordinator(app)
    replies = await core.handle(Incoming(platform="console", chat_id="coord", user_id="coord", text="/web"))
    link = re.search(r"http\S+/login/\S+", replies[0].text).group(0)
    async with http.post(link) as response:
        assert response.status == 200, response.status


async def _add_coordinator(app: App) -> None:
    async with app.db.transaction() as session:
        member = Member(
            name="Điều phối", role="coordinator", status="active", language="vi", created_at=app.clock.now()
        )
        session.add(member)
        await session.flush()
        session.add(
            Identity(
                member_id=member.id,
                platform="console",
                external_id="coord",
                chat_id="coord",
                created_at=app.clock.now(),
            )
        )


async def fetch(http: aiohttp.ClientSession, url: str, runs: int) -> tuple[list[float], list[float], int]:
    """Wall-clock and CPU milliseconds per request, and the page's size. The server runs in this
    process, so CPU time counts its work (and the client's, which is small) even when other
    programs stretch the wall clock on a shared machine."""
    timings, cpu, size = [], [], 0
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        async with http.get(url) as response:
            body = await response.read()
            assert response.status == 200, response.status
        timings.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
        size = len(body)
    return timings, cpu, size


async def overview_timings(path: Path, runs: int) -> dict[str, tuple[list[float], list[float], int]]:
    """Serve the database at `path` and fetch the overview `runs` times (unfiltered, filtered to one
    agency, overdue only, a later page), then the other pages that read the plan."""
    config = load_config(env={})
    config.web.port = 0
    app = App(
        config=config,
        db=Database(f"sqlite+aiosqlite:///{path}"),
        clock=ManualClock(dt.datetime(2020, 11, 25, 2, 0, tzinfo=dt.UTC)),
    )
    # A kept database from an earlier release gets this release's indexes first.
    await ensure_schema(app.db)
    core = Core(app)
    server = await start_web_server(app, core=core)
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await sign_in(app, core, http)
            await fetch(http, f"{server.url}/plans/1", 1)  # warm the caches once
            return {
                "overview": await fetch(http, f"{server.url}/plans/1", runs),
                "overview, one agency": await fetch(http, f"{server.url}/plans/1?agency=42", runs),
                "overview, overdue only": await fetch(http, f"{server.url}/plans/1?overdue=1", runs),
                "overview, page 40 of tasks": await fetch(
                    http, f"{server.url}/plans/1?page=40&apage=20", runs
                ),
                "plans list": await fetch(http, f"{server.url}/", runs),
                "agency page": await fetch(http, f"{server.url}/plans/1/agencies/42", runs),
                "task page": await fetch(http, f"{server.url}/plans/1/tasks/1234", runs),
            }
    finally:
        await server.stop()
        await app.close()


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
    args = parser.parse_args()
    if args.grid:
        return await grid(args)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.db"
        if not path.exists():
            db = Database(f"sqlite+aiosqlite:///{path}")
            await upgrade(db)
            await db.dispose()
            fill(path, agencies=args.agencies, tasks_per_agency=args.tasks, updates=args.updates)
        results = await overview_timings(path, args.runs)
    print(f"machine: {machine()}")
    size = f"{args.agencies} agencies × {args.tasks} tasks, {args.updates:,} updates"
    for what, (timings, cpu, body) in results.items():
        print(
            f"web {what}, {size}: median {statistics.median(timings):.0f} ms over {len(timings)} runs"
            f" (min {min(timings):.0f}, max {max(timings):.0f}), CPU median {statistics.median(cpu):.0f} ms,"
            f" {body / 1024:.0f} KiB of HTML"
            + (
                f"; target < {TARGET_MS} ms, < {TARGET_BYTES // 2**20} MiB"
                if what.startswith("overview")
                else ""
            )
        )
    return 0


async def grid(args) -> int:
    """The growth table of the unfiltered overview, on the summary benchmark's worlds."""
    cache, rows = grid_cache(args), []
    for agencies, updates in grid_sizes(args.scale):
        path = await world(cache, agencies, args.tasks, updates)
        timings, cpu, body = (await overview_timings(path, args.runs))["overview"]
        rows.append((agencies, updates, statistics.median(timings), statistics.median(cpu), body))
    print(f"machine: {machine()}")
    print(f"web overview (unfiltered), {args.tasks} tasks per agency, medians of {args.runs} requests")
    print(
        f"{'agencies':>9} {'tasks':>8} {'updates':>10} {'wall ms':>9} {'CPU ms':>8} {'CPU µs/task':>12} {'HTML KiB':>9}"
    )
    for agencies, updates, wall, cpu, body in rows:
        tasks = agencies * args.tasks
        print(
            f"{agencies:>9,} {tasks:>8,} {updates:>10,} {wall:>9.0f} {cpu:>8.0f} {1000 * cpu / tasks:>12.1f}"
            f" {body / 1024:>9.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
