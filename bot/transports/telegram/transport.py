"""The Telegram transport: sends core replies through a PTB bot and says how a failure should be
treated, in the one vocabulary the reminder engine understands (DeliveryError)."""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from dataclasses import replace

import aiohttp
import httpx
from telegram import (
    Bot,
    ForceReply,
    InputFile,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.core.messages import Reply
from bot.render.text import with_numbered_choices
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
from bot.transports.telegram.updates import split_address

log = logging.getLogger(__name__)


def quiet_send_notice() -> None:
    """Silence the notice PTB gives on every Bot.do_api_request("sendMessage"), through which text
    replies go (see TelegramTransport._send_one): PTB would rather see it used only for methods it
    has no wrapper for. Done at import; the tests do it again once pytest has set its filters up."""
    warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendMessage'", category=PTBUserWarning)


quiet_send_notice()

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

    def __init__(self, bot: Bot, *, callbacks: CallbackData | None = None, pace=None, answered=None):
        """`pace(chat_id)`: waits for the sending budget; called before each message of a reply
        after the first (the caller paced the first, as for any send). `answered(chat_id)`: told
        when Telegram has taken each message, so the chat's next one is spaced from its arrival."""
        self.bot = bot
        self.callbacks = callbacks or CallbackData()
        self.pace = pace
        self.answered = answered

    async def send(self, recipient: Recipient, reply: Reply, *, reply_to: str | None = None) -> str:
        """A rate limit is reported (DeliveryError.retry_after), never waited out here: the reminder
        engine reschedules on its own clock, the reply courier retries or parks."""
        return await self.deliver(recipient.chat_id, reply, reply_to=reply_to)

    async def deliver(self, chat_id: str | int, reply: Reply, *, reply_to: str | None = None) -> str:
        """Send every message of the reply; return the first one's id ("" when there was nothing).

        `chat_id` may name a forum topic ("<chat>/<topic>"): the reply goes to that topic.
        `reply_to`: the message answered, quoted by the client (in groups, so that it is clear whom
        the bot answers). A question (`reply.awaits_answer`) in a group opens a reply for the person
        asked (ForceReply, selective): their answer is a reply to the bot, which a bot in privacy
        mode receives, and nobody else in the group is prompted.
        """
        target, topic = split_address(chat_id)
        extra: dict = {}
        if topic is not None:
            extra["message_thread_id"] = topic
        if reply_to:
            extra["reply_parameters"] = ReplyParameters(int(reply_to), allow_sending_without_reply=True)
        asking = reply.awaits_answer and target < 0 and bool(reply_to)
        if asking and reply.buttons:
            # One message cannot carry both buttons and ForceReply: the choices become numbered
            # lines, and the number typed in the reply answers them (bot.core.menus).
            reply = replace(reply, text=with_numbered_choices(reply), buttons=[])
        parts = render(reply, self.callbacks).messages
        if asking and parts:
            parts[-1] = replace(parts[-1], keyboard=ForceReply(selective=True))
        elif parts and not reply.buttons and target > 0:
            # A keyboard under the text box, in private chats only: Telegram shares a contact
            # from a private chat alone, and a group's keyboard would show to everyone in it.
            if reply.contact_request is not None:
                parts[-1] = replace(parts[-1], keyboard=_contact_keyboard(reply.contact_request))
            elif reply.close_keyboard:
                parts[-1] = replace(parts[-1], keyboard=ReplyKeyboardRemove())
        first: str = ""
        try:
            for number, part in enumerate(parts):
                if number and self.pace is not None:
                    await self.pace(str(chat_id))
                try:
                    sent = await self._send_one(target, part, extra)
                finally:
                    if self.answered is not None:
                        self.answered(str(chat_id))
                first = first or str(sent)
        except TelegramError as exc:
            raise delivery_error(exc) from exc
        return first

    async def _send_one(self, chat_id: int, part, extra: dict) -> int:
        """Send one message; its id."""
        if isinstance(part, TextMessage):
            fields = {"chat_id": chat_id, "text": part.html, "parse_mode": ParseMode.HTML, **extra}
            if part.keyboard is not None:
                fields["reply_markup"] = part.keyboard
            # Only the new message's id is read back. Bot.send_message would build a whole Message
            # of Telegram's answer (its chat, sender, entities, keyboard): a tenth of a millisecond
            # per reply, a twentieth of what a reply costs the bot. do_api_request hands back the
            # JSON; the request itself, its errors and its retries are PTB's as before.
            try:
                sent = await self.bot.do_api_request("sendMessage", api_kwargs=fields)
            except EndPointNotFound as exc:
                # do_api_request takes Telegram's 401 or 404 for a method it does not know; for
                # sendMessage it is the token Telegram refused, as send_message would have said.
                if isinstance(exc.__cause__, InvalidToken):
                    raise exc.__cause__ from None
                raise
            return int(sent["message_id"])
        if isinstance(part, DocumentMessage):
            document = part.document
            message = await self.bot.send_document(
                chat_id,
                InputFile(document.content, filename=document.filename),
                caption=part.caption_html or None,
                parse_mode=ParseMode.HTML,
                reply_markup=part.keyboard,
                **extra,
            )
            return message.message_id
        if isinstance(part, PhotoMessage):
            message = await self.bot.send_photo(
                chat_id,
                InputFile(part.image.content, filename=part.image.filename),
                caption=part.caption_html or None,
                parse_mode=ParseMode.HTML,
                reply_markup=part.keyboard,
                **extra,
            )
            return message.message_id
        raise TypeError(f"cannot send {part!r}")


def _contact_keyboard(request) -> ReplyKeyboardMarkup:
    """The person's own number in one tap (Telegram asks them to confirm), or the skip word."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(request.share, request_contact=True)], [KeyboardButton(request.skip)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
