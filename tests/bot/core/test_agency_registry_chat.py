"""/coquan in chat: admins change the registry; focal points moved by a merge are told in their own
language; a group's members each see, are reminded of and report on the group's task."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.reminders import build_engine
from storage import registry
from storage.models import Agency, Member
from storage.models.reminders import CANCELLED, PENDING, Reminder
from tests.bot.core.chat import ChatUser
from tests.factories import SectionSpec, make_member, make_plan

WARDS = ["UBND phường Ba Đình", "UBND phường Ngọc Hà", "UBND phường Giảng Võ"]


@pytest.fixture
async def admin(db, core, plan) -> ChatUser:
    async with db.transaction() as session:
        await make_member(session, "Minh", role="admin", user_id="minh", language="en")
    return ChatUser(core, "minh")


@pytest.fixture
async def tttt_focal_points(db, plan):
    async with db.transaction() as session:
        tttt = plan.agencies["Sở Thông tin và Truyền thông"]
        # One focal point per agency (the schema holds to it); she chats in Vietnamese, the admin in English.
        await make_member(session, "Hoa", agency=tttt, user_id="hoa", language="vi")


async def test_an_admin_merges_in_chat_and_the_moved_focal_point_is_told_in_her_language(
    db, admin, tttt_focal_points
):
    reply = await admin.say('/coquan merge "Sở TTTT" --into "Sở Khoa học và Công nghệ" --from 1/6/2020')

    expected = (
        "Merged Sở Thông tin và Truyền thông into Sở Khoa học và Công nghệ from Monday, 1 June 2020.\n"
        "Focal points moved (each told in chat): Hoa\n"
        # Its own three tasks, and the three of Sở Du lịch it coordinates.
        "6 open tasks of active plans moved"
    )
    assert reply == expected
    (to_hoa,) = admin.to("hoa")
    assert to_hoa.text.startswith("Sở Thông tin và Truyền thông nay tiếp tục là Sở Khoa học và Công nghệ")
    async with db.snapshot() as session:
        agencies = set(await session.scalars(select(Agency.name).join(Member, Member.agency_id == Agency.id)))
    assert "Sở Thông tin và Truyền thông" not in agencies


async def test_the_same_merge_in_chat_a_second_time_changes_nothing(db, admin, tttt_focal_points):
    await admin.say('/coquan merge "Sở TTTT" --into "Sở KH&CN" --from 1/6/2020')
    again = await admin.say('/coquan merge "Sở TTTT" --into "Sở KH&CN" --from 1/6/2020')

    assert again == "Already so, nothing changed: Sở Thông tin và Truyền thông → Sở Khoa học và Công nghệ."
    assert admin.to("hoa") == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            '/coquan merge "Sở Không Có" --into "Sở Du lịch" --from 1/6/2020',
            'There is no agency "Sở Không Có"',
        ),
        (
            '/coquan merge "Sở Du lịch" --into "Sở Du lịch" --from 1/6/2020',
            "Sở Du lịch cannot be merged into itself",
        ),
        (
            '/coquan merge "Sở Du lịch" --into "Sở Ngoại vụ" --from 1/6/2029',
            "01/06/2029 is more than a year ahead",
        ),
        ('/coquan merge "Sở Du lịch" --into "Sở Ngoại vụ" --from 31/2/2020', '"31/2/2020" is not a date'),
        ('/coquan merge "Sở Du lịch" --into "Sở Ngoại vụ"', "This command needs --from."),
        ("/coquan rename", "Agency registry commands:"),
    ],
)
async def test_a_refused_change_in_chat_says_why(db, admin, command, expected):
    reply = await admin.say(command)

    assert reply.startswith(expected)
    async with db.snapshot() as session:
        statuses = set(await session.scalars(select(Agency.status)))
    assert statuses == {"active"}


async def test_the_registry_is_for_admins_only(db, coordinator, focal):
    expected = "/coquan is for administrators only."
    assert (await coordinator.say("/coquan list")).startswith(expected)
    assert (await focal.say('/coquan merge "Sở Du lịch" --into "Sở Ngoại vụ" --from 1/6/2020')).startswith(
        expected
    )


async def test_an_admin_writing_in_vietnamese_gets_vietnamese(db, core, plan):
    async with db.transaction() as session:
        await make_member(session, "Minh", role="admin", user_id="minh", language="vi")
    reply = await ChatUser(core, "minh").say('/coquan show "so tttt"')

    assert reply.startswith("Sở Thông tin và Truyền thông (Sở TTTT)\nTrạng thái: đang hoạt động")


# ---------------------------------------------------------------- groups


@pytest.fixture
async def wards_plan(db):
    async with db.transaction() as session:
        built = await make_plan(
            session,
            [
                SectionSpec("UBND các xã, phường", ["Cung cấp thông tin đối ngoại ở cơ sở"]),
                SectionSpec("Sở Du lịch", ["Quảng bá du lịch"]),
            ],
        )
        await registry.define_group(session, "UBND các xã, phường", WARDS)
        for index, ward in enumerate(WARDS):
            await make_member(
                session,
                f"Ward{index}",
                agency=await registry.find(session, ward),
                user_id=f"ward{index}",
                language="en",
            )
        return built


async def test_a_group_of_three_wards_is_three_reporting_units_each_seeing_the_task(db, core, wards_plan):
    lists = [await ChatUser(core, f"ward{index}").say("/nhiemvu") for index in range(3)]

    for text in lists:
        assert "Cung cấp thông tin đối ngoại ở cơ sở" in text
        assert "Quảng bá du lịch" not in text


async def test_each_ward_is_reminded_and_a_report_settles_only_its_own_reminders(db, app, core, wards_plan):
    engine = build_engine(app, {})
    await engine.plan()
    async with db.snapshot() as session:
        ward_ids = [(await registry.find(session, ward)).id for ward in WARDS]
        before = {
            agency_id: set(
                await session.scalars(select(Reminder.status).where(Reminder.agency_id == agency_id))
            )
            for agency_id in ward_ids
        }

    await ChatUser(core, "ward0").say("/capnhat 1 done Đã đăng 12 tin")

    async with db.snapshot() as session:
        after = {
            agency_id: set(
                await session.scalars(
                    select(Reminder.status).where(
                        Reminder.agency_id == agency_id, Reminder.deadline == dt.date(2020, 6, 20)
                    )
                )
            )
            for agency_id in ward_ids
        }
    assert all(PENDING in statuses for statuses in before.values())
    assert after[ward_ids[0]] == {CANCELLED}
    assert PENDING in after[ward_ids[1]] and PENDING in after[ward_ids[2]]


async def test_the_summary_shows_how_many_units_of_the_group_reported_and_who_has_not(db, core, wards_plan):
    async with db.transaction() as session:
        await make_member(session, "An", role="coordinator", user_id="an", language="en")
    await ChatUser(core, "ward1").say("/capnhat 1 done Đã đăng 5 tin")

    summary = await ChatUser(core, "an").say("/tonghop")
    missing = await ChatUser(core, "an").say("/chuabaocao")

    expected = (
        "✗ UBND các xã, phường: 1 of 3 units reported\n   not yet: UBND phường Ba Đình, UBND phường Giảng Võ"
    )
    assert expected in summary
    assert expected in missing


async def test_the_report_lists_the_groups_results_per_member(db, app, core, wards_plan):
    import io

    import docx

    from bot.i18n import use_language
    from bot.render.docx import Letterhead, render_docx
    from storage.summary import build_summary

    await ChatUser(core, "ward2").say("/capnhat 1 done Đã đăng 7 tin")
    async with db.snapshot() as session:
        summary = await build_summary(
            session,
            wards_plan.plan.id,
            cycle=dt.date(2020, 6, 20),
            today=dt.date(2020, 6, 2),
            tz=app.config.tz,
        )
    with use_language("vi"):
        content = render_docx(summary, tz=app.config.tz, letterhead=Letterhead())
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)

    assert "UBND các xã, phường: 1 trên 3 đơn vị đã báo cáo." in text
    assert "- UBND phường Ba Đình: chưa báo cáo." in text
    assert "- UBND phường Giảng Võ: I.1 hoàn thành (Đã đăng 7 tin)." in text


async def test_a_dissolved_agency_is_no_longer_reminded(db, app, plan, focal):
    # Lan is Sở Du lịch's focal point: without the dissolution she would be reminded (see
    # test_reminders_meet_core).
    async with db.transaction() as session:
        await registry.dissolve(session, "Sở Du lịch", on=dt.date(2020, 6, 1), today=dt.date(2020, 6, 1))
    engine = build_engine(app, {})
    await engine.plan()

    async with db.snapshot() as session:
        statuses = set(
            await session.scalars(
                select(Reminder.status).where(Reminder.agency_id == plan.agencies["Sở Du lịch"].id)
            )
        )
    assert PENDING not in statuses
