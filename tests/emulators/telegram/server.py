"""A Telegram Bot API server for tests: real HTTP on 127.0.0.1, Telegram's shapes and errors.

The bot under test talks to it exactly as to api.telegram.org (PTB with `base_url` pointed here).
Tests play the users through the Python API of `TelegramEmulator`: a user sends a message, edits
it, taps a button, opens a deep link; the emulator queues the update for getUpdates or POSTs it to
the bot's webhook with the secret header, and records everything the bot sends, per chat, with
the time it arrived. Faults (429, 403, 400, 5xx, timeouts) are injected through `faults`.

What it checks, as Telegram does: the token, HTML parse mode (malformed HTML is refused with
"can't parse entities"), text and caption lengths, callback data within 64 bytes, that a chat
exists and has not blocked the bot, that a message to edit exists and changes, that a callback
query is answered once, the command list format, and one getUpdates consumer at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import logging
import math
import mimetypes
import re
import secrets
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web

from tests.emulators.telegram.entities import (
    EntityParseError,
    find_entities,
    merge_entities,
    parse_html,
    utf16_len,
)
from tests.emulators.telegram.faults import Faults, InjectedFault

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
    }
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_DEEP_LINK_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's flood control, when a test wants it enforced: about 30 messages a second over all
    chats and one a second to the same chat. Going faster gets 429 with retry_after, as there."""

    per_second: float = 30
    per_chat_per_second: float = 1


_POSTING_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})


@dataclass
class User:
    id: int
    first_name: str
    last_name: str = ""
    username: str | None = None
    language_code: str | None = "vi"

    def to_api(self) -> dict:
        data: dict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class Chat:
    id: int
    type: str  # private | group | supergroup
    title: str | None = None
    user: User | None = None  # the other party of a private chat
    blocked: bool = False  # the user blocked the bot, or the bot was removed from the group
    migrated_to: int | None = None  # a group upgraded to a supergroup lives on under this id
    next_message_id: int = 1
    is_forum: bool = False  # a supergroup with topics
    topics: dict[int, str] = field(default_factory=dict)  # message_thread_id -> topic name

    def to_api(self) -> dict:
        if self.type == "private" and self.user:
            data = {"id": self.id, "type": "private", "first_name": self.user.first_name}
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
            return data
        data = {"id": self.id, "type": self.type, "title": self.title or ""}
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass
class UploadedFile:
    file_id: str
    file_unique_id: str
    filename: str
    mime_type: str
    content: bytes
    width: int | None = None
    height: int | None = None


@dataclass
class SentMessage:
    """Something the bot sent, as the user's client would show it."""

    chat_id: int
    message_id: int
    method: str
    text: str  # after parsing; the caption for a document or photo
    entities: list[dict]
    source: str  # exactly what the bot sent, markup included
    parse_mode: str | None
    reply_markup: dict | None
    date: int
    received_at: float  # time.monotonic() when the request arrived
    document: UploadedFile | None = None
    photo: UploadedFile | None = None
    edits: list[dict] = field(default_factory=list)
    thread_id: int | None = None  # the forum topic it was posted in
    reply_to_message_id: int | None = None  # the message it answers, as the client quotes it

    @property
    def force_reply(self) -> bool:
        """The client opens a reply to this message for the people it selects."""
        return bool((self.reply_markup or {}).get("force_reply"))

    @property
    def keyboard(self) -> list[str]:
        """The labels of the keyboard shown under the text box with this message (ReplyKeyboardMarkup)."""
        rows = (self.reply_markup or {}).get("keyboard", [])
        return [button if isinstance(button, str) else button["text"] for row in rows for button in row]

    @property
    def asks_for_contact(self) -> bool:
        rows = (self.reply_markup or {}).get("keyboard", [])
        return any(isinstance(b, dict) and b.get("request_contact") for row in rows for b in row)

    @property
    def removes_keyboard(self) -> bool:
        return bool((self.reply_markup or {}).get("remove_keyboard"))

    @property
    def buttons(self) -> list[list[dict]]:
        return (self.reply_markup or {}).get("inline_keyboard", [])

    @property
    def button_labels(self) -> list[str]:
        return [button["text"] for row in self.buttons for button in row]

    def button(self, label: str) -> dict:
        for row in self.buttons:
            for button in row:
                if button["text"] == label:
                    return button
        raise LookupError(
            f"no button {label!r} under message {self.message_id}; buttons: {self.button_labels}"
        )


