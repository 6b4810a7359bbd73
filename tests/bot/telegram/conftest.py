"""Fixtures for the Telegram tests: the Bot API emulator on 127.0.0.1 and a PTB client pointed at it."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.app import App
from bot.config import Config, Secret, Secrets
from bot.transports.telegram.runner import TelegramBot
from tests.bot.delivery import unpaced
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


WEBHOOK_SECRET = "test-webhook-secret_0123456789"


def telegram_config(telegram, **settings) -> Config:
    """Settings for a bot talking to `telegram` (the emulator); keyword arguments set [telegram] keys."""
    config = Config()
    config.telegram.api_base_url = telegram.api_base_url
    config.telegram.api_file_url = telegram.file_base_url
    config.telegram.bot_username = telegram.username
    config.telegram.request_timeout = settings.pop("request_timeout", 3.0)
    config.telegram.poll_timeout = settings.pop("poll_timeout", 2)
    config.telegram.webhook_port = settings.pop("webhook_port", 0)
    for key, value in settings.items():
        setattr(config.telegram, key, value)
    # Polling mode would otherwise open the health server on a fixed port.
    config.ops.http_enabled = False
    if telegram.flood_limits is None:
        # Paced only against an emulator that enforces Telegram's flood limits.
        unpaced(config)
    config.secrets = Secrets(
        telegram_bot_token=Secret(telegram.token), telegram_webhook_secret=Secret(WEBHOOK_SECRET)
    )
    return config


@pytest.fixture
async def start_bot(telegram, sqlite_db, clock):
    """Start the real bot (PTB Application, core, optionally the reminder engine) against the emulator."""
    running: list[TelegramBot] = []

    async def start(
        mode: str = "polling", *, reminders: bool = False, reminders_timer: bool = True, **settings
    ) -> TelegramBot:
        """`reminders_timer=False`: the engine runs with the bot but its ticks only when the test
        calls them (`bot.engine.run_once()`), on the test's clock."""
        config = telegram_config(telegram, mode=mode, **settings)
        config.reminders.enabled = reminders_timer
        app = App(config=config, db=sqlite_db, clock=clock)
        bot = TelegramBot(app, reminders=reminders)
        await bot.start()
        running.append(bot)
        return bot

    yield start
    for bot in running:
        await bot.stop()
