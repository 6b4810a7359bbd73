"""A department following several plans at once: Hanoi's 87/KH-UBND of 2026 and Lam Giang's
45/KH-UBND of 2026 both give Sở Thông tin và Truyền thông tasks; the 87/KH-UBND of 2020 has ended."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import event, select

from bot.core.context import Context
from bot.core.handlers import plans as plan_handlers
from bot.core.messages import Incoming
from storage.models import Agency, Member, Plan, ProgressUpdate, Section, Task
from storage.plans.importer import import_plan_file
from tests.bot.core.chat import ChatUser
from tests.conftest import SAMPLE_PLAN
from tests.factories import make_earlier_plans, make_member
from tests.recording_transport import RecordingTransport
from tests.scheduler.conftest import make_engine

PLAN_87_2026 = Path(__file__).resolve().parents[2] / "data" / "ke-hoach-87-KH-UBND-2026.txt"
# 9:00 in Hanoi on Monday 4 May 2026: both 2026 plans run, the 2020 one ended long ago.
MAY_2026 = dt.datetime(2026, 5, 4, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(clock):
    clock.set(MAY_2026)
    return clock


@pytest.fixture
async def plans(db, tmp_path, clock) -> dict[str, int]:
    """Plan ids by "number-year"."""
    plan_45 = tmp_path / "ke-hoach-45-2026.txt"
    plan_45.write_text(SAMPLE_PLAN.read_text(encoding="utf-8").replace("2021", "2026"), encoding="utf-8")
    ids = {}
    async with db.transaction() as session:
        for key, path in (("87-2026", PLAN_87_2026), ("45-2026", plan_45)):
            ids[key] = (await import_plan_file(session, path, now=clock.now())).plan_id
    return ids


@pytest.fixture
async def focal(db, core, plans) -> ChatUser:
    """Minh, focal point of the agency of both plans' section I (Sở Thông tin và Truyền thông as the
    plans write it; the registry may know it by its successor's name)."""
    async with db.transaction() as session:
        agency_id = await session.scalar(
            select(Section.agency_id).where(Section.plan_id == plans["87-2026"], Section.numeral == "I")
        )
        agency = await session.get(Agency, agency_id)
        await make_member(session, "Minh", agency=agency, user_id="minh", language="en")
    return ChatUser(core, "minh")


@pytest.fixture
async def coordinator(db, core, plans) -> ChatUser:
    async with db.transaction() as session:
        await make_member(session, "An", role="coordinator", user_id="an", language="en")
    return ChatUser(core, "an")


async def stored_updates(db) -> list[tuple[int, str, str]]:
    async with db.snapshot() as session:
        rows = await session.execute(
            select(Task.plan_id, Task.code, ProgressUpdate.status)
            .join(Task, Task.id == ProgressUpdate.task_id)
            .order_by(ProgressUpdate.id)
        )
        return [tuple(row) for row in rows]


async def test_nhiemvu_groups_the_tasks_by_plan(focal):
    replies = await focal.send("/nhiemvu")
    # Both short lists fit in one message, each under its plan's heading.
    assert len(replies) == 1
    text = replies[0].text
    assert "📋 87/KH-UBND (2026) — Triển khai chuyển đổi số" in text
    assert "📋 45/KH-UBND (2026) — Triển khai chuyển đổi số" in text
    assert text.count("Tasks of ") == 2


async def test_a_plan_qualified_update_goes_to_that_plans_task(db, focal, plans):
    text = await focal.say("/capnhat 45/I.1 done Cổng đã vận hành")
    assert text.startswith("Saved: task I.1 — done.")
    assert await stored_updates(db) == [(plans["45-2026"], "I.1", "done")]


async def test_a_number_and_year_before_the_task_names_the_plan(db, focal, plans):
    await focal.say("/capnhat 87-2026 I.2 in progress 40%")
    assert await stored_updates(db) == [(plans["87-2026"], "I.2", "in_progress")]


async def test_a_reference_fitting_both_plans_asks_which_with_buttons(db, focal, plans):
    await focal.say("/capnhat I.1 done")
    assert focal.text().startswith("Task I.1 is in several of your plans. Which plan is the update for?")

    await focal.tap("45/KH-UBND (2026)")

    assert await stored_updates(db) == [(plans["45-2026"], "I.1", "done")]


async def test_a_bare_one_line_update_with_a_plan_is_taken_too(db, focal, plans):
    await focal.say("87/3 xong")
    assert await stored_updates(db) == [(plans["87-2026"], "I.3", "done")]


async def test_the_guided_update_asks_for_the_plan_first_when_there_are_several(db, focal, plans):
    await focal.say("/capnhat")
    assert focal.text().startswith("Your agency has tasks in several plans. Which plan is the update for?")
    await focal.tap("87/KH-UBND (2026)")
    assert focal.text().startswith("Which task?")
    await focal.tap("I.4")
    await focal.tap("Done")
    await focal.tap("No note")
    await focal.tap("No evidence")
    assert await stored_updates(db) == [(plans["87-2026"], "I.4", "done")]


