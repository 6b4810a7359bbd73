"""The transports a process sends with, one per platform, whichever platform a message came in on.

A reply may be addressed to a chat on another platform than the incoming message's (a coordinator on
Telegram asked to approve someone who wrote on Zalo, the applicant told on Zalo of a tap on Telegram,
a link or hand-over notice), and the reminder engine writes to each member on their preferred
platform. So every runner of a process sends through one registry: the transports of the platforms
the process serves, and a send-only transport (no polling, no webhook) for each other platform this
deployment is configured for, which another process serves.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from bot.app import App
from bot.config import Config
from bot.core.messages import Reply
from bot.transports.base import Transport

log = logging.getLogger(__name__)

# The platforms a process can serve, in the order their runners start.
PLATFORMS = ("telegram", "zalo", "zalo_oa")

Closer = Callable[[], Awaitable[object]]


def configured_platforms(config: Config) -> list[str]:
    """The platforms this deployment has credentials for, in PLATFORMS order."""
    secrets = config.secrets
    found = {
        "telegram": secrets.telegram_bot_token is not None,
        "zalo": secrets.zalo_bot_token is not None,
        # The OA's token pair may live in the database after its first run; its app id stays set.
        "zalo_oa": secrets.zalo_oa_app_id is not None or secrets.zalo_oa_access_token is not None,
    }
    return [platform for platform in PLATFORMS if found[platform]]


class Transports(dict[str, Transport]):
    """Transports by platform; `aclose()` closes the send-only ones this registry opened."""

    def __init__(self, served: Mapping[str, Transport] | None = None):
        super().__init__(served or {})
        self._closers: list[Closer] = []

    async def add_send_only(self, app: App) -> None:
        """A send-only transport for every configured platform that has none here yet."""
        for platform in configured_platforms(app.config):
            if platform in self:
                continue
            made = await SEND_ONLY[platform](app)
            if made is not None:
                self[platform], closer = made
                self._closers.append(closer)

    async def aclose(self) -> None:
        closers, self._closers = self._closers, []
        for close in closers:
            await close()


async def build_transports(app: App, served: Mapping[str, Transport] | None = None) -> Transports:
    """The registry of a process serving `served`: those, and send-only ones for the other platforms
    the deployment is configured for. Close it with `await transports.aclose()`."""
    transports = Transports(served)
    await transports.add_send_only(app)
    return transports


# ---------------------------------------------------------------- send-only transports


async def telegram_send_only(app: App) -> tuple[Transport, Closer] | None:
    """A Telegram transport that only sends (another process polls or takes the webhook), when
    TELEGRAM_BOT_TOKEN is set; with its closer. None when Telegram cannot be reached now."""
    secret = app.config.secrets.telegram_bot_token
    if secret is None:
        return None
    from telegram import Bot
    from telegram.error import TelegramError
    from telegram.request import HTTPXRequest

    from bot.transports.telegram.transport import TelegramTransport

    timeout = app.config.telegram.request_timeout
    bot = Bot(
        secret.get_secret_value(),
        base_url=app.config.telegram.api_base_url,
        base_file_url=app.config.telegram.api_file_url,
        request=HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout),
    )
    try:
        await bot.initialize()
    except TelegramError as exc:
        log.warning("Telegram not reachable; replies and reminders for Telegram wait for its runner: %s", exc)
        return None
    return TelegramTransport(bot), bot.shutdown


async def zalo_send_only(app: App) -> tuple[Transport, Closer] | None:
    """A Zalo Bot Platform transport that only sends, when ZALO_BOT_TOKEN is set; with its closer."""
    if app.config.secrets.zalo_bot_token is None:
        return None
    from bot.transports.zalo.runner import bot_transport

    transport = bot_transport(app)
    return transport, transport.client.aclose


async def zalo_oa_send_only(app: App) -> tuple[Transport, Closer] | None:
    """An Official Account transport that only sends (the process serving the OA's webhook records
    who wrote when, so the reply window is known here too); with its closer."""
    from bot.transports.zalo.runner import ZaloSetupError, oa_transport

    try:
        transport = oa_transport(app)
    except ZaloSetupError as exc:
        log.warning("the Official Account cannot send from this process: %s", exc)
        return None
    return transport, transport.client.aclose


SEND_ONLY: dict[str, Callable[[App], Awaitable[tuple[Transport, Closer] | None]]] = {
    "telegram": telegram_send_only,
    "zalo": zalo_send_only,
    "zalo_oa": zalo_oa_send_only,
}


async def send_addressed(app: App, transports: Mapping[str, Transport], reply: Reply) -> str | None:
    """Send a reply the core addressed to another chat (`to_platform`, `to_chat_id`), from a process
    with no courier loop of its own (a command-line run): through a ReplyCourier, so a passing refusal
    is retried, and past that the reply is parked for the running bot to deliver. The message id, or
    None when it did not go now."""
    from bot.transports.replies import ReplyCourier

    return await ReplyCourier(app, transports).deliver(reply.to_platform, reply.to_chat_id, reply)
