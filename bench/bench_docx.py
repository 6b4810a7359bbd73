"""How long the draft DOCX report takes for a real plan.

Imports the reference plan (Hanoi 87/KH-UBND, beside the repository) when present, else the sample
plan shipped in storage/samples, into a fresh SQLite file; gives about two thirds of its tasks an
update; then times `export_summary(…, "docx")` — the summary, the chart and the document, what
`/xuat docx` does — over several runs and prints the median. Target: < 1 s.

    python bench/bench_docx.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from bench.machine import machine  # noqa: E402
from bot.render.exports import export_summary  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Member, ProgressUpdate, Task, TaskAgency  # noqa: E402
from storage.models.plan import LEAD  # noqa: E402
from storage.plans.importer import import_plan_file  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REFERENCE_PLAN = REPO.parent / "shared" / "plans" / "ke-hoach-87-KH-UBND-2020.txt"
SAMPLE_PLAN = REPO / "storage" / "samples" / "ke-hoach-mau.txt"
TARGET_MS = 1000
NOTES = [
    "Đã phát sóng 12 chương trình trên kênh truyền hình đối ngoại",
    "Đang phối hợp với các cơ quan liên quan triển khai",
    "Chưa bố trí được kinh phí, đề nghị Sở Tài chính xem xét hỗ trợ",
    "Đã xuất bản 6 số đặc san song ngữ, phát hành tại các sự kiện đối ngoại",
]


async def prepare(path: Path, plan_file: Path) -> tuple[Database, int, dt.date, dt.date]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    rng = random.Random(87)
    async with db.transaction() as session:
        report = await import_plan_file(session, plan_file)
        cycle = dt.date.fromisoformat(report.reporting_deadlines[0])
        tasks = (await session.scalars(select(Task).where(Task.plan_id == report.plan_id))).all()
        links = (await session.scalars(select(TaskAgency).where(TaskAgency.role == LEAD))).all()
        lead = {link.task_id: link.agency_id for link in links}
        members: dict[int, Member] = {}
        for task in tasks:
            agency_id = lead.get(task.id)
            if agency_id is None or rng.random() < 0.33:
                continue
            if agency_id not in members:
                members[agency_id] = Member(
                    name=f"Cán bộ đầu mối {agency_id}", role="focal", agency_id=agency_id
                )
                session.add(members[agency_id])
                await session.flush()
            session.add(
                ProgressUpdate(
                    task_id=task.id,
                    agency_id=agency_id,
                    member_id=members[agency_id].id,
                    status=rng.choices(["in_progress", "done", "blocked", "not_started"], [50, 35, 8, 7])[0],
                    note=rng.choice(NOTES),
                    cycle=cycle,
                    created_at=dt.datetime.combine(
                        cycle - dt.timedelta(days=rng.randint(1, 40)), dt.time(3), dt.UTC
                    ),
                )
            )
    return db, report.plan_id, cycle, cycle - dt.timedelta(days=5)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    plan_file = REFERENCE_PLAN if REFERENCE_PLAN.exists() else SAMPLE_PLAN
    with tempfile.TemporaryDirectory() as tmp:
        db, plan_id, cycle, today = await prepare(Path(tmp) / "bench.db", plan_file)
        timings, cpu, size = [], [], 0
        try:
            for _ in range(args.runs + 1):
                async with db.snapshot() as session:
                    began, began_cpu = time.perf_counter(), time.process_time()
                    document = await export_summary(
                        session, plan_id, "docx", cycle=cycle, today=today, language="vi"
                    )
                    timings.append((time.perf_counter() - began) * 1000)
                    cpu.append((time.process_time() - began_cpu) * 1000)
                    size = len(document.content)
        finally:
            await db.dispose()
    first, runs = timings[0], timings[1:]
    print(f"machine: {machine()}")
    print(
        f"DOCX report for {plan_file.name} ({size / 1024:.0f} KB, chart included): median {statistics.median(runs):.0f} ms"
        f" over {len(runs)} runs (min {min(runs):.0f}, max {max(runs):.0f}, CPU median"
        f" {statistics.median(cpu[1:]):.0f} ms; first run in the process"
        f" {first:.0f} ms, loading matplotlib's fonts); target < {TARGET_MS} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
