"""Migration 0014 (evidence files) keeps the updates of a database built at the revision before it,
and gives each file an update named by its platform id a pending row, so that it is fetched; links
stay links. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib

from sqlalchemy import text

from storage.migrate import current_revision, upgrade
from storage.models.people import ProgressUpdate
from tests.factories import make_member, make_plan

MIGRATION = importlib.import_module("storage.migrations.versions.0014_evidence")
WHEN = dt.datetime(2020, 6, 1, 1, 0, tzinfo=dt.UTC)


async def test_upgrading_to_0014_keeps_updates_and_queues_their_files(unmigrated_db):
    await upgrade(unmigrated_db, MIGRATION.down_revision)
    # The tables the factories write are the same at the previous revision: 0014 only adds one.
    async with unmigrated_db.transaction() as session:
        built = await make_plan(session)
        agency = built.agencies["Sở Du lịch"]
        lan = await make_member(session, "Lan", agency=agency, platform="telegram", user_id="1")
        task = next(iter(built.tasks.values()))
        for number, evidence in enumerate(
            ["telegram:AgADBAAD", "https://dulich.gov.vn/bc", None, "zalo:https://z/p.jpg"]
        ):
            # A plain insert: an ORM one also keeps progress_latest, which this revision predates.
            await session.execute(
                ProgressUpdate.__table__.insert().values(
                    task_id=task.id, agency_id=agency.id, member_id=lan.id, status="done",
                    note=f"Lần {number}", evidence=evidence, cycle=dt.date(2020, 6, 20), created_at=WHEN,
                )
            )  # fmt: skip

    await upgrade(unmigrated_db, MIGRATION.revision)

    assert await current_revision(unmigrated_db) == MIGRATION.revision
    async with unmigrated_db.engine.begin() as conn:
        updates = (await conn.execute(text("SELECT note, evidence FROM progress_update ORDER BY id"))).all()
        files = (
            await conn.execute(
                text(
                    "SELECT u.note, f.source, f.state, f.attempts, f.agency_id FROM evidence_file f "
                    "JOIN progress_update u ON u.id = f.update_id ORDER BY f.id"
                )
            )
        ).all()
    assert [tuple(u) for u in updates] == [
        ("Lần 0", "telegram:AgADBAAD"),
        ("Lần 1", "https://dulich.gov.vn/bc"),
        ("Lần 2", None),
        ("Lần 3", "zalo:https://z/p.jpg"),
    ]
    assert [tuple(f) for f in files] == [
        ("Lần 0", "telegram:AgADBAAD", "pending", 0, agency.id),
        ("Lần 3", "zalo:https://z/p.jpg", "pending", 0, agency.id),
    ]
