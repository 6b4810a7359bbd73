"""Fixtures for the Telegram tests: the Bot API emulator on 127.0.0.1 and a PTB client pointed at it."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from tests.emulators.telegram import TelegramEmulator


@pytest.fixture
async def telegram():
    async with TelegramEmulator() as emulator:
        yield emulator


@pytest.fixture
async def ptb_bot(telegram):
    """A bare PTB Bot talking to the emulator (short timeouts: loopback answers in milliseconds)."""
    request = HTTPXRequest(connect_timeout=2, read_timeout=2, write_timeout=2, pool_timeout=2)
    bot = Bot(
        telegram.token,
        base_url=telegram.api_base_url,
        base_file_url=telegram.file_base_url,
        request=request,
        get_updates_request=HTTPXRequest(read_timeout=5),
    )
    async with bot:
        yield bot
