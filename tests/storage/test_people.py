"""The people repositories on both back ends: invites, updates with history, dedup, chat state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage import people
from storage.assignments import agency_tasks, current_plan
from storage.models.people import (
    COORDINATOR,
    DONE,
    FOCAL,
    IN_PROGRESS,
    Invite,
    LatestInCycle,
    ProgressUpdate,
    TaskLatest,
    UpdateRevision,
)
from storage.models.plan import LEAD, TaskAgency
from tests.factories import NOW, SectionSpec, make_agency, make_member, make_plan


async def test_an_invite_is_stored_only_as_a_hash_of_its_token(db):
    async with db.transaction() as session:
        agency = await make_agency(session, "Sở Du lịch")
        issued = await people.create_invite(
            session, role=FOCAL, agency_id=agency.id, expires_at=NOW + dt.timedelta(days=7), now=NOW
        )
    async with db.snapshot() as session:
        stored = (await session.execute(select(Invite))).scalars().one()
        found = await people.invite_by_token(session, issued.token)
        stored_hash, stored_id, found_id = stored.token_hash, stored.id, found.id
    assert issued.token not in stored_hash
    assert stored_hash == people.hash_token(issued.token)
    assert found_id == stored_id
    assert len(issued.token) >= 22  # 18 random bytes, URL-safe: 144 bits


async def test_the_last_use_of_an_invite_can_be_taken_only_once(db):
    async with db.transaction() as session:
        agency = await make_agency(session, "Sở Du lịch")
        issued = await people.create_invite(
            session, role=FOCAL, agency_id=agency.id, expires_at=NOW + dt.timedelta(days=7), now=NOW
        )
    async with db.transaction() as session:
        invite = await people.invite_by_token(session, issued.token)
        first = await people.take_invite_use(session, invite, now=NOW)
        second = await people.take_invite_use(session, invite, now=NOW)
    assert (first, second) == (True, False)


async def test_an_expired_invite_cannot_be_used(db):
    async with db.transaction() as session:
        issued = await people.create_invite(
            session, role=COORDINATOR, agency_id=None, expires_at=NOW + dt.timedelta(hours=1), now=NOW
        )
    async with db.transaction() as session:
        invite = await people.invite_by_token(session, issued.token)
        taken = await people.take_invite_use(session, invite, now=NOW + dt.timedelta(hours=2))
    assert taken is False


async def test_a_platform_update_is_recorded_once(db):
    async with db.transaction() as session:
        first = await people.mark_processed(session, platform="telegram", update_key="42", now=NOW)
    async with db.transaction() as session:
        again = await people.mark_processed(session, platform="telegram", update_key="42", now=NOW)
        other_platform = await people.mark_processed(session, platform="zalo", update_key="42", now=NOW)
    assert (first, again, other_platform) == (True, False, True)


async def test_revising_an_update_keeps_the_text_it_replaced(db):
    async with db.transaction() as session:
        built = await make_plan(session)
        agency = built.agencies["Sở Du lịch"]
        lan = await make_member(session, "lan", agency=agency)
        row = await people.add_update(
            session,
            task_id=built.tasks["II.1"].id,
            agency_id=agency.id,
            member_id=lan.id,
            status=IN_PROGRESS,
            percent=40,
            note="Đã phát sóng 5 chương trình",
            cycle=dt.date(2020, 6, 20),
            now=NOW,
            source_platform="console",
            source_chat_id="lan",
            source_message_id="7",
        )
    async with db.transaction() as session:
        found = await people.update_from_message(session, platform="console", chat_id="lan", message_id="7")
        await people.revise_update(
            session, found, status=DONE, percent=None, note="Đã phát sóng 12 chương trình", now=NOW
        )
    async with db.snapshot() as session:
        revisions = (await session.execute(select(UpdateRevision))).scalars().all()
        kept = [(r.status, r.percent, r.note) for r in revisions]
        latest = (await people.latest_updates(session, [row.task_id]))[row.task_id]
        now_reads = (latest.status, latest.note, latest.edited_at)
    assert kept == [(IN_PROGRESS, 40, "Đã phát sóng 5 chương trình")]
    expected = (DONE, "Đã phát sóng 12 chương trình", NOW)
    assert now_reads == expected


async def test_a_stored_update_is_counted_at_once_and_can_be_edited_in_the_same_unit(db):
    june, november = dt.date(2020, 6, 20), dt.date(2020, 11, 20)

    def kept(session):
        return session.execute(
            select(
                LatestInCycle.cycle, LatestInCycle.update_id, LatestInCycle.status, LatestInCycle.percent
            ).order_by(LatestInCycle.cycle)
        )

    async with db.transaction() as session:
        built = await make_plan(session)
        agency = built.agencies["Sở Du lịch"]
        lan = await make_member(session, "lan", agency=agency)
        task_id = built.tasks["II.1"].id
        common = {"task_id": task_id, "agency_id": agency.id, "member_id": lan.id, "now": NOW}
        later = await people.add_update(session, **common, status=IN_PROGRESS, percent=40, cycle=november)
        # The same unit reads it back as the one object, and the summary's rows already point at it.
        assert await session.get(ProgressUpdate, later.id) is later
        assert (await kept(session)).all() == [(november, later.id, IN_PROGRESS, 40)]
        earlier = await people.add_update(session, **common, status=DONE, note="xong", cycle=june)
        # An edit before the message is over: the ORM sees the stored row as its own.
        await people.revise_update(session, later, status=DONE, percent=None, note="đã xong", now=NOW)
        in_the_unit = (await kept(session)).all()
        newest = (await session.execute(select(TaskLatest.update_id, TaskLatest.status))).all()
    assert in_the_unit == [(june, earlier.id, DONE, None), (november, later.id, DONE, None)]
    assert newest == [(later.id, DONE)]  # a later cycle's word stays the task's newest
    async with db.snapshot() as session:
        stored = (
            await session.execute(
                select(
                    ProgressUpdate.id,
                    ProgressUpdate.cycle,
                    ProgressUpdate.status,
                    ProgressUpdate.percent,
                    ProgressUpdate.note,
                    ProgressUpdate.edited_at,
                    ProgressUpdate.member_id,
                ).order_by(ProgressUpdate.id)
            )
        ).all()
        history = (await session.execute(select(UpdateRevision.update_id, UpdateRevision.note))).all()
        committed = (await kept(session)).all()
    assert stored == [
        (later.id, november, DONE, None, "đã xong", NOW, lan.id),
        (earlier.id, june, DONE, None, "xong", None, lan.id),
    ]
    assert history == [(later.id, "")]
    assert committed == in_the_unit


async def test_an_agency_answers_for_its_section_and_the_tasks_it_leads_elsewhere(db):
    sections = [
        SectionSpec("Sở Thông tin và Truyền thông", ["Tuyên truyền đối ngoại", "Theo dõi dư luận"]),
        SectionSpec("Sở Ngoại vụ", ["Xuất bản đặc san", "Phối hợp xây dựng hệ thống dữ liệu"]),
    ]
    async with db.transaction() as session:
        built = await make_plan(session, sections)
        # The plan names Sở TTTT as lead of Sở Ngoại vụ's second row, as the reference plan does.
        shared = built.tasks["II.2"]
        session.add(
            TaskAgency(
                task_id=shared.id, agency_id=built.agencies["Sở Thông tin và Truyền thông"].id, role=LEAD
            )
        )
    async with db.snapshot() as session:
        plan = await current_plan(session)
        tttt = await agency_tasks(session, plan.id, built.agencies["Sở Thông tin và Truyền thông"].id)
        ngoai_vu = await agency_tasks(session, plan.id, built.agencies["Sở Ngoại vụ"].id)
        codes = ([t.code for t in tttt], [t.code for t in ngoai_vu])
    assert codes == (["I.1", "I.2", "II.2"], ["II.1", "II.2"])


async def test_conversation_state_is_one_row_per_user_and_chat(db):
    later = NOW + dt.timedelta(minutes=30)
    async with db.transaction() as session:
        await people.save_state(
            session,
            platform="telegram",
            chat_id="1",
            user_id="1",
            flow="capnhat",
            step="status",
            data={"flow": {"task_id": 3}},
            now=NOW,
            expires_at=later,
        )
    async with db.transaction() as session:
        await people.save_state(
            session,
            platform="telegram",
            chat_id="1",
            user_id="1",
            flow="capnhat",
            step="note",
            data={"flow": {"task_id": 3, "status": "done"}},
            now=NOW,
            expires_at=later,
        )
    async with db.snapshot() as session:
        state = await people.load_state(session, platform="telegram", chat_id="1", user_id="1")
        found = (state.step, state.data)
    assert found == ("note", {"flow": {"task_id": 3, "status": "done"}})
