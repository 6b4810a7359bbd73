"""A plan import staged in chunks and swapped in at once, on SQLite and PostgreSQL: readers never see a
half import; a failure or a kill -9 half-way leaves what readers see as it was, and its rows are
discarded; of two imports of one plan, one wins and the other is told and changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bench.bench_plan_import import large_plan
from scheduler.coverage import load_plan_facts
from storage.assignments import all_plans, current_plan, tasks_by_agency
from storage.models import Agency, Plan, Task
from storage.plans.importer import CREATED, UPDATED
from storage.plans.limits import ImportLimits
from storage.plans.parser import parse_plan_file
from storage.plans.repository import list_plans, load_plan, plan_document
from storage.plans.staging import ImportConflict, discard_abandoned, import_staged
from storage.summary import build_summary
from tests.conftest import SAMPLE_PLAN
from tests.storage.test_plan_import import dump

D = dt.date
ROOT = Path(__file__).resolve().parents[2]
BIG = ImportLimits(max_table_rows=100_000)

CHILD = r"""
import asyncio, sys
from storage.db import Database
from storage.plans.limits import ImportLimits
from storage.plans.parser import parse_plan_file
from storage.plans.staging import import_staged

url, schema, path, chunk = sys.argv[1:5]

async def main():
    db = Database(url, pg_server_settings={"search_path": schema} if schema else None)
    parsed = parse_plan_file(path, ImportLimits(max_table_rows=100_000))
    await import_staged(db, parsed, chunk=int(chunk))
    await db.dispose()