async def test_the_guided_update_skips_the_plan_question_when_only_one_plan_is_followed(
    db, focal, coordinator, plans
):
    await coordinator.say("/kehoach")
    await coordinator.tap("Close 45/KH-UBND (2026)")
    await focal.say("/capnhat")
    assert focal.text().startswith("Which task?")
    text = await focal.say("/nhiemvu")
    assert "📋" not in text
    assert text.startswith("Tasks of ")


async def test_a_coordinator_command_asks_which_plan_when_several_are_followed(coordinator):
    await coordinator.say("/tonghop")
    assert coordinator.text().startswith("Which plan? Choose it, or send /tonghop followed by its number.")
    await coordinator.tap("45/KH-UBND (2026)")
    assert coordinator.text().startswith("Summary of plan 45/KH-UBND")


@pytest.mark.parametrize("command", ["/tonghop 87", "/tonghop 87-2026", "/chuabaocao 87"])
async def test_a_coordinator_command_names_its_plan(coordinator, command):
    text = await coordinator.say(command)
    assert "87/KH-UBND" in text.splitlines()[0]


async def test_export_of_a_named_plan(coordinator):
    replies = await coordinator.send("/xuat 45 xlsx")
    assert replies[0].text.startswith("Plan 45/KH-UBND, reporting cycle ending")
    assert [d.filename.endswith(".xlsx") for d in replies[0].documents] == [True]


async def test_kehoach_lists_the_plans_with_status_and_lets_a_coordinator_close_and_reopen(
    db, coordinator, plans
):
    text = await coordinator.say("/kehoach")
    assert "• 87/KH-UBND (2026) — active" in text
    assert "• 45/KH-UBND (2026) — active" in text
    await coordinator.tap("Close 87/KH-UBND (2026)")
    assert coordinator.text().startswith("Closed plan 87/KH-UBND (2026)")
    text = await coordinator.say("/kehoach")
    assert "• 87/KH-UBND (2026) — closed" in text
    await coordinator.tap("Reopen 87/KH-UBND (2026)")
    async with db.snapshot() as session:
        lifecycle = await session.scalar(select(Plan.lifecycle).where(Plan.id == plans["87-2026"]))
    assert lifecycle == "auto"


async def test_a_focal_point_sees_the_plans_but_cannot_close_them(focal):
    replies = await focal.send("/kehoach")
    assert "• 87/KH-UBND (2026) — active" in replies[0].text
    assert replies[0].buttons == []


async def test_lich_lists_the_deadlines_of_every_followed_plan_in_date_order(focal):
    text = await focal.say("/lich")
    lines = text.splitlines()
    assert lines[0] == "Reporting deadlines of the plans being followed:"
    expected = [
        ("15 June 2026", "— 45/KH-UBND (2026)"),
        ("15 June 2026", "— 87/KH-UBND (2026)"),
        ("15 November 2026", "— 45/KH-UBND (2026)"),
        ("15 November 2026", "— 87/KH-UBND (2026)"),
    ]
    assert [
        (day in line, line.endswith(plan)) for line, (day, plan) in zip(lines[1:5], expected, strict=True)
    ] == [(True, True)] * 4


async def test_lich_with_no_plan_followed_points_to_the_last_one(db, core, reference_plan, clock):
    async with db.transaction() as session:
        await import_plan_file(session, reference_plan, now=clock.now())
        await make_member(session, "An", role="coordinator", user_id="an", language="en")
    text = await ChatUser(core, "an").say("/lich")
    assert text.startswith(
        "No plan is being followed now, so no deadline is coming. The last plan, 87/KH-UBND (2020)"
    )
    assert "/tonghop 87" in text


async def test_nhacnho_refuses_a_closed_plan(coordinator):
    await coordinator.say("/kehoach")
    await coordinator.tap("Close 45/KH-UBND (2026)")
    text = await coordinator.say("/nhacnho 45")
    assert text == "Plan 45/KH-UBND (2026) is closed: it sends no reminders. /kehoach can reopen it."


async def test_one_merged_reminder_a_day_names_both_plans(db, clock, focal, plans):
    transport = RecordingTransport(clock)
    engine = make_engine(db, clock, [transport])
    # 8 June 2026, 08:00 in Hanoi: a week before both plans' reporting deadline of 15 June.
    clock.set(dt.datetime(2026, 6, 8, 1, 0, tzinfo=dt.UTC))
    await engine.run_once()
    await engine.run_once()

    to_minh = [message for message in transport.sent if message.chat_id == "minh"]
    assert len(to_minh) == 1
    text = to_minh[0].text
    assert "Plan 87/KH-UBND:" in text and "Plan 45/KH-UBND:" in text


async def kept_plans(db, count: int) -> None:
    async with db.transaction() as session:
        await make_earlier_plans(session, count)


