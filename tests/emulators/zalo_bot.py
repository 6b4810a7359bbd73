"""An emulator of the Zalo Bot Platform API on 127.0.0.1, with a test API and injectable faults.

Answers as the platform does: `{"ok": true, "result": …}` or `{"ok": false, "error_code": N,
"description": …}` with the matching HTTP status; `getUpdates` hands out ONE update per call and answers
408 when its long poll ends empty (409 while a webhook is set); dates are in milliseconds; ids are
opaque strings. A bot may only write to chats whose user wrote to it first ("chat not found" otherwise),
texts are limited to 2,000 characters, and `sendPhoto` takes a URL, which the emulator downloads the
way the platform's servers do.

Test API: `await user_sends(user_id, text)` (queued for getUpdates, or POSTed to the webhook with the
secret header), `sent` / `texts_to(chat_id)` / `await wait_for_messages(chat_id, n)`, `block(chat_id)`
(the user blocked the bot: 403 from then on), and `faults.add(method, Fault(kind))` with the kinds
rate_limit, blocked, chat_not_found, server_error, bad_gateway_html, timeout and unauthorized.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from tests.emulators.cdn import stream_chunked
from tests.emulators.faults import Fault, FaultPlan

TEXT_LIMIT = 2000
BOT_TOKEN = "1234567890:emulated-zalo-bot-token"


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# sendMessage's formatting, as published: parse_mode "markdown" or "html", or text_styles runs
# {start, len, st: [codes]} counted in UTF-16 units, with these style codes.
PARSE_MODES = ("markdown", "html")
STYLE_CODES = frozenset(
    {"b", "i", "u", "s", "f_13", "f_15", "f_18", "f_20", "lst_1", "lst_2"}
    | {f"ind_{n}" for n in range(1, 6)}
    | {"c_050a19", "c_15a85f", "c_f7b503", "c_f27806", "c_db342e"}
)


def _text_styles(raw, length: int):
    """The runs of `text_styles`, or the error the platform would answer."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        return _error(400, "Bad Request: text_styles must be an array")
    runs = []
    for run in raw:
        start, size, styles = (
            run.get(key) if isinstance(run, dict) else None for key in ("start", "len", "st")
        )
        if not isinstance(start, int) or not isinstance(size, int) or start < 0 or size <= 0:
            return _error(400, "Bad Request: text_styles needs start and len")
        if start + size > length:
            return _error(400, "Bad Request: text_styles run outside the text")
        if not isinstance(styles, list) or not styles or not set(styles) <= STYLE_CODES:
            return _error(400, "Bad Request: unknown style in text_styles")
        runs.append((start, size, tuple(styles)))
    return runs


@dataclass
class SentMessage:
    method: str  # sendMessage | sendPhoto
    chat_id: str
    message_id: str
    text: str = ""
    photo: str | None = None
    caption: str = ""
    photo_bytes: bytes | None = None
    # The text_styles runs sent with a text: (start, len, styles), UTF-16 units.
    styles: list[tuple[int, int, tuple[str, ...]]] = field(default_factory=list)
    parse_mode: str | None = None

    def styled(self, style: str) -> list[str]:
        """The pieces of the text shown with `style` ("b": bold)."""
        units = self.text.encode("utf-16-le")
        return [
            units[start * 2 : (start + length) * 2].decode("utf-16-le")
            for start, length, styles in self.styles
            if style in styles
        ]


