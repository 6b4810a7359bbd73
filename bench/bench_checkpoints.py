"""What SQLite's WAL checkpoints cost chat messages: copied inside the commit that fills the WAL
(SQLite's default, and any process that is not serving) against copied on a worker thread while
the bot serves (storage.checkpoints).

The chat core alone on a real SQLite file (300 focal points, the reports mix of bench_telegram:
one-line updates, task lists, help), one message after another as fast as it answers. Prints, for
each way, the wall time per message: median, p99, p99.9, the largest, how many took over 5 ms,
the checkpoints made and the process's CPU per message
(the worker thread's included); the two ways alternate, `--runs` pairs.

    python bench/bench_checkpoints.py [--messages N] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_telegram import _incoming, percentile, reports_mix, warmed_core  # noqa: E402
from bench.machine import machine  # noqa: E402
from storage.checkpoints import Checkpoint  # noqa: E402

SLOW_MS = 5.0
WAYS = ("in the commit", "in the background")


async def one_run(directory: Path, members: int, messages: int, background: bool) -> dict:
    made: list[Checkpoint] = []
    async with warmed_core(directory, members, "checkpoints-") as (app, core, ids):
        copying = (
            app.db.checkpoints_in_background(on_checkpoint=made.append)
            if background
            else contextlib.nullcontext()
        )
        times = []
        cpu_began = time.process_time()
        async with copying:
            for n in range(messages):
                began = time.perf_counter()
                await core.handle(_incoming(ids[n % len(ids)], reports_mix(n), f"m{n}"))
                times.append((time.perf_counter() - began) * 1000)
        # Every thread of the process: the worker's checkpoints count too.
        cpu_ms = (time.process_time() - cpu_began) * 1000 / messages
    return {
        "median": statistics.median(times),
        "p99": percentile(times, 0.99),
        "p999": percentile(times, 0.999),
        "max": max(times),
        "slow": sum(1 for ms in times if ms > SLOW_MS),
        "checkpoints": len(made),
        "cpu": cpu_ms,
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3, help="pairs of runs, the two ways alternating")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    results: dict[bool, list[dict]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            for background in (False, True):
                results[background].append(await one_run(Path(tmp), args.members, args.messages, background))
    print(
        f"{args.messages} chat messages (reports mix) per run, {args.members} focal points, {args.runs} runs each way"
    )
    for background in (False, True):
        runs = results[background]

        def figure(key: str, runs=runs) -> str:
            return "/".join(f"{run[key]:.1f}" for run in runs)

        print(
            f"WAL copied {WAYS[background]:<17}: wall ms per message median {figure('median')},"
            f" p99 {figure('p99')}, p99.9 {figure('p999')}, max {figure('max')};"
            f" over {SLOW_MS:.0f} ms: {'/'.join(str(run['slow']) for run in runs)} messages;"
            f" CPU ms per message (every thread) {figure('cpu')}"
            + (f"; checkpoints {'/'.join(str(run['checkpoints']) for run in runs)}" if background else "")
        )
    print(f"after: {machine()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
