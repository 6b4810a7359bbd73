"""One sending budget: with PTB's own rate limiter gone, the shared budget (scheduler.ratelimit)
alone keeps a busy bot inside Telegram's limits, as the emulator enforces them (30 messages a
second overall, one a second per chat), for chat replies and reminders alike."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import App
from bot.transports.telegram.runner import TelegramBot
from tests.bot.telegram.conftest import telegram_config
from tests.emulators.telegram import FloodLimits, TelegramEmulator


@pytest.fixture
async def strict_telegram():
    async with TelegramEmulator(flood_limits=FloodLimits(per_second=30, per_chat_per_second=1)) as emulator:
        yield emulator


async def test_a_burst_of_chats_is_answered_without_one_flood_refusal(strict_telegram, sqlite_db, clock):
    telegram = strict_telegram
    app = App(config=telegram_config(telegram), db=sqlite_db, clock=clock)
    app.config.reminders.enabled = False
    bot = TelegramBot(app, reminders=False)
    assert bot.application.bot.rate_limiter is None
    await bot.start()
    try:
        people = [telegram.user(3000 + n, f"Người {n}") for n in range(45)]
        chatty = telegram.user(2999, "Nói nhiều")
        await asyncio.gather(
            *(telegram.send_text(person, "/trogiup") for person in people),
            *(telegram.send_text(chatty, text) for text in ("/trogiup", "/lich", "/nhiemvu")),
        )
        for person in people:
            await telegram.wait_for_messages(person.id, 1, within=20)
        chatty_replies = await telegram.wait_for_messages(chatty.id, 3, within=20)
    finally:
        await bot.stop()

    sends = [call for call in telegram.calls if call.method == "sendMessage"]
    assert [call for call in sends if call.status == 429] == []
    # Every person was answered (/trogiup answers in two messages for a newcomer).
    assert {call.params["chat_id"] for call in sends} == {str(p.id) for p in [*people, chatty]}
    times = sorted(call.at for call in sends)
    # Never more than 30 in any one second...
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 30
    # ...and one chat's messages at least a second apart.
    gaps = [b.received_at - a.received_at for a, b in zip(chatty_replies, chatty_replies[1:], strict=False)]
    assert min(gaps) >= 0.98
