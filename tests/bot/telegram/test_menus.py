"""Each chat's own command menu follows who is in it: set at the emulator when someone registers as
a coordinator, chooses another language, hands over, or when a group is linked or unlinked."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import update

from bot.core import registration
from storage.models.people import ADMIN, COORDINATOR, FOCAL, Member
from tests.factories import make_member, make_plan


def words(telegram, chat_id: int, language_code: str = "") -> list[str]:
    return [c["command"] for c in telegram.commands_for(language_code, {"type": "chat", "chat_id": chat_id})]


async def invite(db, clock, role, agency=None):
    async with db.transaction() as session:
        issued = await registration.issue_invite(
            session, role=role, agency=agency, now=clock.now(), valid_for=dt.timedelta(days=7)
        )
    return issued.token


async def test_a_new_coordinator_gets_their_menu_as_soon_as_they_register(
    telegram, start_bot, sqlite_db, clock
):
    bot = await start_bot()
    token = await invite(sqlite_db, clock, COORDINATOR)
    ha = telegram.user(1001, "Hà", language_code="vi")
    assert words(telegram, ha.id) == []

    await telegram.open_deep_link(ha, registration.deep_link(bot.settings.bot_username, token))
    await telegram.wait_for_messages(ha.id, 1)

    menu = await telegram.wait_for(lambda: words(telegram, ha.id))
    assert {"tonghop", "chuabaocao", "nhacnho", "xuat", "moi", "choduyet"} <= set(menu)
    assert "start" not in menu


async def test_a_coordinators_menu_changes_language_with_them(telegram, start_bot, sqlite_db):
    async with sqlite_db.transaction() as session:
        await make_member(session, "Hà", role=COORDINATOR, platform="telegram", user_id="1001", language="vi")
    await start_bot()
    ha = telegram.user(1001, "Hà", language_code="vi")
    assert "tonghop" in words(telegram, ha.id)

    await telegram.send_text(ha, "/ngonngu en")
    await telegram.wait_for_messages(ha.id, 1)

    english = await telegram.wait_for(lambda: "summary" in words(telegram, ha.id) and words(telegram, ha.id))
    assert {"summary", "missing", "remind", "export"} <= set(english)
    summary = next(
        c for c in telegram.commands_for("", {"type": "chat", "chat_id": 1001}) if c["command"] == "summary"
    )
    assert summary["description"] == "The reporting cycle at a glance"


async def test_a_focal_point_registering_keeps_the_default_menu(telegram, start_bot, sqlite_db, clock):
    bot = await start_bot()
    async with sqlite_db.transaction() as session:
        built = await make_plan(session)
    first = await invite(sqlite_db, clock, FOCAL, built.agencies["Sở Du lịch"])
    second = await invite(sqlite_db, clock, FOCAL, built.agencies["Sở Du lịch"])
    lan, minh = telegram.user(2001, "Lan"), telegram.user(2002, "Minh")

    await telegram.open_deep_link(lan, registration.deep_link(bot.settings.bot_username, first))
    await telegram.wait_for_messages(lan.id, 1)
    # Minh takes over the agency: Lan is retired, and neither has a menu of their own.
    await telegram.open_deep_link(minh, registration.deep_link(bot.settings.bot_username, second))
    await telegram.wait_for_messages(minh.id, 1)

    assert words(telegram, lan.id) == [] and words(telegram, minh.id) == []
    assert "capnhat" in [c["command"] for c in telegram.commands_for("")]


async def test_a_linked_group_has_its_menu_in_both_languages_until_unlinked(telegram, start_bot, sqlite_db):
    async with sqlite_db.transaction() as session:
        await make_plan(session)
        await make_member(session, "Hà", role=COORDINATOR, platform="telegram", user_id="1", language="en")
    await start_bot()
    ha = telegram.user(1, "Hà", language_code="en")
    group = telegram.group(-5001, "Sở Du lịch — báo cáo")

    await telegram.send_text(ha, "/lienketnhom du lich", chat=group)
    await telegram.wait_for_messages(group.id, 1)

    await telegram.wait_for(lambda: words(telegram, group.id, "en"))
    vietnamese = words(telegram, group.id)
    assert vietnamese == words(telegram, group.id, "vi")
    assert set(vietnamese) == {"trogiup", "nhiemvu", "capnhat", "lich", "huy"}
    assert set(words(telegram, group.id, "en")) == {"help", "tasks", "update", "deadlines", "cancel"}

    await telegram.send_text(ha, "/huylienketnhom", chat=group)
    await telegram.wait_for_messages(group.id, 2)

    await telegram.wait_for(lambda: not words(telegram, group.id) and not words(telegram, group.id, "en"))
    assert telegram.calls_to("deleteMyCommands")


def set_scopes(telegram, since: int = 0) -> list[tuple[str, str]]:
    """(scope, language_code) of each setMyCommands call after the first `since`."""
    return [
        (json.loads(call.params.get("scope") or '{"type": "default"}').get("chat_id", "default"),
         call.params.get("language_code") or "")
        for call in telegram.calls_to("setMyCommands")[since:]
    ]  # fmt: skip


async def test_a_restart_sets_no_menu_when_nothing_changed_and_only_the_changed_ones_otherwise(
    telegram, start_bot, sqlite_db
):
    async with sqlite_db.transaction() as session:
        await make_member(session, "Hà", role=COORDINATOR, platform="telegram", user_id="1001", language="vi")
        await make_member(
            session, "Chi", role=COORDINATOR, platform="telegram", user_id="1002", language="vi"
        )
    first = await start_bot()
    at_first_start = set_scopes(telegram)
    await first.stop()
    calls = len(telegram.calls_to("setMyCommands"))

    second = await start_bot()
    unchanged = set_scopes(telegram, calls)
    await second.stop()
    async with sqlite_db.transaction() as session:
        await session.execute(update(Member).where(Member.name == "Chi").values(language="en"))
    calls = len(telegram.calls_to("setMyCommands"))
    await start_bot()
    changed = set_scopes(telegram, calls)

    assert sorted(at_first_start, key=str) == sorted(
        [("default", ""), ("default", "vi"), ("default", "en"), (1001, ""), (1002, "")], key=str
    )
    assert unchanged == []
    assert changed == [(1002, "")]
    assert "summary" in words(telegram, 1002)


async def test_a_role_changed_in_chat_changes_the_menu_at_once(telegram, start_bot, sqlite_db):
    async with sqlite_db.transaction() as session:
        await make_member(session, "Bình", role=ADMIN, platform="telegram", user_id="1", language="en")
        await make_member(session, "Hà", role=COORDINATOR, platform="telegram", user_id="1001", language="vi")
    await start_bot()
    binh = telegram.user(1, "Bình", language_code="en")
    telegram.user(1001, "Hà")
    assert "vaitro" not in words(telegram, 1001) and "role" in words(telegram, 1)

    await telegram.send_text(binh, "/vaitro Hà")
    await telegram.wait_for_messages(1, 1)
    await telegram.send_text(binh, "admin")
    await telegram.wait_for_messages(1, 2)
    await telegram.send_text(binh, "yes")
    done, told = (await telegram.wait_for_messages(1, 3))[2], (await telegram.wait_for_messages(1001, 1))[0]

    await telegram.wait_for(lambda: "vaitro" in words(telegram, 1001))
    assert done.text == "Done: Hà is now administrator."
    assert "Bình" in told.text


async def test_a_role_changed_on_the_command_line_reaches_the_menu_of_the_running_bot(
    telegram, start_bot, sqlite_db, clock
):
    async with sqlite_db.transaction() as session:
        await make_member(session, "Bình", role=ADMIN, platform="telegram", user_id="1", language="vi")
        ha = await make_member(
            session, "Hà", role=COORDINATOR, platform="telegram", user_id="1001", language="vi"
        )
    await start_bot(menu_check_seconds=0.2)
    calls = len(telegram.calls_to("setMyCommands"))

    # What `nhacviec members role` does, from another process: this bot sees no update about it.
    async with sqlite_db.transaction() as session:
        await registration.change_role(session, ha.id, ADMIN, by=None, now=clock.now())

    await telegram.wait_for(lambda: "vaitro" in words(telegram, 1001))
    assert set_scopes(telegram, calls) == [(1001, "")]