@dataclass
class _Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@dataclass
class ZaloBotEmulator:
    token: str = BOT_TOKEN
    bot_id: str = "2012345678901234567"
    account_name: str = "bot.nhacviec"
    display_name: str = "Bot Nhắc việc"
    clock: object = field(default_factory=_Clock)

    def __post_init__(self) -> None:
        self.faults = FaultPlan()
        self.sent: list[SentMessage] = []
        self.actions: list[tuple[str, str]] = []  # (chat_id, action)
        self.calls: list[str] = []
        self.active_polls = 0
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_statuses: list[int] = []
        self._queue: list[dict] = []
        self.handed_out = 0  # updates answered to a getUpdates so far
        self._queued = asyncio.Event()
        self._closing = asyncio.Event()
        self._known_chats: set[str] = set()
        self._blocked: set[str] = set()
        self._message_arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0
        # Pictures users sent, served as the platform's CDN serves them (photo_url).
        self.photos: dict[str, bytes] = {}
        self.photo_failures = 0  # the next this many downloads answer 503
        # Pictures served as a CDN streams what it has not measured: chunked, no Content-Length.
        self.photos_chunked: set[str] = set()

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> ZaloBotEmulator:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        app.router.add_get("/photos/{name}", self._photo)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._session = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        self._closing.set()
        self._queued.set()  # a long poll still waiting ends now, not when its timeout runs out
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """What the client's `api_base_url` should be (the token is appended to it)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- test API --------------------------------------------------------------------------------

    def host_photo(self, content: bytes, *, chunked: bool = False) -> str:
        """Put a picture on the emulated CDN; its URL, for `user_sends(photo_url=...)`. `chunked`:
        served without saying its size first."""
        name = uuid.uuid4().hex + ".jpg"
        self.photos[name] = content
        if chunked:
            self.photos_chunked.add(name)
        return f"http://127.0.0.1:{self.port}/photos/{name}"

    async def _photo(self, request: web.Request) -> web.Response:
        if self.photo_failures:
            self.photo_failures -= 1
            return web.Response(status=503, text="Service Unavailable")
        name = request.match_info["name"]
        content = self.photos.get(name)
        if content is None:
            return web.Response(status=404, text="Not Found")
        if name in self.photos_chunked:
            return await stream_chunked(request, content, "image/jpeg")
        return web.Response(body=content, content_type="image/jpeg")

    async def user_sends(
        self,
        user_id: str,
        text: str,
        *,
        name: str = "Nguyễn Văn An",
        chat_id: str | None = None,
        group: bool = False,
        photo_url: str | None = None,
    ) -> dict:
        """A user writes to the bot. Returns the update as the platform would deliver it."""
        chat_id = chat_id or user_id
        self._known_chats.add(chat_id)
        message = {
            "from": {"id": user_id, "display_name": name, "is_bot": False},
            "chat": {"id": chat_id, "chat_type": "GROUP" if group else "PRIVATE"},
            "message_id": uuid.uuid4().hex,
            "date": int(self.clock.now().timestamp() * 1000),
        }
        if photo_url:
            message.update(photo_url=photo_url, caption=text)
            update = {"event_name": "message.image.received", "message": message}
        else:
            message["text"] = text
            update = {"event_name": "message.text.received", "message": message}
        await self.deliver(update)
        return update

    async def deliver(self, update: dict) -> None:
        """Hand an update to the bot: through its webhook when one is set, else to getUpdates."""
        if self.webhook_url:
            headers = {"X-Bot-Api-Secret-Token": self.webhook_secret or ""}
            async with self._session.post(self.webhook_url, json=update, headers=headers) as response:
                self.webhook_statuses.append(response.status)
        else:
            self._queue.append(update)
            self._queued.set()

    def block(self, chat_id: str) -> None:
        self._blocked.add(chat_id)

    def texts_sent_to(self, chat_id: str) -> list[SentMessage]:
        """The text messages sent to the chat, formatting included."""
        return [m for m in self.sent if m.chat_id == chat_id and m.method == "sendMessage"]

    def texts_to(self, chat_id: str) -> list[str]:
        return [m.text or m.caption for m in self.sent if m.chat_id == chat_id]

    async def wait_for_messages(self, chat_id: str, count: int, within: float = 10.0) -> list[SentMessage]:
        """The first `count` messages sent to the chat, waiting for the bot to send them."""

        def ready() -> bool:
            return len([m for m in self.sent if m.chat_id == chat_id]) >= count

        async with self._message_arrived:
            await asyncio.wait_for(self._message_arrived.wait_for(ready), within)
        return [m for m in self.sent if m.chat_id == chat_id][:count]

    @property
    def pending_updates(self) -> int:
        return len(self._queue)

    # -- the API ---------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        self.calls.append(method)
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        try:
            payload = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            return _error(400, "Bad Request: invalid JSON")
        fault = self.faults.take(method)
        if fault and not fault.deliver:
            return await self._fault(fault)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        response = await handler(payload or {})
        if fault:  # deliver=True: the request took effect, its answer is what gets lost
            return await self._fault(fault)
        return response

    async def _fault(self, fault: Fault) -> web.StreamResponse:
        if fault.kind == "rate_limit":
            # The published API documents no retry_after; retry_after=0 answers exactly as documented.
            parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
            return _error(429, "Too Many Requests", parameters=parameters, status=429)
        if fault.kind == "blocked":
            return _error(403, "Forbidden: the user has blocked the bot")
        if fault.kind == "chat_not_found":
            return _error(400, "Bad Request: chat not found")
        if fault.kind == "unauthorized":
            return _error(401, "Unauthorized")
        if fault.kind == "server_error":
            return _error(fault.status, "Internal Server Error", status=fault.status)
        if fault.kind == "bad_gateway_html":
            return web.Response(
                status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html"
            )
        if fault.kind == "timeout":
            # Hold the answer until the client has given up (or the emulator shuts down).
            try:
                await asyncio.wait_for(self._closing.wait(), 30)
            except TimeoutError:
                pass
            return _error(504, "Gateway Timeout")
        raise ValueError(f"unknown fault kind {fault.kind!r}")

    async def _api_getMe(self, payload: dict) -> web.Response:
        return _ok(
            {
                "id": self.bot_id,
                "account_name": self.account_name,
                "account_type": "BASIC",
                "can_join_groups": False,
                "display_name": self.display_name,
            }
        )

    async def _api_getUpdates(self, payload: dict) -> web.Response:
        # A poll its client gave up on still takes the next update, as a server that cannot tell
        # would: tests that stop a poller wait for `active_polls` to drop before sending more.
        self.active_polls += 1
        try:
            return await self._long_poll(payload)
        finally:
            self.active_polls -= 1

    async def _long_poll(self, payload: dict) -> web.Response:
        if self.webhook_url:
            return _error(409, "Conflict: can't use getUpdates while webhook is active")
        try:
            timeout = float(payload.get("timeout") or 0)
        except (TypeError, ValueError):
            return _error(400, "Bad Request: timeout must be a number")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._queue:
            self._queued.clear()
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing.is_set():
                return _error(408, "Request timeout")
            try:
                await asyncio.wait_for(self._queued.wait(), remaining)
            except TimeoutError:
                return _error(408, "Request timeout")
        self.handed_out += 1
        return _ok(self._queue.pop(0))

    async def _api_setWebhook(self, payload: dict) -> web.Response:
        url, secret = payload.get("url"), payload.get("secret_token")
        if not url or not str(url).startswith(("https://", "http://127.0.0.1")):
            return _error(400, "Bad Request: url must be an https URL")
        if not secret or not 8 <= len(secret) <= 256:
            return _error(400, "Bad Request: secret_token must be 8 to 256 characters")
        self.webhook_url, self.webhook_secret = url, secret
        return _ok({"url": url, "updated_at": int(self.clock.now().timestamp() * 1000)})

    async def _api_deleteWebhook(self, payload: dict) -> web.Response:
        self.webhook_url = self.webhook_secret = None
        return _ok({"url": "", "updated_at": int(self.clock.now().timestamp() * 1000)})

    async def _api_getWebhookInfo(self, payload: dict) -> web.Response:
        return _ok({"url": self.webhook_url or "", "updated_at": int(self.clock.now().timestamp() * 1000)})

    def _check_chat(self, chat_id) -> web.Response | None:
        if not chat_id:
            return _error(400, "Bad Request: chat_id is required")
        if str(chat_id) in self._blocked:
            return _error(403, "Forbidden: the user has blocked the bot")
        if str(chat_id) not in self._known_chats:
            return _error(400, "Bad Request: chat not found")
        return None

    async def _api_sendMessage(self, payload: dict) -> web.Response:
        chat_id, text = payload.get("chat_id"), payload.get("text")
        if problem := self._check_chat(chat_id):
            return problem
        if not isinstance(text, str) or not text.strip():
            return _error(400, "Bad Request: text is empty")
        if utf16_length(text) > TEXT_LIMIT:
            return _error(400, f"Bad Request: text is longer than {TEXT_LIMIT} characters")
        parse_mode = payload.get("parse_mode")
        if parse_mode is not None and parse_mode not in PARSE_MODES:
            return _error(400, "Bad Request: parse_mode must be markdown or html")
        styles = _text_styles(payload.get("text_styles"), utf16_length(text))
        if isinstance(styles, web.Response):
            return styles
        if parse_mode is not None:
            styles = []  # the published docs: with both, parse_mode wins and text_styles is ignored
        message = SentMessage("sendMessage", str(chat_id), uuid.uuid4().hex, text=text, parse_mode=parse_mode)
        message.styles = styles
        return await self._record(message)

    async def _api_sendPhoto(self, payload: dict) -> web.Response:
        chat_id, photo = payload.get("chat_id"), payload.get("photo")
        if problem := self._check_chat(chat_id):
            return problem
        if not isinstance(photo, str) or not photo.startswith(("http://", "https://")):
            return _error(400, "Bad Request: photo must be a URL")
        try:
            async with self._session.get(photo) as response:
                if response.status != 200:
                    return _error(400, "Bad Request: can not download photo")
                content = await response.read()
        except aiohttp.ClientError:
            return _error(400, "Bad Request: can not download photo")
        caption = str(payload.get("caption") or "")
        message = SentMessage("sendPhoto", str(chat_id), uuid.uuid4().hex, photo=photo, caption=caption)
        message.photo_bytes = content
        return await self._record(message)

    async def _api_sendChatAction(self, payload: dict) -> web.Response:
        chat_id, action = payload.get("chat_id"), payload.get("action")
        if problem := self._check_chat(chat_id):
            return problem
        if action not in ("typing", "upload_photo"):
            return _error(400, "Bad Request: unsupported action")
        self.actions.append((str(chat_id), action))
        return _ok(True)

    async def _record(self, message: SentMessage) -> web.Response:
        async with self._message_arrived:
            self.sent.append(message)
            self._message_arrived.notify_all()
        return _ok({"message_id": message.message_id, "date": int(self.clock.now().timestamp() * 1000)})


def _ok(result) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(code: int, description: str, *, parameters: dict | None = None, status: int | None = None):
    body = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status or code)
