"""/lichsu (a task's history) and /donvi (an agency at a glance): what each role may see."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage import people
from storage.history import task_history
from storage.models.people import ProgressUpdate


async def test_lichsu_lists_every_update_newest_first_with_who_when_status_percent_and_note(
    db, core, plan, focal, clock
):
    await focal.say("/capnhat 1 not started waiting for the budget")
    clock.advance(days=2)
    await focal.say("/capnhat 1 in progress 60% Broadcast 6 of 12 programmes")

    text = await focal.say("/lichsu 1")

    lines = text.splitlines()
    assert lines[0] == "History of task II.1: Quảng bá du lịch Thủ đô trên kênh quốc tế"
    assert lines[1:] == [
        "• 03/06/2020 08:00 — in progress 60% (Lan, Sở Du lịch)",
        "   “Broadcast 6 of 12 programmes”",
        "• 01/06/2020 08:00 — not started (Lan, Sở Du lịch)",
        "   “waiting for the budget”",
    ]


async def test_a_focal_point_may_not_read_the_history_of_another_agencys_task(db, core, plan, focal):
    text = await focal.say("/lichsu III.1")

    assert text == "You may only see your own agency's tasks."


async def test_a_coordinator_reads_any_agencys_task_by_its_plan_number(db, core, plan, focal, coordinator):
    await focal.say("/capnhat 2 blocked No permit from the district yet")

    text = await coordinator.say("/history II.2")

    assert text.startswith("History of task II.2: Lắp đặt biển chỉ dẫn du lịch tại các quận\n")
    assert "— blocked (Lan, Sở Du lịch)" in text
    assert "“No permit from the district yet”" in text


async def test_lichsu_without_a_task_or_with_an_unknown_one_says_how_to_ask(db, core, plan, coordinator):
    assert (await coordinator.say("/lichsu")).startswith("Which task? Send /lichsu followed by its number")
    assert await coordinator.say("/lichsu IX.9") == "There is no task IX.9 in plan 87/KH-UBND."
    assert await coordinator.say("/lichsu II.3") == (
        "History of task II.3: Đón đoàn khảo sát sản phẩm du lịch\nNothing has been reported on this task yet."
    )


async def test_an_edit_keeps_the_text_it_replaced_in_the_history(db, core, plan, focal, clock):
    await focal.say("/capnhat 1 in progress 40% first draft")
    async with db.transaction() as session:
        row = (await session.execute(select(ProgressUpdate))).unique().scalar_one()
        await people.revise_update(
            session,
            row,
            status="in_progress",
            percent=50,
            note="corrected",
            now=clock.now() + dt.timedelta(hours=1),
        )
        versions = await task_history(session, row.task_id)

    assert [(v.percent, v.note, v.revised, v.replaced_at is None) for v in versions] == [
        (50, "corrected", True, True),
        (40, "first draft", False, False),
    ]
    text = await focal.say("/lichsu II.1")
    assert "— in progress 50% (Lan, Sở Du lịch) [edited]" in text
    assert "— in progress 40% (Lan, Sở Du lịch) [replaced by a later edit]" in text


async def test_donvi_shows_an_agencys_tasks_what_it_said_when_and_its_focal_points(
    db, core, plan, focal, coordinator
):
    await focal.say("/capnhat 1 in progress 60% Broadcast 6 of 12 programmes")

    text = await coordinator.say("/donvi du lich")

    lines = text.splitlines()
    assert lines[:4] == [
        "Sở Du lịch",
        "Focal points: Lan",
        "Last reported: 1 Jun 2020",
        "0/3 done · average progress 20%",
    ]
    assert (
        "1. [II.1] Quảng bá du lịch Thủ đô trên kênh quốc tế\n   in progress 60% · not due yet · 1 Jun 2020"
        in text
    )
    assert "3. [II.3] Đón đoàn khảo sát sản phẩm du lịch\n   not reported · not due yet" in text


async def test_donvi_is_for_coordinators(db, core, plan, focal):
    text = await focal.say("/donvi Sở Du lịch")

    assert text.startswith("/donvi is for coordinators only.")
