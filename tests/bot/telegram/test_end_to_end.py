"""What focal points and coordinators do on Telegram, end to end: the emulator plays the people, the
real bot (PTB, core, reminder engine, SQLite file) answers over real HTTP. Every scenario runs in
polling and in webhook mode."""

from __future__ import annotations

import datetime as dt
import io
import re

import docx
import openpyxl
import pytest
from sqlalchemy import select

from bot.core import registration
from storage.models.people import (
    ACTIVE,
    BLOCKED,
    COORDINATOR,
    DONE,
    FOCAL,
    Identity,
    Member,
    ProgressUpdate,
)
from storage.models.reminders import Reminder
from tests.factories import make_member, make_plan

pytestmark = pytest.mark.parametrize("mode", ["polling", "webhook"])

LAN, TUNG, HA = 2001, 2002, 1001  # Telegram user ids: two focal points and a coordinator


async def setup_people(db, *, focal_language: str = "en", coordinator_language: str = "en"):
    async with db.transaction() as session:
        built = await make_plan(session)
        await make_member(
            session,
            "Hà",
            role=COORDINATOR,
            platform="telegram",
            user_id=str(HA),
            language=coordinator_language,
        )
        await make_member(
            session, "Lan", agency=built.agencies["Sở Du lịch"], platform="telegram", user_id=str(LAN),
            language=focal_language,
        )  # fmt: skip
        await make_member(
            session, "Tùng", agency=built.agencies["Sở Ngoại vụ"], platform="telegram", user_id=str(TUNG),
            language=focal_language,
        )  # fmt: skip
    return built


async def stored_updates(db) -> list[tuple[str, str, str, str | None]]:
    async with db.snapshot() as session:
        rows = await session.scalars(select(ProgressUpdate).order_by(ProgressUpdate.id))
        return [(u.task.code, u.status, u.note, u.member.name if u.member else None) for u in rows]


async def test_a_focal_point_registers_by_opening_the_invite_link(
    telegram, start_bot, sqlite_db, clock, mode
):
    bot = await start_bot(mode)
    async with sqlite_db.transaction() as session:
        built = await make_plan(session)
        issued = await registration.issue_invite(
            session,
            role=FOCAL,
            agency=built.agencies["Sở Du lịch"],
            now=clock.now(),
            valid_for=dt.timedelta(days=7),
        )
    link = registration.deep_link(bot.settings.bot_username, issued.token)
    lan = telegram.user(LAN, "Lan", last_name="Nguyễn", language_code="en")
    late = telegram.user(2099, "Người đến sau", language_code="en")

    await telegram.open_deep_link(lan, link)
    (welcome,) = await telegram.wait_for_messages(LAN, 1)
    await telegram.open_deep_link(late, link)
    (refused,) = await telegram.wait_for_messages(2099, 1)

    assert link == f"https://t.me/nhacviec_bot?start={issued.token}"
    assert "Sở Du lịch" in welcome.text
    assert "/capnhat" in welcome.text
    assert refused.text.startswith("This invite has already been used.")
    async with sqlite_db.snapshot() as session:
        identity = await session.scalar(select(Identity).where(Identity.platform == "telegram"))
        member = await session.get(Member, identity.member_id)
        stored = (identity.external_id, identity.chat_id, member.role, member.status, member.agency.name)
    assert stored == (str(LAN), str(LAN), FOCAL, ACTIVE, "Sở Du lịch")


async def test_a_guided_update_with_buttons_is_stored(telegram, start_bot, sqlite_db, mode):
    await start_bot(mode)
    await setup_people(sqlite_db)
    lan = telegram.user(LAN, "Lan", language_code="en")

    await telegram.send_text(lan, "/capnhat")
    (which,) = await telegram.wait_for_messages(LAN, 1)
    await telegram.tap(lan, which, which.button_labels[1])
    (status,) = await telegram.next_messages(LAN, after=1)
    await telegram.tap(lan, status, "Done")
    (note,) = await telegram.next_messages(LAN, after=2)
    await telegram.send_text(lan, "Đã lắp 40 biển chỉ dẫn <tại 12 quận> & huyện")
    (evidence,) = await telegram.next_messages(LAN, after=3)
    await telegram.tap(lan, evidence, "No evidence")
    (saved,) = await telegram.next_messages(LAN, after=4)

    assert which.button_labels[1].startswith("II.2 · Lắp đặt biển chỉ dẫn")
    assert status.text.startswith("Task II.2: Lắp đặt biển chỉ dẫn du lịch tại các quận")
    assert saved.text.startswith("Saved: task II.2 — done.")
    assert "Note: Đã lắp 40 biển chỉ dẫn <tại 12 quận> & huyện" in saved.text
    expected = [("II.2", DONE, "Đã lắp 40 biển chỉ dẫn <tại 12 quận> & huyện", "Lan")]
    assert await stored_updates(sqlite_db) == expected
    # Every tap was answered, so no button kept spinning on the user's phone.
    assert all(q.answered_at is not None for q in telegram.callback_queries.values())