@dataclass
class CallbackQuery:
    id: str
    user: User
    chat_id: int
    message_id: int
    data: str
    created_at: float
    answered_at: float | None = None
    answer_text: str | None = None
    show_alert: bool = False


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: frozenset[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class WebhookDelivery:
    update_id: int
    status: int | None
    error: str | None
    at: float


@dataclass
class ApiCall:
    method: str
    params: dict
    status: int
    at: float


def _image_size(content: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG, or None when it is neither (Telegram refuses it)."""
    if content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) >= 24:
        return struct.unpack(">II", content[16:24])
    if content[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(content):
            if content[i] != 0xFF:
                i += 1
                continue
            marker = content[i + 1]
            (segment,) = struct.unpack(">H", content[i + 2 : i + 4])
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", content[i + 5 : i + 9])
                return width, height
            i += 2 + segment
    return None


class TelegramEmulator:
    """One bot's view of Telegram. `async with TelegramEmulator() as tg:` serves it on a free port."""

    def __init__(
        self,
        *,
        token: str = "123456789:AAE-emulated-token_abcdefghijklmnopqrstu",
        username: str = "nhacviec_bot",
        first_name: str = "Nhắc việc",
        clock: Callable[[], dt.datetime] | None = None,
        group_privacy: bool = True,
        flood_limits: FloodLimits | None = None,
        webhook_timeout: float = 10.0,
    ):
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.first_name = first_name
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        # With privacy mode on (Telegram's default), a bot in a group only receives commands and
        # replies to its own messages.
        self.group_privacy = group_privacy
        self.webhook_timeout = webhook_timeout
        self.faults = Faults()
        self.flood_limits = flood_limits
        self._sends: deque[float] = deque()
        self._last_send_to: dict[int, float] = {}
        self.chats: dict[int, Chat] = {}
        self.messages: dict[tuple[int, int], dict] = {}
        self.sent: list[SentMessage] = []
        self.calls: list[ApiCall] = []
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.menu_buttons: dict[int | None, dict] = {}  # chat id (None: every chat) -> button
        self.files: dict[str, UploadedFile] = {}
        # The Bot API serves files of up to 20 MB to bots: getFile refuses a larger one. A test may
        # lower it rather than upload 20 MB.
        self.bot_download_limit = 20 * 1024 * 1024
        self.webhook: Webhook | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self._pending: deque[dict] = deque()
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._update_ids = itertools.count(600_000_001)
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(4_000_000_000_000_000_001)
        self._poll_generation = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_workers: list[asyncio.Task] = []
        self._in_flight_chats: set[int] = set()
        self._closing = False
        self.url = ""

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> TelegramEmulator:
        server = web.Application(client_max_size=60 * 1024 * 1024)
        server.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        server.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(server, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"
        # Idle webhook connections are dropped before the bot's server drops them (after 10 s by
        # default): reusing one the server is closing fails the delivery with "server disconnected",
        # which on a loaded machine happened between a benchmark's phases.
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(keepalive_timeout=5))
        return self

    async def stop(self) -> None:
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        for worker in self._webhook_workers:
            worker.cancel()
        for worker in self._webhook_workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._webhook_workers.clear()
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> TelegramEmulator:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    @property
    def api_base_url(self) -> str:
        """What the bot is configured with (PTB appends the token and the method)."""
        return f"{self.url}/bot"

    @property
    def file_base_url(self) -> str:
        return f"{self.url}/file/bot"

    # -- users and chats (the test's side) ----------------------------------------------------

    def user(self, user_id: int, first_name: str, *, last_name: str = "", username: str | None = None,
             language_code: str | None = "vi") -> User:  # fmt: skip
        user = User(user_id, first_name, last_name, username, language_code)
        self.chats.setdefault(user_id, Chat(user_id, "private", user=user))
        return user

    def group(self, chat_id: int, title: str, *, supergroup: bool = False, forum: bool = False) -> Chat:
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = Chat(chat_id, "supergroup" if supergroup or forum else "group", title=title, is_forum=forum)
        self.chats[chat_id] = chat
        return chat

    def topic(self, chat: Chat, name: str) -> int:
        """A topic created in a forum supergroup; its id (message_thread_id) is that of the service
        message that created it, as in Telegram."""
        if not chat.is_forum:
            raise ValueError("topics exist only in forum supergroups")
        thread_id = self._new_message_id(chat)
        chat.topics[thread_id] = name
        return thread_id

    def block(self, user: User) -> None:
        """The user blocks the bot: every later send to them fails with 403."""
        self.chats[user.id].blocked = True

    def kick(self, chat: Chat) -> None:
        chat.blocked = True

    async def remove_bot(self, chat: Chat, by: User) -> dict:
        """Someone removes the bot from a group: sends there fail from now on, and the bot is told
        with a `my_chat_member` update (if it asked for that type)."""
        chat.blocked = True
        bot = {"id": self.bot_id, "is_bot": True, "first_name": self.first_name, "username": self.username}
        return await self._enqueue(
            {
                "my_chat_member": {
                    "chat": chat.to_api(),
                    "from": by.to_api(),
                    "date": self._now(),
                    "old_chat_member": {"status": "member", "user": bot},
                    "new_chat_member": {"status": "kicked", "user": bot, "until_date": 0},
                }
            }
        )

    async def upgrade_group(self, group: Chat, by: User) -> Chat:
        """The group becomes a supergroup with a new id, as Telegram does when a group grows or an
        admin changes certain settings; both chats get the service message saying so."""
        supergroup = Chat(int(f"-100{abs(group.id)}"), "supergroup", title=group.title)
        self.chats[supergroup.id] = supergroup
        group.migrated_to = supergroup.id
        old = self._user_message(by, group, "", migrate_to_chat_id=supergroup.id)
        new = self._user_message(by, supergroup, "", migrate_from_chat_id=group.id)
        await self._enqueue({"message": old})
        await self._enqueue({"message": new})
        return supergroup

    def forget(self, chat_id: int) -> None:
        """The chat no longer exists for the bot (deleted account, wrong id): sends fail with 400."""
        self.chats.pop(chat_id, None)

    def _now(self) -> int:
        return int(self._clock().timestamp())

    def _new_message_id(self, chat: Chat) -> int:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    def _user_message(self, user: User, chat: Chat, text: str, **extra) -> dict:
        message = {
            "message_id": self._new_message_id(chat),
            "from": user.to_api(),
            "chat": chat.to_api(),
            "date": self._now(),
            **extra,
        }
        if text:
            message["text"] = text
            if entities := find_entities(text):
                message["entities"] = entities
        self.messages[(chat.id, message["message_id"])] = message
        return message

    def _chat_for(self, user: User, chat: Chat | None) -> Chat:
        if chat is None:
            chat = self.chats[user.id]
            chat.blocked = False  # writing to the bot again unblocks it
        return chat

    def _privacy_hides(self, chat: Chat, message: dict) -> bool:
        if chat.type == "private" or not self.group_privacy:
            return False
        text = message.get("text") or message.get("caption") or ""
        reply = message.get("reply_to_message") or {}
        addressed = text.startswith("/") or (reply.get("from") or {}).get("id") == self.bot_id
        return not addressed

    async def send_text(self, user: User, text: str, *, chat: Chat | None = None,
                        reply_to: SentMessage | None = None, topic: int | None = None,
                        fields: dict | None = None) -> dict | None:  # fmt: skip
        """The user sends `text` (in forum `topic`, or answering `reply_to`: a reply within a topic
        stays in it; `fields`: more of the message's fields, as Telegram adds them); returns the
        update, or None when privacy mode hides it from the bot."""
        chat = self._chat_for(user, chat)
        extra = dict(fields or {})
        if reply_to is not None:
            extra["reply_to_message"] = _quoted(self.messages[(reply_to.chat_id, reply_to.message_id)])
            topic = topic or reply_to.thread_id
        if topic is not None:
            if topic not in chat.topics:
                raise ValueError(f"no topic {topic} in chat {chat.id}")
            extra["message_thread_id"] = topic
            extra["is_topic_message"] = True
        message = self._user_message(user, chat, text, **extra)
        if self._privacy_hides(chat, message):
            return None
        return await self._enqueue({"message": message})

    async def send_contact(self, user: User, phone_number: str, *, of: User | None = None) -> dict:
        """The user shares a contact card in their private chat: their own (the contact button) or
        that of `of`, someone else (picked from their address book)."""
        chat = self._chat_for(user, None)
        card = of or user
        contact = {"phone_number": phone_number, "first_name": card.first_name, "user_id": card.id}
        message = self._user_message(user, chat, "", contact=contact)
        return await self._enqueue({"message": message})

    async def send_document(self, user: User, filename: str, content: bytes, *, caption: str = "",
                            chat: Chat | None = None) -> dict | None:  # fmt: skip
        chat = self._chat_for(user, chat)
        upload = self._store_file(
            filename, content, mimetypes.guess_type(filename)[0] or "application/octet-stream"
        )
        extra: dict = {"document": self._document_api(upload)}
        if caption:
            extra["caption"] = caption
        message = self._user_message(user, chat, "", **extra)
        if self._privacy_hides(chat, message):
            return None
        return await self._enqueue({"message": message})

    async def edit_text(self, update: dict, text: str) -> dict:
        """The user edits the message of an earlier update of theirs."""
        original = update["message"]
        key = (original["chat"]["id"], original["message_id"])
        message = dict(self.messages[key])
        message["text"] = text
        message["edit_date"] = self._now()
        message.pop("entities", None)
        if entities := find_entities(text):
            message["entities"] = entities
        self.messages[key] = message
        return await self._enqueue({"edited_message": message})

    async def open_deep_link(self, user: User, link: str) -> dict | None:
        """The user opens https://t.me/<bot>?start=<payload> and presses Start."""
        parts = urlsplit(link)
        if parts.scheme != "https" or parts.netloc != "t.me" or parts.path.strip("/") != self.username:
            raise ValueError(f"{link!r} is not a deep link to @{self.username}")
        payload = parse_qs(parts.query).get("start", [""])[0]
        if not _DEEP_LINK_PAYLOAD.fullmatch(payload):
            # Telegram's clients ignore a start parameter outside [A-Za-z0-9_-]{1,64}.
            raise ValueError(f"start parameter {payload!r} is not valid for Telegram")
        return await self.send_text(user, f"/start {payload}")

    async def open_startgroup_link(self, user: User, link: str, group: Chat) -> dict | None:
        """The user opens https://t.me/<bot>?startgroup=<payload> and picks `group`: the bot is added
        to it, and the client sends /start@<bot> <payload> there in the user's name."""
        parts = urlsplit(link)
        if parts.scheme != "https" or parts.netloc != "t.me" or parts.path.strip("/") != self.username:
            raise ValueError(f"{link!r} is not a link to @{self.username}")
        payload = parse_qs(parts.query).get("startgroup", [""])[0]
        if payload and not _DEEP_LINK_PAYLOAD.fullmatch(payload):
            raise ValueError(f"startgroup parameter {payload!r} is not valid for Telegram")
        if group.type == "private":
            raise ValueError("a bot is added to a group, not a private chat")
        group.blocked = False
        text = f"/start@{self.username} {payload}" if payload else f"/start@{self.username}"
        return await self.send_text(user, text, chat=group)

    async def tap(self, user: User, message: SentMessage, label: str) -> dict:
        """The user taps the inline button labelled `label` under `message`."""
        button = message.button(label)
        if "callback_data" not in button:
            raise ValueError(f"button {label!r} is not a callback button: {button}")
        return await self.tap_data(user, message, button["callback_data"])

    async def tap_data(self, user: User, message: SentMessage, data: str) -> dict:
        """A callback query with any data, as a modified client could forge it."""
        chat = self.chats[message.chat_id]
        query_id = str(next(self._callback_ids))
        self.callback_queries[query_id] = CallbackQuery(
            query_id, user, chat.id, message.message_id, data, time.monotonic()
        )
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": self.messages[(chat.id, message.message_id)],
            "chat_instance": str(abs(chat.id) * 7919),
            "data": data,
        }
        return await self._enqueue({"callback_query": query})

    async def inject_update(self, update: dict) -> dict:
        """Any update payload at all (for updates the helpers above do not build)."""
        return await self._enqueue(update)

    # -- reading what the bot did ---------------------------------------------------------------

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, predicate: Callable[[], object], within: float = 15.0) -> object:
        """Wait (on the bot's HTTP calls, never longer than `within` seconds) until predicate() is truthy.

        The bound is generous: it only costs time when a test fails, and the suite runs in parallel
        workers on machines that may be busy."""
        async with asyncio.timeout(within):
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

    async def wait_for_messages(self, chat_id: int, count: int, within: float = 15.0) -> list[SentMessage]:
        """The first `count` messages the bot sent to the chat, waiting for them if needed."""
        try:
            await self.wait_for(lambda: len(self.sent_to(chat_id)) >= count, within)
        except TimeoutError:
            texts = [m.text for m in self.sent_to(chat_id)]
            raise AssertionError(
                f"chat {chat_id} got {len(texts)} messages, not {count}, in {within}s: {texts}"
            ) from None
        return self.sent_to(chat_id)[:count]

    async def next_messages(
        self, chat_id: int, after: int, count: int = 1, within: float = 15.0
    ) -> list[SentMessage]:
        """`count` messages following the first `after` ones."""
        messages = await self.wait_for_messages(chat_id, after + count, within)
        return messages[after:]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- updates ------------------------------------------------------------------------------

    async def _enqueue(self, payload: dict) -> dict:
        update = {"update_id": next(self._update_ids), **payload}
        if self._wanted(update):
            self._pending.append(update)
            await self._notify()
        return update

    def _update_type(self, update: dict) -> str:
        return next(k for k in update if k != "update_id")

    def _update_chat(self, update: dict) -> int | None:
        body = update[self._update_type(update)]
        chat = body.get("chat") or (body.get("message") or {}).get("chat") or {}
        return chat.get("id")

    def _wanted(self, update: dict) -> bool:
        # Telegram does not even create updates of types the bot did not ask for (the last
        # allowed_updates of getUpdates or setWebhook); a change affects only later updates.
        if self.webhook is not None and self.webhook.allowed_updates:
            return self._update_type(update) in self.webhook.allowed_updates
        return self._update_type(update) in self._allowed_updates

    # -- the Bot API --------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        token = request.match_info["token"]
        method = request.match_info["method"]
        if token != self.token:
            if ":" not in token:
                return self._error_response(404, "Not Found")
            return self._error_response(401, "Unauthorized")
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._error_response(404, "Not Found")
        try:
            params, uploads = await self._read_params(request)
        except ApiError as exc:
            return self._error_response(exc.status, exc.description)
        chat_id = _maybe_int(params.get("chat_id"))
        if self.flood_limits is not None and method in _POSTING_METHODS and chat_id is not None:
            if wait := self._flood_wait(chat_id, arrived):
                self.calls.append(ApiCall(method, params, 429, arrived))
                await self._notify()
                return self._error_response(
                    429, f"Too Many Requests: retry after {wait}", {"retry_after": wait}
                )
        fault = self.faults.pick(method, chat_id)
        if fault is not None:
            self.faults.injected.append(InjectedFault(method, fault.kind, chat_id, arrived))
            if fault.kind == "timeout":
                if fault.process:
                    with contextlib.suppress(ApiError):
                        await handler(params, uploads, arrived)
                await asyncio.sleep(fault.delay)
            status, body = fault.response()
            self.calls.append(ApiCall(method, params, status, arrived))
            await self._notify()
            if body is None:
                return web.Response(
                    status=status,
                    text="<html><body><h1>502 Bad Gateway</h1></body></html>",
                    content_type="text/html",
                )
            return web.json_response(body, status=status)
        try:
            result, description = await handler(params, uploads, arrived)
        except ApiError as exc:
            self.calls.append(ApiCall(method, params, exc.status, arrived))
            await self._notify()
            return self._error_response(exc.status, exc.description, exc.parameters)
        self.calls.append(ApiCall(method, params, 200, arrived))
        await self._notify()
        body = {"ok": True, "result": result}
        if description:
            body["description"] = description
        return web.json_response(body, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    def _flood_wait(self, chat_id: int, now: float) -> int:
        """Seconds to wait when this send would break the flood limits, else 0 (and it counts)."""
        limits = self.flood_limits
        while self._sends and now - self._sends[0] >= 1.0:
            self._sends.popleft()
        if limits.per_second and len(self._sends) >= limits.per_second:
            return 1
        last = self._last_send_to.get(chat_id)
        if limits.per_chat_per_second and last is not None and now - last < 1.0 / limits.per_chat_per_second:
            return max(1, math.ceil(1.0 / limits.per_chat_per_second - (now - last)))
        self._sends.append(now)
        self._last_send_to[chat_id] = now
        return 0

    @staticmethod
    def _error_response(status: int, description: str, parameters: dict | None = None) -> web.Response:
        body: dict = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    async def _read_params(self, request: web.Request) -> tuple[dict, dict[str, UploadedFile]]:
        """Telegram takes parameters in the query string, a form, multipart or JSON; values of
        structured parameters arrive JSON-encoded in forms."""
        params: dict = dict(request.query)
        uploads: dict[str, UploadedFile] = {}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except json.JSONDecodeError as exc:
                    raise _bad_request("can't parse JSON object") from exc
                params.update(body if isinstance(body, dict) else {})
            else:
                form = await request.post()
                for name, value in form.items():
                    if isinstance(value, web.FileField):
                        content = value.file.read()
                        mime = value.content_type or mimetypes.guess_type(value.filename or "")[0]
                        uploads[name] = self._store_file(
                            value.filename or name, content, mime or "application/octet-stream"
                        )
                    else:
                        params[name] = value
        return params, uploads

    def _store_file(self, filename: str, content: bytes, mime_type: str) -> UploadedFile:
        number = next(self._file_ids)
        upload = UploadedFile(
            file_id=f"BQACAgIAAxkBAAI{number:06d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AgAD{number:06d}",
            filename=filename,
            mime_type=mime_type,
            content=content,
        )
        self.files[upload.file_id] = upload
        return upload

    def _chat(self, params: dict) -> Chat:
        raw = params.get("chat_id")
        if raw in (None, ""):
            raise _bad_request("chat_id is empty")
        chat = self.chats.get(_maybe_int(raw))
        if chat is None:
            raise _bad_request("chat not found")
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.blocked:
            if chat.type == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        return chat

    def _format(
        self, source: str, parse_mode: str | None, limit: int, *, kind: str
    ) -> tuple[str, list[dict]]:
        if parse_mode and parse_mode.lower() == "html":
            try:
                text, entities = parse_html(source)
            except EntityParseError as exc:
                raise _bad_request(f"can't parse entities: {exc}") from exc
        elif parse_mode:
            # MarkdownV2 is not emulated: the bot is expected to use HTML only.
            raise _bad_request(f"unsupported parse_mode {parse_mode!r} in this emulator")
        else:
            text, entities = source, []
        if kind == "text" and not text.strip():
            raise _bad_request("message text is empty")
        text, entities = _trim(text, entities)
        if utf16_len(text) > limit:
            raise _bad_request("message is too long" if kind == "text" else "message caption is too long")
        return text, merge_entities(entities, find_entities(text))

    def _markup(self, params: dict, chat: Chat) -> dict | None:
        raw = params.get("reply_markup")
        if raw in (None, ""):
            return None
        markup = _json_param(raw, "reply_markup")
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "force_reply" in markup:
            if markup["force_reply"] is not True:
                raise _bad_request('field "force_reply" of the ForceReply must be True')
            placeholder = markup.get("input_field_placeholder")
            if placeholder is not None and not 1 <= len(str(placeholder)) <= 64:
                raise _bad_request("input field placeholder must be 1-64 characters")
        elif "remove_keyboard" in markup:
            if markup["remove_keyboard"] is not True:
                raise _bad_request('field "remove_keyboard" of the ReplyKeyboardRemove must be True')
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            for row in rows:
                for button in row:
                    label = button if isinstance(button, str) else button.get("text", "")
                    if not str(label).strip():
                        raise _bad_request("BUTTON_TEXT_INVALID")
                    # "Available in private chats only" (KeyboardButton.request_contact).
                    if isinstance(button, dict) and button.get("request_contact") and chat.type != "private":
                        raise _bad_request("BUTTON_TYPE_INVALID")
        elif "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                )
            for row in rows:
                for button in row:
                    if not str(button.get("text", "")).strip():
                        raise _bad_request("BUTTON_TEXT_INVALID")
                    if "callback_data" in button:
                        data = button["callback_data"]
                        if (
                            not isinstance(data, str)
                            or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA
                        ):
                            raise _bad_request("BUTTON_DATA_INVALID")
                    elif not any(
                        k in button for k in ("url", "switch_inline_query", "web_app", "login_url", "pay")
                    ):
                        raise _bad_request(
                            'can\'t find field "callback_data" or "url" in inline keyboard button'
                        )
        return markup

    def _bot_message(self, chat: Chat, method: str, text: str, entities: list[dict], source: str,
                     params: dict, markup: dict | None, arrived: float, **media) -> tuple[dict, SentMessage]:  # fmt: skip
        thread_id = self._thread(chat, params)
        reply_to = self._reply_to(chat, params, thread_id)
        message_id = self._new_message_id(chat)
        date = self._now()
        message: dict = {
            "message_id": message_id,
            "from": {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": self.first_name,
                "username": self.username,
            },
            "chat": chat.to_api(),
            "date": date,
        }
        caption = method != "sendMessage"
        if text:
            message["caption" if caption else "text"] = text
            if entities:
                message["caption_entities" if caption else "entities"] = entities
        if markup and "inline_keyboard" in markup:
            # A Message shows only an inline keyboard: a ForceReply acts on the clients and is gone.
            message["reply_markup"] = markup
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if reply_to is not None:
            message["reply_to_message"] = _quoted(self.messages[(chat.id, reply_to)])
        if upload := media.get("document"):
            message["document"] = self._document_api(upload)
        if upload := media.get("photo"):
            message["photo"] = self._photo_api(upload)
        self.messages[(chat.id, message_id)] = message
        sent = SentMessage(
            chat_id=chat.id,
            message_id=message_id,
            method=method,
            text=text,
            entities=entities,
            source=source,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            date=date,
            received_at=arrived,
            document=media.get("document"),
            photo=media.get("photo"),
            thread_id=thread_id,
            reply_to_message_id=reply_to,
        )
        self.sent.append(sent)
        return message, sent

    @staticmethod
    def _thread(chat: Chat, params: dict) -> int | None:
        raw = params.get("message_thread_id")
        if raw in (None, ""):
            return None
        thread_id = _maybe_int(raw)
        if not chat.is_forum or thread_id not in chat.topics:
            raise _bad_request("message thread not found")
        return thread_id

    def _reply_to(self, chat: Chat, params: dict, thread_id: int | None) -> int | None:
        """The message answered (reply_parameters, or the older reply_to_message_id)."""
        raw = params.get("reply_parameters")
        allow_missing = False
        if raw not in (None, ""):
            parameters = _json_param(raw, "reply_parameters")
            if not isinstance(parameters, dict) or "message_id" not in parameters:
                raise _bad_request("can't parse reply parameters JSON object")
            message_id = _maybe_int(parameters["message_id"])
            allow_missing = bool(parameters.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") not in (None, ""):
            message_id = _maybe_int(params["reply_to_message_id"])
        else:
            return None
        if (chat.id, message_id) not in self.messages:
            if allow_missing:
                return None
            raise _bad_request("message to be replied not found")
        return message_id

    @staticmethod
    def _document_api(upload: UploadedFile) -> dict:
        return {
            "file_id": upload.file_id,
            "file_unique_id": upload.file_unique_id,
            "file_name": upload.filename,
            "mime_type": upload.mime_type,
            "file_size": len(upload.content),
        }

    @staticmethod
    def _photo_api(upload: UploadedFile) -> list[dict]:
        sizes = []
        for scale in (320, 800, 1280):
            ratio = min(1.0, scale / max(upload.width or 1, upload.height or 1))
            sizes.append(
                {
                    "file_id": f"{upload.file_id}_{scale}",
                    "file_unique_id": f"{upload.file_unique_id}{scale}",
                    "width": round((upload.width or 0) * ratio),
                    "height": round((upload.height or 0) * ratio),
                    "file_size": len(upload.content),
                }
            )
        return sizes

    def _upload(self, params: dict, uploads: dict[str, UploadedFile], name: str) -> UploadedFile:
        value = params.get(name)
        if name in uploads and value is None:
            return uploads[name]
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in uploads:
            return uploads[value[9:]]
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if value in (None, ""):
            raise _bad_request(f"there is no {name} in the request")
        raise _bad_request("wrong file identifier/HTTP URL specified")

    async def _api_getMe(self, params, uploads, arrived):
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.group_privacy,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }, None

    async def _api_getUpdates(self, params, uploads, arrived):
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
        self._poll_generation += 1
        generation = self._poll_generation
        offset = _maybe_int(params.get("offset")) or 0
        limit = min(max(_maybe_int(params.get("limit")) or 100, 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if "allowed_updates" in params:
            allowed = _json_param(params["allowed_updates"], "allowed_updates") or []
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        if offset > 0:
            # Asking from `offset` confirms every earlier update: they are gone for good.
            self._pending = deque(u for u in self._pending if u["update_id"] >= offset)
        elif offset < 0:
            self._pending = deque(list(self._pending)[offset:])
        # Wake any earlier long poll so that it ends with a conflict, as on Telegram.
        await self._notify()
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                if self._poll_generation != generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                    )
                updates = list(itertools.islice(self._pending, limit))
                remaining = deadline - time.monotonic()
                if updates or remaining <= 0 or self._closing:
                    return updates, None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._changed.wait()

    async def _api_sendMessage(self, params, uploads, arrived):
        chat = self._chat(params)
        source = str(params.get("text") or "")
        text, entities = self._format(source, params.get("parse_mode"), MAX_TEXT, kind="text")
        markup = self._markup(params, chat)
        message, _ = self._bot_message(chat, "sendMessage", text, entities, source, params, markup, arrived)
        return message, None

    async def _api_sendDocument(self, params, uploads, arrived):
        chat = self._chat(params)
        upload = self._upload(params, uploads, "document")
        if not upload.content:
            raise _bad_request("file must be non-empty")
        source = str(params.get("caption") or "")
        text, entities = self._format(source, params.get("parse_mode"), MAX_CAPTION, kind="caption")
        markup = self._markup(params, chat)
        message, _ = self._bot_message(
            chat, "sendDocument", text, entities, source, params, markup, arrived, document=upload
        )
        return message, None

    async def _api_sendPhoto(self, params, uploads, arrived):
        chat = self._chat(params)
        upload = self._upload(params, uploads, "photo")
        size = _image_size(upload.content)
        if size is None:
            raise _bad_request("IMAGE_PROCESS_FAILED")
        upload.width, upload.height = size
        source = str(params.get("caption") or "")
        text, entities = self._format(source, params.get("parse_mode"), MAX_CAPTION, kind="caption")
        markup = self._markup(params, chat)
        message, _ = self._bot_message(
            chat, "sendPhoto", text, entities, source, params, markup, arrived, photo=upload
        )
        return message, None

    async def _api_sendChatAction(self, params, uploads, arrived):
        self._chat(params)
        return True, None

    def _own_message(self, params: dict) -> tuple[Chat, SentMessage, dict]:
        chat = self._chat(params)
        message_id = _maybe_int(params.get("message_id"))
        sent = next((m for m in self.sent if m.chat_id == chat.id and m.message_id == message_id), None)
        if sent is None:
            raise _bad_request("message to edit not found")
        return chat, sent, self.messages[(chat.id, sent.message_id)]

    async def _api_editMessageText(self, params, uploads, arrived):
        chat, sent, message = self._own_message(params)
        if sent.method != "sendMessage":
            raise _bad_request("there is no text in the message to edit")
        source = str(params.get("text") or "")
        text, entities = self._format(source, params.get("parse_mode"), MAX_TEXT, kind="text")
        markup = self._markup(params, chat)
        if text == sent.text and entities == sent.entities and markup == sent.reply_markup:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message"
            )
        sent.edits.append({"text": sent.text, "reply_markup": sent.reply_markup, "at": arrived})
        sent.text, sent.entities, sent.source, sent.reply_markup = text, entities, source, markup
        message = {**message, "text": text, "edit_date": self._now()}
        message.pop("entities", None)
        message.pop("reply_markup", None)
        if entities:
            message["entities"] = entities
        if markup:
            message["reply_markup"] = markup
        self.messages[(chat.id, sent.message_id)] = message
        return message, None

    async def _api_editMessageReplyMarkup(self, params, uploads, arrived):
        chat, sent, message = self._own_message(params)
        markup = self._markup(params, chat)
        if markup == sent.reply_markup:
            raise _bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message"
            )
        sent.edits.append({"text": sent.text, "reply_markup": sent.reply_markup, "at": arrived})
        sent.reply_markup = markup
        message = {**message, "edit_date": self._now()}
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        self.messages[(chat.id, sent.message_id)] = message
        return message, None

    async def _api_answerCallbackQuery(self, params, uploads, arrived):
        query = self.callback_queries.get(str(params.get("callback_query_id") or ""))
        if query is None or query.answered_at is not None:
            raise _bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text and len(text) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        query.answered_at = arrived
        query.answer_text = text
        query.show_alert = str(params.get("show_alert", "false")).lower() == "true"
        return True, None

    def _command_key(self, params: dict) -> tuple[str, str]:
        scope = _json_param(params.get("scope") or '{"type": "default"}', "scope")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad_request("LANG_CODE_INVALID")
        return json.dumps(scope, sort_keys=True), language

    async def _api_setMyCommands(self, params, uploads, arrived):
        commands = _json_param(params.get("commands"), "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            if not _COMMAND.fullmatch(str(command.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._command_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True, None

    async def _api_setChatMenuButton(self, params, uploads, arrived):
        button = _json_param(params.get("menu_button"), "menu_button") if params.get("menu_button") else None
        button = button or {"type": "default"}
        if button.get("type") not in ("commands", "web_app", "default"):
            raise _bad_request("unsupported menu button type")
        chat_id = params.get("chat_id")
        self.menu_buttons[int(chat_id) if chat_id else None] = button
        return True, None

    async def _api_getMyCommands(self, params, uploads, arrived):
        return self.commands.get(self._command_key(params), []), None

    async def _api_deleteMyCommands(self, params, uploads, arrived):
        self.commands.pop(self._command_key(params), None)
        return True, None

    def commands_for(self, language_code: str = "", scope: dict | None = None) -> list[dict]:
        key = json.dumps(scope or {"type": "default"}, sort_keys=True)
        return self.commands.get((key, language_code), [])

    async def _api_setWebhook(self, params, uploads, arrived):
        url = str(params.get("url") or "")
        if not url:
            return await self._api_deleteWebhook(params, uploads, arrived)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad_request("bad webhook: Failed to resolve host: Name or service not known")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        allowed = (
            _json_param(params.get("allowed_updates"), "allowed_updates")
            if params.get("allowed_updates")
            else None
        )
        if str(params.get("drop_pending_updates", "false")).lower() == "true":
            self._pending.clear()
        previous = self.webhook
        self.webhook = Webhook(
            url=url,
            secret_token=str(secret) if secret else None,
            max_connections=min(max(_maybe_int(params.get("max_connections")) or 40, 1), 100),
            allowed_updates=frozenset(allowed) if allowed else None,
        )
        self._poll_generation += 1  # an open long poll ends with a conflict
        self._restart_webhook_workers()
        await self._notify()
        return True, "Webhook is already set" if previous and previous.url == url else "Webhook was set"

    async def _api_deleteWebhook(self, params, uploads, arrived):
        if str(params.get("drop_pending_updates", "false")).lower() == "true":
            self._pending.clear()
        had = self.webhook is not None
        self.webhook = None
        self._restart_webhook_workers()
        return True, "Webhook was deleted" if had else "Webhook is already deleted"

    async def _api_getWebhookInfo(self, params, uploads, arrived):
        info: dict = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._pending)}
        if self.webhook:
            info["url"] = self.webhook.url
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.allowed_updates:
                info["allowed_updates"] = sorted(self.webhook.allowed_updates)
            if self.webhook.last_error_date:
                info["last_error_date"] = self.webhook.last_error_date
                info["last_error_message"] = self.webhook.last_error_message
        return info, None

    async def _api_getFile(self, params, uploads, arrived):
        upload = self.files.get(str(params.get("file_id") or ""))
        if upload is None:
            raise _bad_request("invalid file_id")
        if len(upload.content) > self.bot_download_limit:
            raise _bad_request("file is too big")
        return {
            "file_id": upload.file_id,
            "file_unique_id": upload.file_unique_id,
            "file_size": len(upload.content),
            # Telegram names the path itself ("documents/file_3.pdf"): the sender's name is not in it.
            "file_path": f"documents/{upload.file_unique_id}_file{_safe_suffix(upload.filename)}",
        }, None

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error_response(401, "Unauthorized")
        unique = request.match_info["path"].removeprefix("documents/").split("_", 1)[0]
        for upload in self.files.values():
            if upload.file_unique_id == unique:
                return web.Response(body=upload.content, content_type=upload.mime_type)
        return self._error_response(404, "Not Found")

    # -- webhook delivery ---------------------------------------------------------------------

    def _restart_webhook_workers(self) -> None:
        for worker in self._webhook_workers:
            worker.cancel()
        self._webhook_workers = []
        self._in_flight_chats.clear()
        if self.webhook is not None:
            self._webhook_workers = [
                asyncio.create_task(self._webhook_worker(self.webhook))
                for _ in range(self.webhook.max_connections)
            ]

    def _next_for_webhook(self) -> dict | None:
        for index, update in enumerate(self._pending):
            chat = self._update_chat(update)
            # One update per chat at a time, so that a chat's updates arrive in order.
            if chat not in self._in_flight_chats:
                del self._pending[index]
                if chat is not None:
                    self._in_flight_chats.add(chat)
                return update
        return None

    async def _webhook_worker(self, hook: Webhook) -> None:
        while True:
            async with self._changed:
                while (update := self._next_for_webhook()) is None:
                    await self._changed.wait()
            chat = self._update_chat(update)
            try:
                await self._post_update(hook, update)
            finally:
                self._in_flight_chats.discard(chat)
                await self._notify()

    async def _post_update(self, hook: Webhook, update: dict) -> None:
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        status: int | None = None
        error: str | None = None
        try:
            async with self._session.post(
                hook.url,
                data=json.dumps(update, ensure_ascii=False).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
            ) as response:
                status = response.status
                await response.read()
                if not 200 <= status < 300:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Connection failed: {type(exc).__name__}"
        if error:
            hook.last_error_date = self._now()
            hook.last_error_message = error
            log.warning("webhook delivery of update %s failed: %s", update["update_id"], error)
        self.webhook_deliveries.append(WebhookDelivery(update["update_id"], status, error, time.monotonic()))


def _quoted(message: dict) -> dict:
    """A message as another one's reply_to_message: Telegram does not nest replies further."""
    return {key: value for key, value in message.items() if key != "reply_to_message"}


def _trim(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Telegram drops leading and trailing whitespace, moving and clipping the entities with it."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    end = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        stop = min(entity["offset"] + entity["length"] - shift, end)
        if stop > start:
            kept.append({**entity, "offset": start, "length": stop - start})
    return stripped, kept


def _maybe_int(value) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _json_param(value, name: str):
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise _bad_request(f"can't parse {name} JSON object") from exc


def _safe_suffix(filename: str) -> str:
    suffix = Path(filename.replace("\\", "/")).suffix
    return suffix if suffix[1:].isalnum() else ""
