"""How fast the chat core answers, without any transport: `Core.handle` on a real SQLite file, and
on PostgreSQL with `--databases sqlite,postgres` (a fresh database of its own per run).

The reference-sized plan (12 agencies, 64 tasks) with one focal point per agency and a coordinator.
Each run sends, one after another as a transport would: task lists (/nhiemvu), one-line updates
(/capnhat N hoàn thành …, a write that also cancels reminders), guided-flow steps, and coordinator
summaries (/tonghop). Prints the median per message and messages per second for each kind.

A department keeps the plans it followed for years: `--kept-plans` measures the same messages beside
that many plans of earlier years (ended on their own, or closed), one row per count, to show what a
message costs as they pile up.

The CPU figures are this process's (the chat core and its driver); PostgreSQL's server works in
its own processes, which they leave out.

    python bench/bench_core.py [--messages N] [--runs N] [--kept-plans 0,100] [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.machine import machine  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.core.messages import Incoming  # noqa: E402
from bot.core.service import Core  # noqa: E402
from scheduler.clock import ManualClock  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models.people import ACTIVE, COORDINATOR, FOCAL, Identity, Member, ProgressUpdate  # noqa: E402
from storage.models.plan import LEAD, Agency, Plan, Section, Task, TaskAgency  # noqa: E402
from tests.faults.harness import postgres_database  # noqa: E402

PG_URL = os.environ.get("NHACVIEC_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

AGENCIES = 12
TASKS_PER_AGENCY = 5  # 60 tasks, about the reference plan's 64
START = dt.datetime(2020, 6, 1, 1, 0, tzinfo=dt.UTC)


async def seed(db: Database, kept_plans: int = 0) -> None:
    async with db.transaction() as session:
        plan = Plan(
            number="87/KH-UBND",
            year=2020,
            reporting_deadlines=["2020-06-20", "2020-11-20"],
            imported_at=START,
        )
        session.add(plan)
        agencies = [
            Agency(name=f"Sở số {number}", key=f"so so {number}", created_at=START)
            for number in range(1, AGENCIES + 1)
        ]
        session.add_all(agencies)
        await session.flush()
        await sections(
            session, plan, agencies, "Nhiệm vụ {index} của {agency}: tuyên truyền đối ngoại trên các kênh"
        )
        for number, agency in enumerate(agencies, start=1):
            member = Member(
                name=f"Đầu mối {number}", role=FOCAL, agency_id=agency.id, status=ACTIVE, created_at=START
            )
            session.add(member)
            await session.flush()
            session.add(
                Identity(
                    member_id=member.id, platform="bench", external_id=f"f{number}", chat_id=f"f{number}"
                )
            )
        boss = Member(name="Điều phối", role=COORDINATOR, status=ACTIVE, created_at=START)
        session.add(boss)
        await session.flush()
        session.add(Identity(member_id=boss.id, platform="bench", external_id="boss", chat_id="boss"))
        await kept(session, agencies, kept_plans)


async def sections(session, plan: Plan, agencies: list[Agency], content: str) -> list[tuple[Task, int]]:
    """A section per agency, of TASKS_PER_AGENCY tasks it leads, lasting the plan's year: each task
    with its agency's id."""
    tasks = []
    for number, agency in enumerate(agencies, start=1):
        section = Section(
            plan_id=plan.id, numeral=f"S{number}", position=number, heading=agency.name, agency_id=agency.id
        )
        session.add(section)
        await session.flush()
        own = [
            Task(
                plan_id=plan.id,
                section_id=section.id,
                number=index,
                code=f"S{number}.{index}",
                content=content.format(index=index, agency=agency.name, year=plan.year),
                timeframe_text="Cả năm",
                end_on=dt.date(plan.year, 12, 31),
            )
            for index in range(1, TASKS_PER_AGENCY + 1)
        ]
        session.add_all(own)
        await session.flush()
        session.add_all(TaskAgency(task_id=task.id, agency_id=agency.id, role=LEAD) for task in own)
        tasks += [(task, agency.id) for task in own]
    return tasks


