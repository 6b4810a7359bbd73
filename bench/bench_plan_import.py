"""How long a plan import takes: parsing, the first import, and a re-import that changes nothing.

Measured on the shipped sample plan (7 sections, 30 tasks) and on a large generated plan in the same
format (a ministry-sized appendix: 60 sections × 40 tasks = 2,400 tasks, page breaks every 12 rows,
multi-agency cells), into a real migrated SQLite file. Prints medians of several runs.

    python bench/bench_plan_import.py [--sections N] [--tasks N] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.plans.importer import SAMPLE_PLAN, import_parsed_plan  # noqa: E402
from storage.plans.parser import parse_plan_file  # noqa: E402

HEADER = "TT\tNội dung, quy mô công việc\tTiến độ thời gian\tCơ quan phụ trách\tCơ quan phối hợp\tPhân công phụ trách"
TIMEFRAMES = [
    "Cả năm",
    "Quý IV/2021",
    "Quý III, IV/2021",
    "Tháng 6/2021",
    "Trước ngày 30/6/2021",
    "Thường xuyên",
]


def large_plan(path: Path, sections: int, tasks: int) -> Path:
    body = SAMPLE_PLAN.read_text(encoding="utf-8")
    lines = [body[: body.index("TT\tNội dung")].replace("45", "99", 1), HEADER]
    rows = 0
    for s in range(1, sections + 1):
        lines.append(f"<b>{roman(s)}</b>\t<b>BAN QUẢN LÝ DỰ ÁN SỐ {s}</b>\t\t\t\t")
        for t in range(1, tasks + 1):
            rows += 1
            if rows % 12 == 0:
                lines += ["", HEADER]
            lines.append(
                f"{t}\tNhiệm vụ {t} của ban {s}: triển khai, theo dõi và báo cáo kết quả thực hiện.\t"
                f"{TIMEFRAMES[t % len(TIMEFRAMES)]}\tBan Quản lý dự án số {s}\t"
                f"Sở Thông tin và Truyền thông, Sở Tài chính và các cơ quan liên quan\tTrưởng ban {s}"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def roman(number: int) -> str:
    out = ""
    for value, letters in (
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ):
        while number >= value:
            out += letters
            number -= value
    return out


async def measure(plan_file: Path, template: Path, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"parse": [], "first import": [], "unchanged re-import": []}
    for run in range(runs):
        start = time.perf_counter()
        parsed = parse_plan_file(plan_file)
        times["parse"].append(time.perf_counter() - start)
        target = template.with_name(f"run{run}.db")
        shutil.copy(template, target)
        db = Database(f"sqlite+aiosqlite:///{target}")
        try:
            for label in ("first import", "unchanged re-import"):
                parsed = parse_plan_file(plan_file)
                start = time.perf_counter()
                async with db.transaction() as session:
                    await import_parsed_plan(session, parsed)
                times[label].append(time.perf_counter() - start)
        finally:
            await db.dispose()
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=60)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.db"
        db = Database(f"sqlite+aiosqlite:///{template}")
        await upgrade(db)
        await db.dispose()
        large = large_plan(Path(tmp) / "large.txt", args.sections, args.tasks)
        for name, plan_file in (
            ("sample plan (30 tasks)", SAMPLE_PLAN),
            (f"generated plan ({args.sections * args.tasks} tasks)", large),
        ):
            times = await measure(plan_file, template, args.runs)
            figures = ", ".join(f"{label} {statistics.median(v) * 1000:.0f} ms" for label, v in times.items())
            print(f"{name}: median of {args.runs} runs: {figures}")


if __name__ == "__main__":
    asyncio.run(main())