async def test_a_forged_or_borrowed_button_acts_for_nobody(telegram, start_bot, sqlite_db, mode):
    await start_bot(mode)
    await setup_people(sqlite_db)
    lan, tung = telegram.user(LAN, "Lan", language_code="en"), telegram.user(TUNG, "Tùng", language_code="en")
    await telegram.send_text(lan, "/capnhat")
    (lans_question,) = await telegram.wait_for_messages(LAN, 1)
    lans_button = lans_question.buttons[0][0]["callback_data"]

    # Tùng's modified client replays Lan's button data, then makes some up.
    await telegram.send_text(tung, "/trogiup")
    (tungs_help,) = await telegram.wait_for_messages(TUNG, 1)
    await telegram.tap_data(tung, tungs_help, lans_button)
    await telegram.tap_data(tung, tungs_help, "approve:1")
    borrowed, forged = await telegram.next_messages(TUNG, after=1, count=2)

    assert borrowed.text == "That button was not meant for you."
    assert forged.text.startswith("That button is no longer valid.")
    assert await stored_updates(sqlite_db) == []


async def test_a_one_line_update_is_stored_and_an_edit_revises_it(telegram, start_bot, sqlite_db, mode):
    await start_bot(mode)
    await setup_people(sqlite_db)
    lan = telegram.user(LAN, "Lan", language_code="en")

    sent = await telegram.send_text(lan, "/capnhat 1 đang thực hiện 60% Đã phát sóng 12 chương trình")
    (saved,) = await telegram.wait_for_messages(LAN, 1)
    await telegram.edit_text(sent, "/capnhat 1 gặp vướng mắc Thiếu kinh phí phát sóng")
    (revised,) = await telegram.next_messages(LAN, after=1)

    assert saved.text.startswith("Saved: task II.1 — in progress")
    assert revised.text.startswith("Updated task II.1: blocked.")
    expected = [("II.1", BLOCKED, "Thiếu kinh phí phát sóng", "Lan")]
    assert await stored_updates(sqlite_db) == expected


async def test_a_coordinator_sees_the_cycle_summary_with_its_chart_and_exports_it_with_a_tap(
    telegram, start_bot, sqlite_db, mode
):
    await start_bot(mode)
    await setup_people(sqlite_db)
    lan, ha = telegram.user(LAN, "Lan", language_code="en"), telegram.user(HA, "Hà", language_code="en")
    await telegram.send_text(lan, "/capnhat 2 hoàn thành Đã lắp 40 biển")
    await telegram.wait_for_messages(LAN, 1)

    await telegram.send_text(ha, "/tonghop")
    await telegram.wait_for(
        lambda: {"sendMessage", "sendPhoto"} <= {m.method for m in telegram.sent_to(HA)}, within=20
    )
    summary = telegram.sent_to(HA)
    with_buttons = next(m for m in summary if m.buttons)
    await telegram.tap(
        ha, with_buttons, next(label for label in with_buttons.button_labels if "XLSX" in label)
    )
    await telegram.wait_for(lambda: any(m.document for m in telegram.sent_to(HA)), within=20)

    text = "\n".join(m.text for m in summary)
    assert re.search(r"✓ Sở Du lịch\b", text)
    assert re.search(r"✗ Sở Ngoại vụ\b", text)
    chart = next(m for m in summary if m.method == "sendPhoto")
    assert chart.photo.width > 0 and chart.photo.height > 0
    (spreadsheet,) = [m for m in telegram.sent_to(HA) if m.document]
    workbook = openpyxl.load_workbook(io.BytesIO(spreadsheet.document.content))
    cells = [str(c.value) for row in workbook.worksheets[0].iter_rows() for c in row if c.value is not None]
    assert spreadsheet.document.filename.endswith(".xlsx")
    assert "Đã lắp 40 biển" in cells


async def test_a_coordinator_exports_the_report_as_a_word_file(telegram, start_bot, sqlite_db, mode):
    await start_bot(mode)
    await setup_people(sqlite_db, coordinator_language="vi")
    lan, ha = telegram.user(LAN, "Lan", language_code="en"), telegram.user(HA, "Hà", language_code="vi")
    await telegram.send_text(lan, "/capnhat 2 hoàn thành Đã lắp 40 biển chỉ dẫn")
    await telegram.wait_for_messages(LAN, 1)

    await telegram.send_text(ha, "/xuat docx")
    await telegram.wait_for(lambda: any(m.document for m in telegram.sent_to(HA)), within=20)

    (sent,) = [m for m in telegram.sent_to(HA) if m.document]
    document = docx.Document(io.BytesIO(sent.document.content))
    text = "\n".join(p.text for p in document.paragraphs) + "\n".join(
        cell.text for table in document.tables for row in table.rows for cell in row.cells
    )
    assert sent.method == "sendDocument"
    assert sent.document.filename.endswith(".docx")
    assert "87/KH-UBND" in text
    assert "Đã lắp 40 biển chỉ dẫn" in text


