"""The Telegram transport: sends core replies through a PTB bot and says how a failure should be
treated, in the one vocabulary the reminder engine understands (DeliveryError)."""

from __future__ import annotations

import datetime as dt
import logging
import warnings

import aiohttp
import httpx
from telegram import Bot, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.core.messages import Reply
from bot.transports.base import DeliveryError, Recipient
from bot.transports.telegram.http import CONNECT_TIMEOUT_ERRORS, READ_TIMEOUT_ERRORS
from bot.transports.telegram.render import (
    MAX_TEXT,
    CallbackData,
    DocumentMessage,
    PhotoMessage,
    TextMessage,
    render,
)

log = logging.getLogger(__name__)

# 400 answers that mean the chat cannot be reached at all, as opposed to a message Telegram
# did not like (which is our bug, and no reason to call the member unreachable).
_UNREACHABLE_400 = (
    "chat not found",
    "user not found",
    "peer_id_invalid",
    "group chat was deactivated",
    "chat_write_forbidden",
    "have no rights to send a message",
    "not enough rights to send",
)


def retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 announces the attribute's move to timedelta; either type is read the same way.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


# Failures before any byte of the request left: it certainly did not reach Telegram. Both HTTP
# clients PTB may run on are named (the bot uses aiohttp, see .http; httpx is PTB's default).
_NOT_SENT = (
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ConnectError,
    aiohttp.ClientConnectorError,
    *CONNECT_TIMEOUT_ERRORS,
)
# Failures once the request was on its way: Telegram may have acted on it.
_MAY_HAVE_LEFT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.RemoteProtocolError,
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientOSError,
    aiohttp.ClientPayloadError,
    # aiohttp's read timeouts, and its overall bound on a call (see .http); a connect timeout is a
    # subclass of these too, which is why _NOT_SENT is asked first.
    aiohttp.ServerTimeoutError,
    *READ_TIMEOUT_ERRORS,
    TimeoutError,
)


def _request_left(error: TelegramError) -> bool:
    """Whether the request may have reached Telegram before the failure."""
    cause = error.__cause__
    if isinstance(cause, _NOT_SENT):
        return False
    if isinstance(error, TimedOut) and "Pool timeout" in str(error):
        return False
    return isinstance(cause, _MAY_HAVE_LEFT)


def delivery_error(error: TelegramError) -> DeliveryError:
    """Translate a PTB error into what the sender should do about it."""
    message = f"telegram: {error.message}"
    if isinstance(error, RetryAfter):
        return DeliveryError(message, permanent=False, retry_after=retry_after_seconds(error))
    if isinstance(error, Forbidden):
        # Blocked by the user, user deactivated, bot removed from the group.
        return DeliveryError(message, permanent=True)
    if isinstance(error, ChatMigrated):
        # A group became a supergroup: the old id is gone for good.
        return DeliveryError(f"{message} (new chat id {error.new_chat_id})", permanent=True)
    if isinstance(error, BadRequest):
        if any(marker in error.message.lower() for marker in _UNREACHABLE_400):
            return DeliveryError(message, permanent=True)
        # Telegram refused this message (too long, bad markup…): retrying the same bytes cannot
        # help, but the member is reachable, so only this channel is given up for this message.
        log.error("Telegram refused a message: %s", error.message)
        return DeliveryError(message, permanent=True, channel_only=True)
    if isinstance(error, InvalidToken):
        # Our configuration is wrong, not the member's chat: keep the reminder for later.
        return DeliveryError(message, permanent=False)
    if isinstance(error, TimedOut):
        return DeliveryError(message, permanent=False, outcome_unknown=_request_left(error))
    if isinstance(error, NetworkError):
        return DeliveryError(message, permanent=False, outcome_unknown=_request_left(error))
    return DeliveryError(message, permanent=False)


class TelegramTransport:
    """Implements bot.transports.base.Transport for Telegram."""

    platform = "telegram"
    max_text_length = MAX_TEXT

    def __init__(self, bot: Bot, *, callbacks: CallbackData | None = None):
        self.bot = bot
        self.callbacks = callbacks or CallbackData()

    async def send(self, recipient: Recipient, reply: Reply) -> str:
        """For the reminder engine: a rate limit is reported (DeliveryError.retry_after) so the
        engine reschedules on its own clock instead of this call sleeping."""
        return await self.deliver(recipient.chat_id, reply)

    async def deliver(self, chat_id: str | int, reply: Reply, *, flood_retries: int = 0) -> str:
        """Send every message of the reply; return the first one's id ("" when there was nothing).

        `flood_retries`: how many times PTB's rate limiter may wait out a 429 itself (replies to
        someone who is chatting right now are worth a short wait; reminders are not).
        """
        target = int(chat_id)
        extra = {}
        if flood_retries and isinstance(self.bot, ExtBot) and self.bot.rate_limiter is not None:
            extra["rate_limit_args"] = flood_retries
        first: str = ""
        try:
            for part in render(reply, self.callbacks).messages:
                sent = await self._send_one(target, part, extra)
                first = first or str(sent.message_id)
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        return first

    async def _send_one(self, chat_id: int, part, extra: dict) -> Message:
        if isinstance(part, TextMessage):
            return await self.bot.send_message(
                chat_id,
                part.html,
                parse_mode=ParseMode.HTML,
                reply_markup=part.keyboard,
                **extra,
            )
        if isinstance(part, DocumentMessage):
            document = part.document
            return await self.bot.send_document(
                chat_id,
                InputFile(document.content, filename=document.filename),
                caption=part.caption_html or None,
                parse_mode=ParseMode.HTML,
                reply_markup=part.keyboard,
                **extra,
            )
        if isinstance(part, PhotoMessage):
            return await self.bot.send_photo(
                chat_id,
                InputFile(part.image.content, filename=part.image.filename),
                caption=part.caption_html or None,
                parse_mode=ParseMode.HTML,
                reply_markup=part.keyboard,
                **extra,
            )
        raise TypeError(f"cannot send {part!r}")
