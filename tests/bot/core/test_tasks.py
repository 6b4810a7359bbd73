"""/nhiemvu and /lich: an agency's tasks with derived status and last update, and what falls due."""

from __future__ import annotations

import datetime as dt

from storage.models import TaskAgency
from storage.models.plan import LEAD
from tests.bot.core.chat import ChatUser
from tests.factories import SectionSpec, make_member, make_plan


async def test_the_task_list_shows_each_tasks_derived_status_and_last_update(db, focal, clock):
    await focal.say("/capnhat 1 in progress 60% Broadcast 6 of 12 programmes")
    clock.advance(days=2)
    await focal.say("/capnhat 2 blocked No permit from the district yet")

    text = await focal.say("/nhiemvu")

    expected = "\n".join(
        [
            "Tasks of Sở Du lịch — report due Saturday, 20 June 2020",
            "0/3 done · average progress 20%",
            "1. [II.1] Quảng bá du lịch Thủ đô trên kênh quốc tế (Cả năm)",
            "   ▶ in progress 60% · not due yet · last update 1 Jun 2020 by Lan",
            "   “Broadcast 6 of 12 programmes”",
            "2. [II.2] Lắp đặt biển chỉ dẫn du lịch tại các quận (Cả năm)",
            "   ⚠ blocked · not due yet · last update 3 Jun 2020 by Lan",
            "   “No permit from the district yet”",
            "3. [II.3] Đón đoàn khảo sát sản phẩm du lịch (Cả năm)",
            "   · not reported · not due yet",
            "",
            "To report: /capnhat, or in one line: /capnhat 2 done <what was done>",
        ]
    )
    assert text == expected


async def test_a_task_done_after_its_end_date_reads_done_and_late(db, core, clock):
    sections = [SectionSpec("Sở Du lịch", [("Hội chợ du lịch", "Tháng 5/2020", dt.date(2020, 5, 31))])]
    async with db.transaction() as session:
        built = await make_plan(session, sections)
        await make_member(session, "Lan", agency=built.agencies["Sở Du lịch"], user_id="lan", language="vi")
    lan = ChatUser(core, "lan")

    await lan.say("/capnhat 1 xong")
    text = await lan.say("/nhiemvu")

    assert "✓ hoàn thành · trễ hạn" in text


async def test_deadlines_show_the_reporting_dates_and_the_agencys_tasks_falling_due(db, core, clock):
    sections = [
        SectionSpec(
            "Sở Du lịch",
            [
                ("Hội chợ du lịch quốc tế", "Tháng 6/2020", dt.date(2020, 6, 30)),
                ("Quảng bá trên kênh quốc tế", "Cả năm", dt.date(2020, 12, 31)),
            ],
        )
    ]
    async with db.transaction() as session:
        built = await make_plan(session, sections)
        await make_member(session, "Lan", agency=built.agencies["Sở Du lịch"], user_id="lan", language="vi")
    lan = ChatUser(core, "lan")

    text = await lan.say("/lich")

    expected = "\n".join(
        [
            "Hạn báo cáo của Kế hoạch 87/KH-UBND:",
            "▶ Thứ Bảy, 20/6/2020 (còn 19 ngày)",
            "• Thứ Sáu, 20/11/2020 (còn 172 ngày)",
            "",
            "Nhiệm vụ của Sở Du lịch sắp đến hạn:",
            "• 1. [I.1] Hội chợ du lịch quốc tế — 30/6/2020",
        ]
    )
    assert text == expected


async def _co_led(db, core, plan):
    """II.1 led by Sở Du lịch and Sở TTTT together; Lan speaks for the first, Minh for the second."""
    async with db.transaction() as session:
        tttt = plan.agencies["Sở Thông tin và Truyền thông"]
        session.add(TaskAgency(task_id=plan.tasks["II.1"].id, agency_id=tttt.id, role=LEAD, position=1))
        await make_member(session, "Lan", agency=plan.agencies["Sở Du lịch"], user_id="lan", language="en")
        await make_member(session, "Minh", agency=tttt, user_id="minh", language="en")
    return ChatUser(core, "lan"), ChatUser(core, "minh")


async def test_a_co_led_task_in_each_leads_list_reads_as_that_lead_stands(db, core, plan, clock):
    lan, minh = await _co_led(db, core, plan)
    await minh.say("/nhiemvu")  # the plan's tasks are kept from here on, leads and all
    await lan.say("/capnhat 1 done Broadcast all 12 programmes")

    own = await lan.say("/nhiemvu")
    other = await minh.say("/nhiemvu")

    assert "1. [II.1] Quảng bá du lịch Thủ đô trên kênh quốc tế (Cả năm)\n   ✓ done" in own
    # Sở TTTT answers for its own three tasks and the one it co-leads, which it has not reported on.
    assert "4. [II.1] Quảng bá du lịch Thủ đô trên kênh quốc tế (Cả năm)\n   · not reported" in other
    assert "0/4 done" in other