asyncio.run(main())
"""


async def what_readers_see(db) -> dict:
    """The plans as the chat, the dashboard, the reports and the reminder planner read them."""
    seen: dict = {}
    async with db.snapshot() as session:
        listings = await list_plans(session)
        seen["listing"] = [(p.id, p.number, p.sections, p.tasks, p.agencies) for p in listings]
        seen["all plans"] = [p.id for p in await all_plans(session)]
        current = await current_plan(session)
        seen["current"] = current.id if current else None
        seen["planner"] = [(f.id, len(f.tasks)) for f in await load_plan_facts(session)]
        for p in listings:
            seen[f"plan {p.id}"] = plan_document(await load_plan(session, p.id))
            by_agency = await tasks_by_agency(session, p.id)
            seen[f"tasks {p.id}"] = {
                agency: sorted(t.code for t in tasks) for agency, tasks in by_agency.items()
            }
            summary = await build_summary(session, p.id, today=D(2021, 6, 1))
            seen[f"summary {p.id}"] = ([t.code for t in summary.tasks], [a.name for a in summary.agencies])
    return seen


async def staged_rows(db) -> tuple[int, int]:
    """Staged plans, and the tasks under them."""
    async with db.snapshot() as session:
        plans = await session.scalar(select(func.count(Plan.id)).where(Plan.staged_by.is_not(None)))
        tasks = await session.scalar(
            select(func.count(Task.id)).join(Plan, Plan.id == Task.plan_id).where(Plan.staged_by.is_not(None))
        )
    return plans, tasks


async def import_file(db, path: Path, chunk: int = 500):
    return await import_staged(db, parse_plan_file(path, BIG), chunk=chunk)


async def start_child_import(db, path: Path, chunk: int) -> asyncio.subprocess.Process:
    """`import_staged` in another process, on the same database (the CLI's way, bounded by nothing)."""
    schema = ""
    if not db.sqlite:
        async with db.snapshot() as session:
            schema = await session.scalar(text("SELECT current_schema()"))
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, db.url, schema, str(path), str(chunk),
        cwd=str(ROOT), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def revised(tmp_path: Path, extra_tasks: list[str]) -> Path:
    """The sample plan with a new section IX whose tasks are `extra_tasks`, and I.1 reworded."""
    body = SAMPLE_PLAN.read_text(encoding="utf-8").rstrip("\n")
    body = body.replace(
        "Xây dựng và vận hành Cổng dữ liệu mở của tỉnh", "Xây dựng Cổng dữ liệu mở của tỉnh", 1
    )
    rows = ["<b>IX</b>\t<b>SỞ XÂY DỰNG</b>\t\t\t\t"]
    rows += [f"{n}\t{content}\tQuý IV/2021\tSở Xây dựng\t\t" for n, content in enumerate(extra_tasks, 1)]
    path = tmp_path / "sua-doi.txt"
    path.write_text(body + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
async def poisoned(db):
    """The database fails any insert of a task whose content says POISON, as a full disk would."""
    async with db.engine.begin() as conn:
        if db.sqlite:
            await conn.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON task WHEN NEW.content LIKE '%POISON%' "
                    "BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END"
                )
            )
        else:
            await conn.execute(
                text(
                    "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.content LIKE '%POISON%' THEN "
                    "RAISE EXCEPTION 'disk full (simulated)'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            await conn.execute(
                text("CREATE TRIGGER poison BEFORE INSERT ON task FOR EACH ROW EXECUTE FUNCTION poison()")
            )
    yield
    async with db.engine.begin() as conn:
        if db.sqlite:
            await conn.execute(text("DROP TRIGGER poison"))
        else:
            await conn.execute(text("DROP TRIGGER poison ON task"))
            await conn.execute(text("DROP FUNCTION poison()"))


# --- Readers, and a process killed half-way ---------------------------------------------------


async def test_a_first_import_killed_half_way_is_never_seen_and_is_discarded_at_the_next_start(db, tmp_path):
    await import_file(db, SAMPLE_PLAN)
    before, seen_before = await dump(db), await what_readers_see(db)
    big = large_plan(tmp_path / "big.txt", sections=30, tasks=40)

    child = await start_child_import(db, big, chunk=10)
    try:
        async with asyncio.timeout(120):  # a child that never stages must fail, not hold the run
            while (await staged_rows(db))[1] < 100:
                assert child.returncode is None, (await child.communicate())[1].decode()
                await asyncio.sleep(0.05)
        seen_during = await what_readers_see(db)
        child.kill()  # SIGKILL: no clean-up of its own
        await child.wait()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    left = await staged_rows(db)
    seen_after_kill = await what_readers_see(db)
    discarded = await discard_abandoned(db, chunk=100)

    assert seen_during == seen_before
    assert left[0] == 1 and 100 <= left[1] < 1200
    assert seen_after_kill == seen_before
    assert discarded == 1
    assert await staged_rows(db) == (0, 0)
    # Every row the killed import wrote is gone, the agencies it registered with them.
    assert await dump(db) == before


async def test_the_next_import_discards_what_a_killed_one_left_and_imports_the_plan_whole(db, tmp_path):
    big = large_plan(tmp_path / "big.txt", sections=30, tasks=40)
    child = await start_child_import(db, big, chunk=10)
    async with asyncio.timeout(120):
        while (await staged_rows(db))[1] < 50:
            assert child.returncode is None, (await child.communicate())[1].decode()
            await asyncio.sleep(0.05)
    child.kill()
    await child.wait()

    report = await import_file(db, big)

    assert report.status == CREATED
    assert await staged_rows(db) == (0, 0)
    async with db.snapshot() as session:
        listing = [(p.number, p.sections, p.tasks) for p in await list_plans(session)]
        agencies = await session.scalar(select(func.count(Agency.id)).where(Agency.name.like("Ban Quản lý%")))
    assert listing == [("99/KH-UBND", 30, 1200)]
    assert agencies == 30


# --- Failures half-way ------------------------------------------------------------------------


async def test_a_first_import_failing_half_way_leaves_the_database_as_it_was(db, tmp_path, poisoned):
    await import_file(db, SAMPLE_PLAN)
    before = await dump(db)
    body = large_plan(tmp_path / "big.txt", sections=3, tasks=10).read_text(encoding="utf-8")
    failing = tmp_path / "failing.txt"
    failing.write_text(body.replace("Nhiệm vụ 7 của ban 3", "POISON"), encoding="utf-8")

    with pytest.raises(Exception, match="disk full"):
        await import_file(db, failing, chunk=4)

    assert await dump(db) == before


async def test_a_revision_failing_half_way_leaves_the_stored_plan_and_its_history_as_they_were(
    db, tmp_path, poisoned
):
    await import_file(db, SAMPLE_PLAN)
    before = await dump(db)
    failing = revised(tmp_path, [f"Nhiệm vụ mới {n}" for n in range(1, 9)] + ["POISON"])

    with pytest.raises(Exception, match="disk full"):
        await import_file(db, failing, chunk=2)

    assert await dump(db) == before


# --- A revision staged then swapped -----------------------------------------------------------


async def test_a_staged_revision_keeps_the_task_rows_and_adds_the_new_section_whole(db, tmp_path):
    first = await import_file(db, SAMPLE_PLAN)
    async with db.snapshot() as session:
        ids = {t.code: t.id for t in (await session.scalars(select(Task))).all()}

    report = await import_file(db, revised(tmp_path, ["Rà soát quy hoạch", "Cấp phép xây dựng"]), chunk=1)

    async with db.snapshot() as session:
        after = {t.code: t.id for t in (await session.scalars(select(Task))).all()}
        doc = plan_document(await load_plan(session, first.plan_id))
        revision = await session.scalar(select(Plan.revision).where(Plan.id == first.plan_id))
    assert (report.status, report.plan_id) == (UPDATED, first.plan_id)
    assert report.changes.sections_added == ["IX"]
    assert report.changes.tasks_added == ["IX.1", "IX.2"]
    assert [c.code for c in report.changes.tasks_changed] == ["I.1"]
    assert {code: after[code] for code in ids} == ids  # every stored task keeps its row
    assert [t["content"] for t in doc["sections"][-1]["tasks"]] == ["Rà soát quy hoạch", "Cấp phép xây dựng"]
    assert revision == 1
    assert await staged_rows(db) == (0, 0)


# --- Two imports of one plan at once ----------------------------------------------------------


async def both(db, first, second) -> list:
    """Two imports, the second started once the first is staging: they overlap."""
    one = asyncio.ensure_future(first)
    while not one.done():
        if (await staged_rows(db))[0]:
            break
        await asyncio.sleep(0.01)
    results = await asyncio.gather(second, return_exceptions=True)
    try:
        results.insert(0, await one)
    except Exception as exc:
        results.insert(0, exc)
    return results


async def test_two_first_imports_of_one_plan_at_once_make_one_plan_and_tell_the_other(db):
    results = await both(db, import_file(db, SAMPLE_PLAN, chunk=1), import_file(db, SAMPLE_PLAN, chunk=1))

    created = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, ImportConflict)]
    assert [r.status for r in created] == [CREATED]
    assert len(refused) == 1
    assert str(refused[0]).startswith(
        "another import of plan 45/KH-UBND (2021) finished while this one was being written"
    )
    async with db.snapshot() as session:
        assert [(p.number, p.tasks) for p in await list_plans(session)] == [("45/KH-UBND", 30)]
    assert await staged_rows(db) == (0, 0)


async def test_two_revisions_of_one_plan_at_once_end_with_one_of_them_whole(db, tmp_path):
    await import_file(db, SAMPLE_PLAN)
    one = revised(tmp_path, ["Rà soát quy hoạch"])
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other = revised(other_dir, ["Cấp phép xây dựng", "Kiểm tra công trình"])

    results = await both(db, import_file(db, one, chunk=1), import_file(db, other, chunk=1))

    won = [r for r in results if not isinstance(r, BaseException)]
    assert len(won) == 1 and won[0].status == UPDATED
    assert len([r for r in results if isinstance(r, ImportConflict)]) == 1
    async with db.snapshot() as session:
        doc = plan_document(await load_plan(session, won[0].plan_id))
    expected = won[0].changes.tasks_added
    assert [f"IX.{t['number']}" for t in doc["sections"][-1]["tasks"]] == expected
    assert await staged_rows(db) == (0, 0)
