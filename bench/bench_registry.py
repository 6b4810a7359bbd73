"""How long the agency registry's changes take at a city's size, on SQLite.

- `agencies group` for the 126 communes and wards of a city (members registered as they come);
- the assignments the chat reads when a plan's tasks are led by that group (each ward its own unit);
- `agencies merge` of a department that leads `--tasks` open tasks, with `--reminders` pending
  reminders for its focal points.

    python bench/bench_registry.py [--wards N] [--tasks N] [--reminders N] [--runs N]
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

from bench.machine import machine  # noqa: E402
from storage import registry  # noqa: E402
from storage.assignments import assigned_tasks  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Agency, Member, Plan, Reminder, Section, Task, TaskAgency  # noqa: E402
from storage.models.plan import LEAD  # noqa: E402
from storage.text import fold  # noqa: E402

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)


async def build(db: Database, *, wards: int, tasks: int, reminders: int) -> int:
    """A 2026 plan: one section for the wards' group (20 tasks), one for Sở TTTT (`tasks` tasks)."""
    async with db.transaction() as session:
        tttt = Agency(
            name="Sở Thông tin và Truyền thông", key=fold("Sở Thông tin và Truyền thông"), created_at=NOW
        )
        group = Agency(
            name="UBND các xã, phường", key=fold("UBND các xã, phường"), is_group=True, created_at=NOW
        )
        session.add_all([tttt, group])
        plan = Plan(number="1/KH-BENCH", year=2026, title="Kế hoạch đo", reporting_deadlines=["2026-06-20"])
        session.add(plan)
        await session.flush()
        for position, (owner, count) in enumerate(((group, 20), (tttt, tasks)), start=1):
            section = Section(plan_id=plan.id, numeral=str(position), position=position, heading=owner.name)
            section.agency_id = owner.id
            session.add(section)
            await session.flush()
            rows = [
                Task(
                    plan_id=plan.id,
                    section_id=section.id,
                    number=n,
                    code=f"{position}.{n}",
                    content=f"Nhiệm vụ {n}",
                    end_on=dt.date(2026, 12, 31),
                )
                for n in range(1, count + 1)
            ]
            session.add_all(rows)
            await session.flush()
            session.add_all(TaskAgency(task_id=t.id, agency_id=owner.id, role=LEAD) for t in rows)
        focal = Member(name="Đầu mối", role="focal", agency_id=tttt.id, created_at=NOW)
        session.add(focal)
        await session.flush()
        session.add_all(
            Reminder(
                key=f"r{n}",
                chain=f"c{n}",
                plan_id=plan.id,
                kind="report",
                deadline_kind="report",
                deadline=dt.date(2026, 6, 20),
                offset_days=n,
                agency_id=tttt.id,
                member_id=focal.id,
                due_at=NOW,
                available_at=NOW,
                expires_at=NOW + dt.timedelta(days=120),
            )
            for n in range(reminders)
        )
        return plan.id


async def run_once(path: Path, args) -> dict[str, float]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    plan_id = await build(db, wards=args.wards, tasks=args.tasks, reminders=args.reminders)
    figures = {}
    began = time.perf_counter()
    async with db.transaction() as session:
        await registry.define_group(
            session, "UBND các xã, phường", [f"UBND phường Số {n}" for n in range(1, args.wards + 1)]
        )
    figures["group"] = time.perf_counter() - began
    began = time.perf_counter()
    async with db.snapshot() as session:
        assignments = await assigned_tasks(session, plan_id)
    figures["assignments"] = time.perf_counter() - began
    assert len(assignments.by_agency) >= args.wards
    began = time.perf_counter()
    async with db.transaction() as session:
        change = await registry.merge(
            session,
            ["Sở Thông tin và Truyền thông"],
            into="Sở Khoa học và Công nghệ",
            on=dt.date(2025, 3, 1),
            today=TODAY,
        )
    figures["merge"] = time.perf_counter() - began
    assert change.moved_tasks == args.tasks and change.moved_reminders == args.reminders
    await db.dispose()
    return figures


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wards", type=int, default=126)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--reminders", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            for name, seconds in (await run_once(Path(tmp) / f"bench{run}.db", args)).items():
                results.setdefault(name, []).append(seconds * 1000)
    print(f"machine: {machine()}")
    labels = {
        "group": f"agencies group of {args.wards} wards (registered as they come)",
        "assignments": f"assignments of a plan whose 20 tasks are led by the group of {args.wards}",
        "merge": f"agencies merge: {args.tasks} open tasks and {args.reminders:,} pending reminders moved",
    }
    for name, timings in results.items():
        print(f"{labels[name]}: median {statistics.median(timings):.0f} ms over {len(timings)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
