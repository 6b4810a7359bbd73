"""On Telegram the number question offers the share-my-number button in the private chat; the
shared card counts only when it is the sender's own, and the keyboard goes away once answered."""

from __future__ import annotations

from sqlalchemy import select

from bot.core import registration
from storage.models.people import FOCAL, Member
from tests.bot.telegram.test_menus import invite
from tests.factories import make_plan


async def _phone(db) -> tuple[str | None, object]:
    async with db.snapshot() as session:
        member = (await session.scalars(select(Member).where(Member.name == "Lan"))).one()
        return member.phone, member.phone_consent_at


async def test_a_newcomer_shares_their_own_number_with_the_contact_button(
    telegram, start_bot, sqlite_db, clock
):
    bot = await start_bot()
    bot.app.config.zalo.zns_template_id = "tpl-nhac-han"
    async with sqlite_db.transaction() as session:
        built = await make_plan(session)
    token = await invite(sqlite_db, clock, FOCAL, built.agencies["Sở Du lịch"])
    lan, hoa = telegram.user(2001, "Lan", language_code="en"), telegram.user(2002, "Hoa")

    await telegram.open_deep_link(lan, registration.deep_link(bot.settings.bot_username, token))
    welcome, question = await telegram.wait_for_messages(lan.id, 2)
    await telegram.tap(lan, question, "✓ Agree")
    (asked,) = (await telegram.wait_for_messages(lan.id, 3))[2:]
    await telegram.send_contact(lan, "+84 98 765 4321", of=hoa)
    (refused,) = (await telegram.wait_for_messages(lan.id, 4))[3:]
    await telegram.send_contact(lan, "84912345678")
    (saved,) = (await telegram.wait_for_messages(lan.id, 5))[4:]

    assert "Zalo notification (ZNS)" in question.text
    assert asked.asks_for_contact and asked.keyboard == ["📱 Share my number", "Skip"]
    assert "someone else's contact" in refused.text
    assert "0912 345 678" in saved.text and saved.removes_keyboard
    assert (await _phone(sqlite_db))[0] == "84912345678"


async def test_the_skip_key_of_the_keyboard_keeps_nothing(telegram, start_bot, sqlite_db, clock):
    bot = await start_bot()
    bot.app.config.zalo.zns_template_id = "tpl-nhac-han"
    async with sqlite_db.transaction() as session:
        built = await make_plan(session)
    token = await invite(sqlite_db, clock, FOCAL, built.agencies["Sở Du lịch"])
    lan = telegram.user(2001, "Lan", language_code="vi")

    await telegram.open_deep_link(lan, registration.deep_link(bot.settings.bot_username, token))
    await telegram.wait_for_messages(lan.id, 2)
    await telegram.send_text(lan, "co")
    (asked,) = (await telegram.wait_for_messages(lan.id, 3))[2:]
    await telegram.send_text(lan, asked.keyboard[-1])
    (skipped,) = (await telegram.wait_for_messages(lan.id, 4))[3:]

    assert skipped.removes_keyboard
    assert await _phone(sqlite_db) == (None, None)
