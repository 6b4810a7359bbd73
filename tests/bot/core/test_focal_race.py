"""One active focal point per agency, held by the database: two registrations racing on two bot
instances (two connections) leave one focal point, and the other person is told what happened."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from bot.app import App
from bot.core import registration
from bot.core.service import Core
from storage.db import Database
from storage.models.people import ACTIVE, ADMIN, COORDINATOR, FOCAL, Member
from tests.bot.core.chat import ChatUser
from tests.factories import make_member

CONFLICT_VI = "Một đầu mối khác của cơ quan này vừa đăng ký đúng lúc này nên chưa có gì được lưu."
ROUNDS = 6


async def _another_instance_database(db: Database) -> Database:
    """A second engine on the same database, as a second bot process would open."""
    if db.sqlite:
        return Database(db.url)
    async with db.engine.connect() as conn:
        schema = await conn.scalar(text("select current_schema()"))
    return Database(db.url, pg_server_settings={"search_path": schema})


async def _active_focal_points(db, agency_id: int) -> int:
    async with db.snapshot() as session:
        return await session.scalar(
            select(func.count())
            .select_from(Member)
            .where(Member.agency_id == agency_id, Member.role == FOCAL, Member.status == ACTIVE)
        )


async def test_two_registrations_racing_on_two_instances_leave_one_focal_point(db, app, clock, plan):
    other_db = await _another_instance_database(db)
    try:
        here = Core(app)
        there = Core(App(config=app.config, db=other_db, clock=clock))
        agencies = list(plan.agencies.values())
        outcomes = []
        for round_number in range(ROUNDS):
            agency = agencies[round_number % len(agencies)]
            tokens = []
            async with db.transaction() as session:
                for _ in range(2):
                    issued = await registration.issue_invite(
                        session, role=FOCAL, agency=agency, now=clock.now(), valid_for=dt.timedelta(days=1)
                    )
                    tokens.append(issued.token)
            first = ChatUser(here, f"a{round_number}", name=f"Người A{round_number}")
            second = ChatUser(there, f"b{round_number}", name=f"Người B{round_number}")

            replies = await asyncio.gather(
                first.say(f"/start {tokens[0]}"), second.say(f"/start {tokens[1]}")
            )

            assert await _active_focal_points(db, agency.id) == 1
            assert all(r.startswith("Chào mừng") or r.startswith(CONFLICT_VI) for r in replies), replies
            assert any(r.startswith("Chào mừng") for r in replies)
            outcomes.append(tuple(r.startswith("Chào mừng") for r in replies))
        print("rounds (welcome first, welcome second):", outcomes)
    finally:
        await other_db.dispose()


async def test_the_database_refuses_a_second_active_focal_point_written_past_the_rules(db, plan):
    agency = plan.agencies["Sở Du lịch"]
    async with db.transaction() as session:
        await make_member(session, "Lan", agency=agency)

    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await make_member(session, "Hoa", agency=agency, user_id="hoa")

    async with db.transaction() as session:
        # Retired, pending and coordinators do not count: they may be many.
        await make_member(session, "Cũ", agency=agency, user_id="old", status="retired")
        await make_member(session, "Chờ", agency=agency, user_id="wait", status="pending")
        await make_member(session, "Điều phối", agency=agency, user_id="co", role="coordinator")
    assert await _active_focal_points(db, agency.id) == 1


async def _active_admins(db) -> int:
    async with db.snapshot() as session:
        return await session.scalar(
            select(func.count()).select_from(Member).where(Member.role == ADMIN, Member.status == ACTIVE)
        )


async def test_two_admins_demoting_each_other_on_two_instances_leave_one_admin(db, clock):
    other_db = await _another_instance_database(db)
    try:
        async with db.transaction() as session:
            an = await make_member(session, "An", role=ADMIN)
            binh = await make_member(session, "Bình", role=ADMIN)

        async def demote(database: Database, actor_id: int, member_id: int) -> str:
            try:
                async with database.transaction() as session:
                    actor = await session.get(Member, actor_id)
                    await registration.change_role(session, member_id, COORDINATOR, by=actor, now=clock.now())
            except registration.RoleRefused as refused:
                return refused.reason
            return "done"

        outcomes = []
        for _ in range(ROUNDS):
            outcome = await asyncio.gather(demote(db, an.id, binh.id), demote(other_db, binh.id, an.id))
            outcomes.append(tuple(sorted(outcome)))
            assert await _active_admins(db) == 1
            async with db.transaction() as session:
                for member_id in (an.id, binh.id):
                    (await session.get(Member, member_id)).role = ADMIN
        # One demotion goes through; the other is refused, whichever check it failed first.
        assert all(outcome.count("done") == 1 for outcome in outcomes), outcomes
    finally:
        await other_db.dispose()