async def test_a_coordinators_reminder_now_reaches_the_focal_points_chat(
    telegram, start_bot, sqlite_db, mode
):
    await start_bot(mode)
    await setup_people(sqlite_db)
    ha = telegram.user(HA, "Hà", language_code="en")
    telegram.user(LAN, "Lan", language_code="en")
    telegram.user(TUNG, "Tùng", language_code="en")

    await telegram.send_text(ha, "/nhacnho ngoai vu")
    (reminder,) = await telegram.wait_for_messages(TUNG, 1)

    assert reminder.text.startswith("Reminder from Hà: the report of Sở Ngoại vụ is due")
    assert telegram.sent_to(LAN) == []


# -- reminders through the engine, with Telegram failing ------------------------------------------

# 12 June 2020, 08:05 in Hanoi: the first reminder before the 20/6 report (T-7 falls on a Saturday,
# so it moves to Friday) is due.
FIRST_REMINDER = dt.datetime(2020, 6, 12, 1, 5, tzinfo=dt.UTC)


async def due_reminders(sqlite_db, user_id: int) -> list[tuple[int, str, str]]:
    """(days before the deadline, status, message id) of the user's reminders due by the first reminder time."""
    async with sqlite_db.snapshot() as session:
        rows = await session.execute(
            select(Reminder.offset_days, Reminder.status, Reminder.message_id)
            .join(Identity, Identity.member_id == Reminder.member_id)
            .where(Identity.external_id == str(user_id), Reminder.due_at <= FIRST_REMINDER)
        )
        return sorted(rows.all())


async def one_focal_point(telegram, sqlite_db, user_id: int, agency: str) -> None:
    async with sqlite_db.transaction() as session:
        built = await make_plan(session)
        await make_member(
            session, "Người nhận", agency=built.agencies[agency], platform="telegram", user_id=str(user_id)
        )
    telegram.user(user_id, "Người nhận")


async def test_a_reminder_rate_limited_by_telegram_goes_out_after_the_wait_it_asked_for(
    telegram, start_bot, sqlite_db, clock, mode
):
    await one_focal_point(telegram, sqlite_db, LAN, "Sở Du lịch")
    bot = await start_bot(mode, reminders=True, reminders_timer=False)
    # A short wait: the sending budget counts real seconds (bot.app.App.rate_limits), so the
    # second send below really waits out what Telegram asked, whatever the test's clock says.
    telegram.faults.next(1, "retry_after", retry_after=3, chat_id=LAN)

    clock.set(FIRST_REMINDER)
    await bot.engine.run_once()
    clock.advance(seconds=2)
    await bot.engine.send()
    too_early = len(telegram.sent_to(LAN))
    clock.advance(seconds=2)
    await bot.engine.send()

    assert too_early == 0
    (reminder,) = telegram.sent_to(LAN)
    assert "[87/KH-UBND · 20/6 · T-7]" in reminder.text
    assert [f.kind for f in telegram.faults.injected] == ["retry_after"]
    assert await due_reminders(sqlite_db, LAN) == [(7, "sent", str(reminder.message_id))]


async def test_a_focal_point_who_blocked_the_bot_is_marked_unreachable(
    telegram, start_bot, sqlite_db, clock, mode
):
    await one_focal_point(telegram, sqlite_db, TUNG, "Sở Ngoại vụ")
    bot = await start_bot(mode, reminders=True, reminders_timer=False)
    telegram.block(telegram.chats[TUNG].user)

    clock.set(FIRST_REMINDER)
    await bot.engine.run_once()

    assert telegram.sent_to(TUNG) == []
    async with sqlite_db.snapshot() as session:
        member = await session.scalar(select(Member).where(Member.name == "Người nhận"))
        state = (member.reachable, member.unreachable_reason)
    assert state[0] is False
    assert "bot was blocked by the user" in state[1]
    assert await due_reminders(sqlite_db, TUNG) == [(7, "unreachable", None)]


async def test_a_reminder_that_met_a_server_error_is_retried(telegram, start_bot, sqlite_db, clock, mode):
    await one_focal_point(telegram, sqlite_db, LAN, "Sở Du lịch")
    bot = await start_bot(mode, reminders=True, reminders_timer=False)
    telegram.faults.next(1, "server_error", chat_id=LAN)

    clock.set(FIRST_REMINDER)
    await bot.engine.run_once()
    first_try = len(telegram.sent_to(LAN))
    clock.advance(seconds=bot.app.config.reminders.retry_backoff_seconds[0] + 1)
    await bot.engine.send()

    assert first_try == 0
    (reminder,) = telegram.sent_to(LAN)
    assert [f.kind for f in telegram.faults.injected] == ["server_error"]
    assert await due_reminders(sqlite_db, LAN) == [(7, "sent", str(reminder.message_id))]
