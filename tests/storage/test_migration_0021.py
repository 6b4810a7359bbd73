"""Migration 0021 (each task's lead kept on the task, `task.lead`) upgrades a database with plans in
it: the backfill names each task's one lead, 0 for none, -1 for several; from then on the
database's triggers keep it, whatever writes the links; and the overview, which reads it, counts
as the detailed summary judges. On SQLite and PostgreSQL; two PostgreSQL transactions adding leads
to one task at once leave it co-led."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib

from sqlalchemy import delete, select, text, update

from storage.migrate import current_revision, upgrade
from storage.models import Task, TaskAgency
from storage.models.plan import COORDINATING, LEAD
from storage.summary_sql import CO_LED_MARK, NO_LEAD
from tests.factories import SectionSpec, make_plan
from tests.storage.test_migration_0019 import plan_with_a_late_report
from tests.storage.test_migration_0020 import _both, _figures

MIGRATION = importlib.import_module("storage.migrations.versions.0021_task_lead")
NOVEMBER = dt.date(2026, 11, 20)


async def _leads(db) -> dict[int, int]:
    async with db.snapshot() as session:
        return dict((await session.execute(select(Task.id, Task.lead).order_by(Task.id))).all())


async def _link(conn, task: int, agency: int, role: str) -> None:
    await conn.execute(
        text("INSERT INTO task_agency (task_id, agency_id, role, position) VALUES (:t, :a, :r, 0)"),
        {"t": task, "a": agency, "r": role},
    )


async def _migrated_with_links(db) -> None:
    # The rows as 0019 wrote them (0020 fills task_latest from them on the way to 0021).
    await upgrade(db, "0019")
    async with db.engine.begin() as conn:
        await plan_with_a_late_report(conn)
        # I.1 led by Sở A; I.2 co-led by Sở A and Sở B; I.3 led by nobody, Sở B helping.
        await _link(conn, 1, 1, LEAD)
        await _link(conn, 2, 1, LEAD)
        await _link(conn, 2, 2, LEAD)
        await _link(conn, 3, 2, COORDINATING)
        if conn.dialect.name == "postgresql":  # the rows came with their ids: move the sequence on
            await conn.execute(text("SELECT setval(pg_get_serial_sequence('progress_update', 'id'), 4)"))
    await upgrade(db, MIGRATION.revision)


async def test_upgrading_to_0021_names_each_tasks_lead_and_the_overview_counts_as_judged(unmigrated_db):
    db = unmigrated_db
    await _migrated_with_links(db)

    assert await current_revision(db) == MIGRATION.revision
    assert (NO_LEAD, CO_LED_MARK) == (0, -1)
    assert await _leads(db) == {1: 1, 2: CO_LED_MARK, 3: NO_LEAD}
    judged, counted = await _both(db, NOVEMBER)
    assert _figures(counted) == _figures(judged)
    assert {a.id: dict(a.reported_counts) for a in counted.agencies} == {
        a.id: dict(a.reported_counts) for a in judged.agencies
    }


async def test_the_triggers_keep_the_lead_whatever_writes_the_links(unmigrated_db):
    db = unmigrated_db
    await _migrated_with_links(db)

    # A lead added to a task that had none, one of two co-leads dropped, a helper made lead.
    async with db.transaction() as session:
        session.add(TaskAgency(task_id=3, agency_id=1, role=LEAD, position=0))
        await session.execute(delete(TaskAgency).where(TaskAgency.task_id == 2, TaskAgency.agency_id == 1))
    assert await _leads(db) == {1: 1, 2: 2, 3: 1}
    async with db.transaction() as session:
        await session.execute(
            update(TaskAgency).where(TaskAgency.task_id == 3, TaskAgency.agency_id == 2).values(role=LEAD)
        )
    assert await _leads(db) == {1: 1, 2: 2, 3: CO_LED_MARK}
    # An agency merged into another: its links move (storage.registry), the lead with them.
    async with db.transaction() as session:
        await session.execute(update(TaskAgency).where(TaskAgency.task_id == 2).values(agency_id=1))
        await session.execute(
            update(TaskAgency)
            .where(TaskAgency.task_id == 1, TaskAgency.role == LEAD)
            .values(role=COORDINATING)
        )
    assert await _leads(db) == {1: NO_LEAD, 2: 1, 3: CO_LED_MARK}
    # A link moved to another task leaves the first without it.
    async with db.transaction() as session:
        await session.execute(
            update(TaskAgency).where(TaskAgency.task_id == 2, TaskAgency.role == LEAD).values(task_id=1)
        )
    assert await _leads(db) == {1: 1, 2: NO_LEAD, 3: CO_LED_MARK}
    # A task deleted with its links (the cascade runs the triggers on a task going away).
    async with db.transaction() as session:
        await session.execute(delete(Task).where(Task.id == 3))
    assert await _leads(db) == {1: 1, 2: NO_LEAD}
    judged, counted = await _both(db, NOVEMBER)
    assert _figures(counted) == _figures(judged)


async def _until_a_backend_waits_on_a_lock(db) -> None:
    async with db.engine.connect() as watcher:
        for _ in range(600):
            waiting = await watcher.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            if waiting:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("the second transaction never waited for the first")


async def _at_once(db, first: str, second: str) -> None:
    """Two transactions on one task's links, the second waiting for the first's lock on the task."""
    if db.dialect != "postgresql":
        # SQLite lets one writer in at a time (BEGIN IMMEDIATE): they run one after the other.
        for statement in (first, second):
            async with db.engine.begin() as conn:
                await conn.execute(text(statement))
        return
    first_done = asyncio.Event()
    async with db.engine.connect() as one, db.engine.connect() as other:
        await one.begin()
        await one.execute(text(first))
        first_done.set()

        async def then() -> None:
            await first_done.wait()
            await other.begin()
            await other.execute(text(second))
            await other.commit()

        waiting = asyncio.create_task(then())
        await _until_a_backend_waits_on_a_lock(db)
        assert not waiting.done()
        await one.commit()
        await asyncio.wait_for(waiting, 30)


ADD = "INSERT INTO task_agency (task_id, agency_id, role, position) VALUES ({task}, {agency}, 'lead', 0)"


async def test_two_transactions_adding_leads_to_one_task_at_once_leave_it_co_led(unmigrated_db):
    db = unmigrated_db
    await _migrated_with_links(db)

    await _at_once(db, ADD.format(task=3, agency=1), ADD.format(task=3, agency=2))

    assert (await _leads(db))[3] == CO_LED_MARK


async def test_a_lead_removed_while_another_is_added_leaves_the_new_one(unmigrated_db):
    db = unmigrated_db
    await _migrated_with_links(db)

    # I.1 is led by Sở A: one transaction drops it while another makes Sở B lead, either way round.
    await _at_once(
        db, "DELETE FROM task_agency WHERE task_id = 1 AND role = 'lead'", ADD.format(task=1, agency=2)
    )
    assert (await _leads(db))[1] == 2
    await _at_once(
        db, ADD.format(task=1, agency=1), "DELETE FROM task_agency WHERE task_id = 1 AND agency_id = 2"
    )
    assert (await _leads(db))[1] == 1


async def test_at_the_newest_schema_the_links_still_keep_the_lead(db):
    # A later migration that rebuilt task_agency (SQLite's batch mode) would drop its triggers.
    async with db.transaction() as session:
        built = await make_plan(session, [SectionSpec("Sở A", ["Một", "Hai"], coordinating=["Sở B"])])
        first, second = built.tasks["I.1"], built.tasks["I.2"]
        session.add(TaskAgency(task_id=second.id, agency_id=built.agencies["Sở B"].id, role=LEAD, position=2))

    assert await _leads(db) == {first.id: built.agencies["Sở A"].id, second.id: CO_LED_MARK}
