"""The Telegram Bot API emulator: `async with TelegramEmulator() as tg:`."""

from tests.emulators.telegram.entities import EntityParseError, parse_html
from tests.emulators.telegram.faults import Fault, Faults
from tests.emulators.telegram.server import Chat, FloodLimits, SentMessage, TelegramEmulator, User

__all__ = [
    "Chat",
    "FloodLimits",
    "EntityParseError",
    "Fault",
    "Faults",
    "SentMessage",
    "TelegramEmulator",
    "User",
    "parse_html",
]