async def test_a_message_reads_the_plans_followed_not_every_plan_kept_for_years(
    db, focal, coordinator, plans
):
    await kept_plans(db, 40)
    read: list[tuple[str, int]] = []

    def loaded(plan, _context):
        read.append((plan.number, plan.year))

    event.listen(Plan, "load", loaded)
    try:
        saved = await focal.say("/capnhat 45/I.1 done Cổng đã vận hành")
        by_the_update = set(read)
        read.clear()
        listed = await focal.say("/nhiemvu")
        by_the_list = set(read)
    finally:
        event.remove(Plan, "load", loaded)
    assert saved.startswith("Saved: task I.1 — done.")
    assert await stored_updates(db) == [(plans["45-2026"], "I.1", "done")]
    assert "📋 87/KH-UBND (2026)" in listed and "📋 45/KH-UBND (2026)" in listed
    followed = {("87/KH-UBND", 2026), ("45/KH-UBND", 2026)}
    assert by_the_update == by_the_list == followed
    # The plans of earlier years stay listed, with their status, for whoever asks for them.
    every = await coordinator.say("/kehoach")
    assert "2/KH-UBND (2018)" in every and "1/KH-UBND (2019)" in every


async def test_a_plan_reopened_is_followed_again_within_the_same_message(db, app, plans, clock):
    await kept_plans(db, 4)
    async with db.transaction() as session:
        an = await make_member(session, "An", role="coordinator", user_id="an", language="en")
        closed = await session.scalar(select(Plan.id).where(Plan.number == "1/KH-UBND"))
    async with db.transaction() as session:
        ctx = Context(
            app=app,
            session=session,
            incoming=Incoming("console", "an", "an", "An", "/kehoach"),
            now=clock.now(),
            member=await session.get(Member, an.id),
            state=None,
            language="en",
        )
        before = [plan.number for plan in await ctx.active_plans()]
        reply = await plan_handlers.reopen_action(ctx, {"plan_id": closed})
        after = [(plan.number, plan.year) for plan in await ctx.active_plans()]
        picked = await ctx.plan()
        odd = [await ctx.plan_by_id(value) for value in (2**40, -1, 0, True, "5", None)]
    assert sorted(before) == ["45/KH-UBND", "87/KH-UBND"]
    # Anything but a plan's id names none, and is not looked up.
    assert odd == [None] * 6
    # Outside a message's language the reply is in Vietnamese, the default.
    assert reply[0].text.startswith("Đã mở lại kế hoạch 1/KH-UBND (2019)")
    assert ("1/KH-UBND", 2019) in after and len(after) == 3
    assert (picked.number, picked.year) == (after[0][0], 2026)


def listed(text: str) -> list[str]:
    return [line[2:].split(" — ")[0] for line in text.splitlines() if line.startswith("• ")]


async def test_kehoach_lists_the_plans_followed_then_the_earlier_ones_ten_at_a_time(db, coordinator, focal):
    await kept_plans(db, 25)
    first = await coordinator.say("/kehoach")
    # The plans followed first, then the most recent earlier plans: 2019's, then 2018's …
    assert sorted(listed(first)[:2]) == ["45/KH-UBND (2026)", "87/KH-UBND (2026)"]
    assert listed(first)[2:] == [f"{n}/KH-UBND (2019)" for n in (21, 11, 1)] + [
        f"{n}/KH-UBND (2018)" for n in (22, 12, 2)
    ] + [f"{n}/KH-UBND (2017)" for n in (23, 13, 3)] + ["24/KH-UBND (2016)"]
    assert "• 1/KH-UBND (2019) — closed" in first and "• 11/KH-UBND (2019) — ended" in first
    assert "15 earlier plans are not shown." in first
    # One button per plan listed (close or reopen), and one for the rest: far below a chat's limit.
    assert [len(reply.buttons) for reply in coordinator.last] == [13]

    second = await coordinator.tap("Earlier plans")
    second_text = coordinator.text()
    assert second_text.startswith("Earlier plans:")
    assert len(listed(second_text)) == 10 and "87/KH-UBND (2026)" not in listed(second_text)
    assert "5 earlier plans are not shown." in second_text
    assert len(second[0].buttons) == 11
    await coordinator.tap("Earlier plans")
    last = listed(coordinator.text())
    assert last == [f"{n}/KH-UBND ({2019 - (n - 1) % 10})" for n in (8, 19, 9, 20, 10)]
    assert "not shown" not in coordinator.text()
    assert [row[0].label for row in coordinator.last[0].buttons] == [f"Reopen {plan}" for plan in last]
    # Every plan kept was listed once, over the three pages.
    assert len(set(listed(first) + listed(second_text) + last)) == 27

    # A focal point pages the same way, with no close or reopen buttons.
    replies = await focal.send("/kehoach")
    assert [[button.label for button in row] for row in replies[0].buttons] == [["Earlier plans"]]
    await focal.tap("Earlier plans")
    assert focal.text().startswith("Earlier plans:") and len(listed(focal.text())) == 10


async def test_an_earlier_plans_button_after_the_plans_changed_says_so(db, coordinator):
    await kept_plans(db, 11)
    await coordinator.say("/kehoach")
    async with db.transaction() as session:
        for plan in (await session.scalars(select(Plan).where(Plan.year < 2026))).all():
            await session.delete(plan)
    await coordinator.tap("Earlier plans")
    assert coordinator.text() == "There are no more earlier plans. Send /kehoach to see the plans again."
