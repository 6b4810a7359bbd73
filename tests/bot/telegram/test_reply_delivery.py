"""A chat reply the platform refuses for a while (429, 5xx, a timeout) still reaches the person:
retried while they wait, else parked in the database and sent, in order, once the platform answers
again, else given up with the person told. Over real HTTP against the Telegram emulator."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tests.bot.delivery import Waits, count_parked, parked

ENGLISH = "From now on I will write to you in English."


@pytest.fixture
async def telegram_bot(start_bot):
    bot = await start_bot()
    bot.courier.sleep = Waits()
    return bot


@pytest.mark.parametrize(
    "kind, options",
    [
        ("retry_after", {"retry_after": 2}),
        ("server_error", {}),
        ("bad_gateway", {}),
        ("timeout", {"delay": 4}),
    ],
)
async def test_a_reply_telegram_refuses_once_still_reaches_the_person(telegram, telegram_bot, kind, options):
    minh = telegram.user(2001, "Minh")
    telegram.faults.next(1, kind, methods="sendMessage", **options)

    await telegram.send_text(minh, "/ngonngu en")

    (reply,) = await telegram.wait_for_messages(minh.id, 1, within=10)
    assert reply.text == ENGLISH


async def test_telegrams_retry_after_is_honoured(telegram, telegram_bot):
    minh = telegram.user(2001, "Minh")
    telegram.faults.next(1, "retry_after", methods="sendMessage", retry_after=7)

    await telegram.send_text(minh, "/ngonngu en")

    await telegram.wait_for_messages(minh.id, 1)
    expected = [7.0]
    assert telegram_bot.courier.sleep.asked == expected


async def test_a_telegram_reply_refused_past_the_retries_is_parked_then_delivered(
    sqlite_db, clock, telegram, telegram_bot
):
    minh = telegram.user(2001, "Minh")
    telegram.faults.next(4, "server_error", methods="sendMessage")

    await telegram.send_text(minh, "/ngonngu en")
    await telegram.wait_for(lambda: len(telegram.faults.injected) == 4)
    for _ in range(1000):
        if await count_parked(sqlite_db):
            break
        await asyncio.sleep(0.02)
    assert await parked(sqlite_db) == [("telegram", str(minh.id), 0)]
    assert telegram.sent_to(minh.id) == []

    clock.advance(dt.timedelta(seconds=31))
    assert await telegram_bot.courier.flush() == 1

    (reply,) = telegram.sent_to(minh.id)
    assert reply.text.endswith(ENGLISH)
