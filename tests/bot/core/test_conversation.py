"""Conversation state in the database, tolerant command words, numbered answers, and buttons that
only act for the person they were made for."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.app import App
from bot.core.service import Core
from storage import people
from storage.db import Database
from storage.models.people import ProgressUpdate
from tests.bot.core.chat import ChatUser


async def _count_updates(db) -> int:
    async with db.snapshot() as session:
        return len((await session.execute(select(ProgressUpdate.id))).all())


async def test_a_restart_mid_flow_keeps_the_users_place(db, app, focal):
    await focal.say("/capnhat")
    await focal.say("2")
    # A new process: a fresh engine on the same database and a new core, nothing kept in memory.
    fresh_db = Database(db.url, pg_server_settings=None) if db.sqlite else db
    restarted = ChatUser(Core(App(config=app.config, db=fresh_db, clock=app.clock)), "lan")

    text = await restarted.say("3")

    assert text.startswith("In a few words, what was done")
    if fresh_db is not db:
        await fresh_db.dispose()


async def test_cancel_leaves_the_flow_and_saves_nothing(db, focal):
    await focal.say("/capnhat")
    await focal.say("2")

    text = await focal.say("huy")
    after = await focal.say("3")

    assert text == "Cancelled. Nothing from it was saved."
    assert after.startswith("I did not understand that.")
    assert await _count_updates(db) == 0


async def test_cancel_with_nothing_under_way_says_so(db, focal):
    assert await focal.say("/cancel") == "There is nothing to cancel."


async def test_an_idle_flow_expires_with_a_message(db, focal, clock):
    await focal.say("/capnhat")
    await focal.say("2")
    clock.advance(minutes=31)

    text = await focal.say("3")

    assert text.startswith("Your unfinished /capnhat timed out and was cancelled; nothing from it was saved.")
    assert await _count_updates(db) == 0


async def test_a_flow_answered_within_the_timeout_goes_on(db, focal, clock):
    await focal.say("/capnhat")
    clock.advance(minutes=29)

    text = await focal.say("2")

    assert text.startswith("Task II.2:")


async def test_a_new_command_mid_flow_leaves_the_flow(db, focal):
    await focal.say("/capnhat")

    text = await focal.say("/lich")

    assert text.startswith("Reporting deadlines of plan 87/KH-UBND:")
    assert (await focal.say("Installed signs")).startswith("I did not understand that.")


async def test_command_words_match_without_slash_case_or_diacritics(db, focal):
    for typed in ("Nhiệm vụ", "NHIEMVU", "nhiem vu", "/tasks", "/Nhiemvu@nhacviec_bot"):
        text = await focal.say(typed)
        assert text.startswith("Tasks of Sở Du lịch"), typed


async def test_a_note_that_starts_with_a_command_word_stays_a_note(db, focal):
    await focal.say("/capnhat 1")
    await focal.tap("In progress")

    await focal.say("Lich phát sóng đã gửi các đài")
    await focal.tap("No evidence")

    async with db.snapshot() as session:
        notes = (await session.execute(select(ProgressUpdate.note))).scalars().all()
    assert notes == ["Lich phát sóng đã gửi các đài"]


async def test_an_unknown_command_names_the_help(db, focal):
    assert await focal.say("/xoa") == "Unknown command /xoa. Send /trogiup to see the commands."


async def test_a_number_out_of_range_of_a_menu_is_answered_with_the_range(db, focal):
    await focal.say("/ngonngu")

    assert await focal.say("7") == "Please answer with a number from 1 to 2."


async def test_a_forged_button_is_refused(db, focal):
    text = await focal.press("not-a-real-key")

    assert text[0].text == "That button is no longer valid. Send /trogiup to see what you can do."


async def test_someone_elses_button_is_refused(db, core, focal, coordinator):
    await focal.say("/capnhat")
    lans_button = focal.last[0].buttons[0][0].data

    replies = await coordinator.press(lans_button)

    assert replies[0].text == "That button was not meant for you."
    async with db.snapshot() as session:
        state = await people.load_state(session, platform="console", chat_id="lan", user_id="lan")
        assert state.step == "task"


async def test_a_button_whose_role_was_withdrawn_does_nothing(db, core, clock, focal):
    # A key issued to Lan for a coordinator's action (as if she had been one and lost the role).
    async with db.transaction() as session:
        key = await people.add_callback(
            session,
            platform="console",
            user_id="lan",
            action="approve",
            payload={"member_id": 1},
            now=clock.now(),
            expires_at=clock.now() + dt.timedelta(days=1),
        )

    replies = await focal.press(key)

    assert replies[0].text == "You may not do that any more. Send /trogiup to see what you can do."


async def test_an_old_choice_from_a_finished_flow_is_not_accepted(db, focal):
    await focal.say("/capnhat")
    old = focal.last[0].buttons[1][0].data
    await focal.say("/capnhat 1 done finished")

    replies = await focal.press(old)

    assert replies[0].text == "That question is no longer open. Send /trogiup to see what you can do."


async def test_the_language_is_stored_per_member(db, focal):
    await focal.say("/ngonngu vi")

    text = await focal.say("/nhiemvu")

    assert text.startswith("Nhiệm vụ của Sở Du lịch")


async def test_an_unregistered_user_gets_the_platforms_language_until_they_choose(db, core, plan):
    english = ChatUser(core, "john", language_hint="en-US")
    vietnamese = ChatUser(core, "hung", language_hint=None)

    assert (await english.say("hello")).startswith("You are not registered yet.")
    assert (await vietnamese.say("xin chào")).startswith("Bạn chưa đăng ký.")
    await vietnamese.say("/ngonngu en")
    assert (await vietnamese.say("xin chào")).startswith("You are not registered yet.")


async def test_when_the_database_cannot_be_reached_the_user_gets_an_apology_in_their_language(tmp_path, app):
    unreachable = Database(f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'nhacviec.db'}")
    broken = Core(App(config=app.config, db=unreachable, clock=app.clock))

    replies = await ChatUser(broken, "lan", language_hint="en").send("/capnhat 1 done")
    vietnamese = await ChatUser(broken, "hung").send("/capnhat 1 xong")

    assert [r.text for r in replies] == [
        "Sorry, something went wrong and nothing was saved. Please try again."
    ]
    assert [r.text for r in vietnamese] == [
        "Xin lỗi, đã có lỗi xảy ra và chưa có gì được lưu. Vui lòng thử lại."
    ]
    await unreachable.dispose()
