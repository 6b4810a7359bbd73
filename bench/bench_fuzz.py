"""Property-based fuzzing of the chat core with 100,000 inputs, and 50 malformed plan files.

Inputs of every kind (commands with random arguments, free text in any script, numbers, real,
stale, foreign and forged buttons, edits, files, invite codes valid, used, expired or made up,
re-delivered updates, group chats) from seven people in every role, on a real SQLite file, through
`bot.groups.screen` and `Core.handle` as a transport calls them. Each must be handled without an
internal failure, answered in its reader's language, and leave the database consistent (see
tests/faults/fuzz.py). Then 50 generated malformed plan files go through the importer: each must be
refused with a message or imported whole, never half (see tests/faults/plans.py). Last, the exports:
hostile notes, names and agency names (formulas, characters XML refuses, HTML and links, any
Unicode) go into every format, and each file is opened the way its reader opens it (openpyxl,
python-docx, a CSV reader, a Markdown renderer): it must open and show user text as text (see
tests/faults/exports.py).

Printed: inputs, inputs per second, the problems found (the first few in full), the plan verdicts and
the export files checked. Target: 0 problems.

    python bench/bench_fuzz.py [--inputs N] [--seed N] [--plans N] [--exports N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bench.machine import machine  # noqa: E402
from bot.cli import main as nhacviec  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.bot.render.conftest import load_sample  # noqa: E402
from tests.conftest import SAMPLE_PLAN  # noqa: E402
from tests.faults.exports import CHECKS, check_all_formats, hostile_text, plant  # noqa: E402
from tests.faults.fuzz import COUNTED, LoopThread, open_world, steps  # noqa: E402
from tests.faults.plans import run_all  # noqa: E402

STEPS_PER_EXAMPLE = 8


def fuzz(inputs: int, seed_value: int, workdir: Path) -> tuple[int, float, list[str]]:
    loop = LoopThread()
    db = Database(f"sqlite+aiosqlite:///{workdir / 'fuzz.db'}")
    loop.run(upgrade(db))
    world = open_world(db, loop)
    problems: list[str] = []

    @seed(seed_value)
    @settings(
        max_examples=inputs // (STEPS_PER_EXAMPLE // 2) + 1,
        deadline=None,
        database=None,
        # Shrinking a failure is for the test suite; here we count and show failures.
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(steps, min_size=1, max_size=STEPS_PER_EXAMPLE))
    def conversation(sequence):
        for step in sequence:
            if world.inputs >= inputs:
                return
            problems.extend(loop.run(world.step(step)))

    started = time.perf_counter()
    conversation()
    seconds = time.perf_counter() - started
    counts = dict(zip(COUNTED, loop.run(world.counts()), strict=True))
    print(f"  stored afterwards: {counts}")
    loop.run(world.teardown())
    loop.run(db.dispose())
    loop.close()
    print(f"  kinds: {dict(sorted(world.kinds.items()))}")
    return world.inputs, seconds, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20200424)
    parser.add_argument("--plans", type=int, default=50)
    parser.add_argument("--exports", type=int, default=300, help="hostile summaries, each in every format")
    args = parser.parse_args()
    # The fuzzer's own handler on the root logger takes the errors; nothing else is printed.
    logging.getLogger().setLevel(logging.WARNING)
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="nhacviec-fuzz-") as tmp:
        inputs, seconds, problems = fuzz(args.inputs, args.seed, Path(tmp))
    # The same fault met again and again (one person stuck in one state) counts once per kind.
    kinds: dict[str, str] = {}
    for problem in problems:
        kinds.setdefault(problem.split(" for Incoming")[0][:120], problem)
    print(f"chat core: {inputs} inputs in {seconds:.0f} s ({inputs / seconds:.0f}/s)")
    print(f"  problems: {len(problems)} ({len(kinds)} kinds)")
    for problem in list(kinds.values())[:10]:
        print(f"    {problem[:600]}")
    ok = not problems
    if args.plans:
        ok = plans(args.plans, args.seed) and ok
    if args.exports:
        ok = exports(args.exports, args.seed) and ok
    print(f"verdict: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def plans(count: int, seed_value: int) -> bool:
    """The malformed plan files, through `nhacviec plan import`, on a fresh SQLite file."""
    with tempfile.TemporaryDirectory(prefix="nhacviec-plans-") as tmp:
        directory = Path(tmp)
        url = f"sqlite+aiosqlite:///{directory / 'plans.db'}"
        with contextlib.redirect_stdout(io.StringIO()):
            nhacviec(["--db", url, "plan", "import", str(SAMPLE_PLAN)])
        started = time.perf_counter()
        verdicts = run_all(directory, url, count=count, seed=seed_value)
        seconds = time.perf_counter() - started
    refused = sum(not v.accepted for v in verdicts)
    bad = [v for v in verdicts if v.problems]
    print(
        f"plan files: {len(verdicts)} in {seconds:.1f} s: {refused} refused, {len(verdicts) - refused} imported whole"
    )
    print(f"  problems: {len(bad)}")
    for verdict in bad[:5]:
        print(f"    {verdict.path.name}: {'; '.join(verdict.problems)[:400]}")
    return not bad


def exports(count: int, seed_value: int) -> bool:
    """`count` summaries of the sample plan with hostile text planted, each written in every format
    and opened again."""
    loop = LoopThread()
    with tempfile.TemporaryDirectory(prefix="nhacviec-exports-") as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'exports.db'}")
        loop.run(upgrade(db))
        summary = loop.run(load_sample(db)).summary
        loop.run(db.dispose())
    loop.close()
    problems: list[str] = []
    examples = 0

    @seed(seed_value)
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(hostile_text, min_size=1, max_size=3), hostile_text, hostile_text)
    def hostile_summary(notes, name, agency_name):
        nonlocal examples
        examples += 1
        plant(summary, notes, name, agency_name)
        problems.extend(check_all_formats(summary))

    started = time.perf_counter()
    hostile_summary()
    seconds = time.perf_counter() - started
    files = examples * len(CHECKS)
    print(f"exports: {files} files ({examples} hostile summaries x {len(CHECKS)} formats) in {seconds:.1f} s")
    print(f"  problems: {len(problems)}")
    for problem in list(dict.fromkeys(problems))[:5]:
        print(f"    {problem[:400]}")
    return not problems


if __name__ == "__main__":
    sys.exit(main())
