"""The chat on imported plans: the project's sample plan everywhere, the reference plan (Hanoi
87/KH-UBND) where it sits beside the checkout."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.core import registration
from storage.agencies import resolve_agency
from storage.models.people import FOCAL, ProgressUpdate
from storage.models.plan import Agency, Section, Task
from storage.plans.importer import import_plan_file
from tests.bot.core.chat import ChatUser
from tests.conftest import SAMPLE_PLAN


async def _focal_point(db, core, clock, agency_name: str, user: str) -> ChatUser:
    async with db.transaction() as session:
        agency = await resolve_agency(session, agency_name)
        issued = await registration.issue_invite(
            session, role=FOCAL, agency=agency, now=clock.now(), valid_for=dt.timedelta(days=7)
        )
    chat = ChatUser(core, user, language_hint="en")
    await chat.say(f"/start {issued.token}")
    return chat


async def _codes(db) -> list[str]:
    async with db.snapshot() as session:
        rows = await session.execute(
            select(Task.code)
            .join(ProgressUpdate, ProgressUpdate.task_id == Task.id)
            .order_by(ProgressUpdate.id)
        )
        return [code for (code,) in rows]


async def test_on_the_reference_plan_a_task_is_named_by_its_tt_or_its_plan_numbering(
    db, core, clock, reference_plan
):
    async with db.transaction() as session:
        await import_plan_file(session, reference_plan)
    lan = await _focal_point(db, core, clock, "Sở Du lịch", "lan")

    tasks = await lan.say("/nhiemvu")
    await lan.say("/capnhat IV.3 hoàn thành Đã mở rộng 3 điểm hỗ trợ khách")
    await lan.say("/capnhat 3 đang thực hiện 80% Đang triển khai quy tắc ứng xử")

    assert tasks.startswith("Tasks of Sở Du lịch — report due Saturday, 20 June 2020")
    assert "\n3. [IV.3] Tiếp tục phối hợp, mở rộng các cơ sở" in tasks
    assert await _codes(db) == ["IV.3", "IV.3"]


async def test_on_the_reference_plan_sở_tttt_also_answers_for_tasks_it_leads_in_other_sections(
    db, core, clock, reference_plan
):
    async with db.transaction() as session:
        await import_plan_file(session, reference_plan)
    minh = await _focal_point(db, core, clock, "Sở TTTT", "minh")

    await minh.say("/capnhat")
    choices = [button.label.split(" · ")[0] for row in minh.last[0].buttons for button in row]

    expected = ["I.1", "I.2", "I.3", "I.4", "I.5", "I.6", "I.7", "I.8", "II.5", "III.7", "IV.9", "X.5"]
    assert choices == expected


async def _import_sample(db):
    async with db.transaction() as session:
        return await import_plan_file(session, SAMPLE_PLAN)


async def test_the_sample_plan_supports_the_whole_round_trip(db, core, clock):
    report = await _import_sample(db)
    async with db.snapshot() as session:
        code, agency_name, short_name = (
            await session.execute(
                select(Task.code, Agency.name, Agency.short_name)
                .join(Section, Section.id == Task.section_id)
                .join(Agency, Agency.id == Section.agency_id)
                .where(Task.plan_id == report.plan_id)
                .order_by(Section.position, Task.number)
                .limit(1)
            )
        ).one()
    async with db.transaction() as session:
        issued = await registration.issue_invite(
            session, role="coordinator", agency=None, now=clock.now(), valid_for=dt.timedelta(days=1)
        )
    an = ChatUser(core, "an", language_hint="en")
    await an.say(f"/start {issued.token}")
    lan = await _focal_point(db, core, clock, agency_name, "lan")

    saved = await lan.say(f"/capnhat {code} done Finished")
    summary = await an.say("/tonghop")

    assert saved.startswith(f"Saved: task {code} — done.")
    assert f"✓ {short_name or agency_name} — 1/" in summary
    assert await _codes(db) == [code]