async def kept(session, agencies: list[Agency], count: int) -> None:
    """Plans of earlier years, as a department keeps them: the same agencies' tasks, each reported
    on for both deadlines; most ended by their dates, one in five closed by hand."""
    for n in range(count):
        year = 2019 - n % 10
        plan = Plan(
            number=f"{n + 1}/KH-UBND",
            year=year,
            reporting_deadlines=[f"{year}-06-20", f"{year}-11-20"],
            last_deadline=dt.date(year, 11, 20),
            lifecycle="closed" if n % 5 == 0 else "auto",
            imported_at=dt.datetime(year, 4, 1, tzinfo=dt.UTC),
        )
        session.add(plan)
        await session.flush()
        for task, agency_id in await sections(session, plan, agencies, "Nhiệm vụ {index} năm {year}"):
            for cycle in (dt.date(year, 6, 20), dt.date(year, 11, 20)):
                session.add(
                    ProgressUpdate(
                        task_id=task.id,
                        agency_id=agency_id,
                        status="done",
                        note="Đã hoàn thành",
                        cycle=cycle,
                        created_at=dt.datetime(year, 6, 1, tzinfo=dt.UTC),
                    )
                )


def message(user: str, text: str, n: int) -> Incoming:
    return Incoming(
        platform="bench",
        chat_id=user,
        user_id=user,
        user_name=user,
        text=text,
        message_id=str(n),
        update_key=str(n),
    )


# CPU seconds (this process, every thread: the driver's SQLite thread too) and messages, per
# database, number of kept plans and kind.
CPU: dict[tuple[str, int, str], list[float]] = {}


@contextlib.asynccontextmanager
async def fresh_database(kind: str):
    """A migrated database of its own: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "postgres":
        async with postgres_database(PG_URL) as db:
            yield db
        return
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{folder}/bench.db")
        await upgrade(db)
        try:
            yield db
        finally:
            await db.dispose()


async def timed(core: Core, items: list[Incoming], kind: tuple[str, int, str]) -> list[float]:
    took = []
    cpu = time.process_time()
    for item in items:
        start = time.perf_counter()
        replies = await core.handle(item)
        took.append(time.perf_counter() - start)
        assert replies and "Xin lỗi" not in replies[0].text, replies
    CPU.setdefault(kind, [0.0, 0])
    CPU[kind][0] += time.process_time() - cpu
    CPU[kind][1] += len(items)
    return took


async def run(messages: int, runs: int, kept: int, database: str) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {
        "task list": [],
        "one-line update": [],
        "guided flow step": [],
        "summary": [],
    }
    counter = iter(range(10**9))
    for _ in range(runs):
        async with fresh_database(database) as db:
            await seed(db, kept)
            core = Core(App(config=load_config(env={}), db=db, clock=ManualClock(START)))
            users = [f"f{(i % AGENCIES) + 1}" for i in range(messages)]
            lists = await timed(
                core, [message(u, "/nhiemvu", next(counter)) for u in users], (database, kept, "task list")
            )
            updates = await timed(
                core,
                [
                    message(
                        u,
                        f"/capnhat {(i % TASKS_PER_AGENCY) + 1} hoàn thành Đã phát sóng {i} chương trình",
                        next(counter),
                    )
                    for i, u in enumerate(users)
                ],
                (database, kept, "one-line update"),
            )
            steps = []
            for i, user in enumerate(users[: messages // 3]):
                steps += await timed(
                    core,
                    [
                        message(user, "/capnhat", next(counter)),
                        message(user, str((i % TASKS_PER_AGENCY) + 1), next(counter)),
                        message(user, "2", next(counter)),
                    ],
                    (database, kept, "guided flow step"),
                )
                await core.handle(message(user, "/huy", next(counter)))
            summaries = await timed(
                core,
                [message("boss", "/tonghop", next(counter)) for _ in range(max(messages // 10, 5))],
                (database, kept, "summary"),
            )
        for name, took in zip(results, (lists, updates, steps, summaries), strict=True):
            results[name].append(statistics.median(took))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--kept-plans", default="0,100", help="numbers of earlier plans kept beside the followed one"
    )
    parser.add_argument("--databases", default="sqlite", help="sqlite, postgres or both (comma-separated)")
    args = parser.parse_args()
    print(
        f"chat core, {AGENCIES} agencies × {TASKS_PER_AGENCY} tasks, {args.messages} messages per kind, {args.runs} runs"
    )
    print(f"machine: {machine()}")
    for database in args.databases.split(","):
        for kept in (int(count) for count in args.kept_plans.split(",")):
            results = asyncio.run(run(args.messages, args.runs, kept, database))
            print(f"{database}, beside {kept} plans of earlier years:")
            for name, medians in results.items():
                median = statistics.median(medians)
                cpu, count = CPU[database, kept, name]
                print(
                    f"  {name:<18} median {median * 1000:6.2f} ms/message  ({1 / median:6.0f} messages/s, one at a time)"
                    f"  CPU {cpu * 1000 / count:6.2f} ms/message"
                )


if __name__ == "__main__":
    main()
