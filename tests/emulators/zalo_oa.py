"""An emulator of the Zalo Official Account API v3 and its OAuth token endpoint on 127.0.0.1.

Behaves as the OA API does where the transport depends on it:
- answers HTTP 200 with `{"error": 0, "message": "Success", "data": …}`, or a negative `error`;
- the access token (an `access_token` header) is checked on every call: unknown → -216, expired → -216;
- `POST /v4/oa/access_token` (form: app_id, refresh_token, grant_type, with the app secret in a
  `secret_key` header) issues a new access token AND a new refresh token; a refresh token works once,
  and only for three months (`refresh_token_lifetime`) after it was issued;
- consultation messages (`/v3.0/oa/message/cs`) reach only users who wrote to the OA within the last
  7 days (-230 otherwise), or who follow it and have not blocked it (-213); `recipient.message_id`
  answers a given message of the user;
- what each message costs, as Zalo documents it: one that quotes a message of the user within 48 hours
  is a free reply (`quota_type` "reply"), at most 8 per message; any other is a consultation message
  drawn from the OA's monthly quota (`consultation_quota`, None: unlimited; -244 once it is used up),
  reported as "purchase_quota"; each sent message records its `quota_type`;
- ZNS (`POST /message/template`, as on business.openapi.zalo.me): a template message to a phone number
  ("84" and 9-10 digits) with the parameters the template declares (`zns_templates`), recorded in
  `zns_sent`;
- `/v2.0/oa/upload/file` takes PDF/DOC/DOCX up to 5 MB and returns a token for a file message;
- webhook events are POSTed to `webhook_url` signed with `X-ZEvent-Signature: mac=<sha256(app_id +
  body + timestamp + OA secret key)>`, timestamps in milliseconds, from the emulator's clock.

Faults (`faults.add(path_or_"*", Fault(kind))`): rate_limit (-32), blocked (-213), expired_token
(-216), server_error (HTTP 5xx), timeout.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from tests.emulators.cdn import stream_chunked
from tests.emulators.faults import Fault, FaultPlan
from tests.emulators.zalo_bot import utf16_length

APP_ID = "3146782011234567890"
APP_SECRET = "emulated-app-secret"
OA_SECRET_KEY = "emulated-oa-secret-key"
OA_ID = "5401234567890123456"
# The deployment's NHACVIEC_SECRET_KEY in tests (a Fernet key; the OA tokens are stored sealed with it).
SECRET_KEY = "qUbX0Y0nQ4gYw1m0Zt9oVh0l8r2Jx1c5N6k3p7s9v0E="
TEXT_LIMIT = 2000
FILE_LIMIT = 5 * 1024 * 1024
FILE_TYPES = {
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
INTERACTION_WINDOW = dt.timedelta(days=7)
FREE_REPLY_WINDOW = dt.timedelta(hours=48)
REPLIES_PER_MESSAGE = 8


def signature(app_id: str, body: str, timestamp: str, oa_secret_key: str) -> str:
    return "mac=" + hashlib.sha256(f"{app_id}{body}{timestamp}{oa_secret_key}".encode()).hexdigest()


@dataclass
class SentOAMessage:
    user_id: str
    message_id: str
    text: str = ""
    file: tuple[str, bytes] | None = None  # (filename, content)
    reply_to: str | None = None  # the user's message this one answers
    quota_type: str = "reply"  # "reply" (free) or "purchase_quota" (a paid consultation message)


@dataclass
class SentZNS:
    phone: str
    template_id: str
    template_data: dict
    tracking_id: str
    msg_id: str


@dataclass
class _Clock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@dataclass
class ZaloOAEmulator:
    clock: object = field(default_factory=_Clock)
    app_id: str = APP_ID
    app_secret: str = APP_SECRET
    oa_secret_key: str = OA_SECRET_KEY
    oa_id: str = OA_ID
    access_token_lifetime: dt.timedelta = dt.timedelta(hours=25)
    refresh_token_lifetime: dt.timedelta = dt.timedelta(days=90)
    consultation_quota: int | None = None
    zns_templates: dict = field(
        default_factory=lambda: {"tpl-nhac-han": ("ten", "co_quan", "ke_hoach", "han")}
    )

    def __post_init__(self) -> None:
        self.faults = FaultPlan()
        self.sent: list[SentOAMessage] = []
        self.calls: list[str] = []
        self.refreshes = 0
        self.webhook_url: str | None = None
        self.webhook_statuses: list[int] = []
        self._access: dict[str, dt.datetime] = {}  # token -> expires at
        self.refresh_token = ""
        self._used_refresh: set[str] = set()
        self._last_interaction: dict[str, dt.datetime] = {}
        self._user_messages: dict[str, str] = {}  # the user's msg_id -> user id
        self._unfollowed: set[str] = set()
        self._names: dict[str, str] = {}
        self._uploads: dict[str, tuple[str, bytes]] = {}
        self._closing = asyncio.Event()
        self._message_arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0
        self._refresh_expires: dict[str, dt.datetime] = {}
        self._message_times: dict[str, dt.datetime] = {}  # the user's msg_id -> when it was sent
        self.replies_to: dict[str, int] = {}  # the user's msg_id -> free replies spent on it
        self.consultations = 0
        self.zns_sent: list[SentZNS] = []
        # What followers sent as pictures and files, served from the emulated CDN by URL.
        self.cdn: dict[str, bytes] = {}
        self.cdn_failures = 0  # the next this many downloads answer 503
        # Files served as a CDN streams what it has not measured: chunked, with no Content-Length.
        self.cdn_chunked: set[str] = set()
        self.access_token = self._issue_access()
        self.refresh_token = self._issue_refresh()

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> ZaloOAEmulator:
        app = web.Application()
        app.router.add_get("/v2.0/oa/getoa", self._getoa)
        app.router.add_get("/v3.0/oa/user/detail", self._user_detail)
        app.router.add_post("/v3.0/oa/message/cs", self._message_cs)
        app.router.add_post("/v2.0/oa/upload/file", self._upload_file)
        app.router.add_post("/v4/oa/access_token", self._access_token)
        app.router.add_post("/message/template", self._zns_template)
        app.router.add_get("/cdn/{name}", self._cdn)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._session = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        self._closing.set()
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def zns_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/message/template"

    @property
    def oauth_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v4/oa/access_token"

    def environment(self) -> dict[str, str]:
        """The secrets an Official Account deployment sets, for this emulator's app and tokens."""
        return {
            "ZALO_OA_APP_ID": self.app_id,
            "ZALO_OA_APP_SECRET": self.app_secret,
            "ZALO_OA_SECRET_KEY": OA_SECRET_KEY,
            "ZALO_OA_ACCESS_TOKEN": self.access_token,
            "ZALO_OA_REFRESH_TOKEN": self.refresh_token,
            "NHACVIEC_SECRET_KEY": SECRET_KEY,
        }

    # -- test API --------------------------------------------------------------------------------

    def _issue_access(self) -> str:
        token = "access-" + uuid.uuid4().hex
        self._access[token] = self.clock.now() + self.access_token_lifetime
        return token

    def _issue_refresh(self) -> str:
        token = "refresh-" + uuid.uuid4().hex
        self._refresh_expires[token] = self.clock.now() + self.refresh_token_lifetime
        return token

    def expire_access_token(self, token: str | None = None) -> None:
        """The access token stops working (it expired, or the OA admin revoked it)."""
        self._access[token or self.access_token] = self.clock.now() - dt.timedelta(seconds=1)

    def event(
        self, user_id: str, text: str, *, event_name: str = "user_send_text", attachment: dict | None = None
    ) -> dict:
        msg_id = uuid.uuid4().hex
        message = {"text": text, "msg_id": msg_id}
        if attachment is not None:
            message["attachments"] = [attachment]
        return {
            "app_id": self.app_id,
            "user_id_by_app": "app-" + user_id,
            "event_name": event_name,
            "timestamp": str(int(self.clock.now().timestamp() * 1000)),
            "sender": {"id": user_id},
            "recipient": {"id": self.oa_id},
            "message": message,
        }

    def host(self, content: bytes, filename: str, *, chunked: bool = False) -> str:
        """Put what a follower sends on the emulated CDN; its URL, for `image()` and `file()`.
        `chunked`: served without saying its size first."""
        name = uuid.uuid4().hex + "-" + filename
        self.cdn[name] = content
        if chunked:
            self.cdn_chunked.add(name)
        return f"http://127.0.0.1:{self.port}/cdn/{name}"

    @staticmethod
    def image(url: str) -> dict:
        """The attachment of a `user_send_image` event, as the OA API documents it."""
        return {"type": "image", "payload": {"thumbnail": url, "url": url}}

    @staticmethod
    def file(url: str, name: str, size: int) -> dict:
        """The attachment of a `user_send_file` event, as the OA API documents it."""
        return {"type": "file", "payload": {"url": url, "name": name, "size": str(size), "type": "pdf"}}

    async def user_sends(
        self, user_id: str, text: str, *, name: str = "Nguyễn Văn An", attachment: dict | None = None
    ) -> dict:
        """A follower writes to the OA (with a picture or a file as `attachment`): recorded as an
        interaction, POSTed, signed, to the webhook."""
        kind = {None: "user_send_text", "image": "user_send_image", "file": "user_send_file"}[
            (attachment or {}).get("type")
        ]
        event = self.event(user_id, text, event_name=kind, attachment=attachment)
        self._names[user_id] = name
        self._unfollowed.discard(user_id)
        self._last_interaction[user_id] = self.clock.now()
        self._user_messages[event["message"]["msg_id"]] = user_id
        self._message_times[event["message"]["msg_id"]] = self.clock.now()
        await self.post_event(event)
        return event

    async def post_event(self, event: dict, *, mac: str | None = None) -> int:
        """POST an event to the webhook, signed correctly unless `mac` says otherwise."""
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        header = (
            mac if mac is not None else signature(self.app_id, body, event["timestamp"], self.oa_secret_key)
        )
        async with self._session.post(
            self.webhook_url,
            data=body.encode(),
            headers={"Content-Type": "application/json", "X-ZEvent-Signature": header},
        ) as response:
            self.webhook_statuses.append(response.status)
            return response.status

    def interacted(self, user_id: str, msg_id: str | None = None) -> None:
        """The user wrote to the OA just now (for events a test crafts and posts itself)."""
        self._unfollowed.discard(user_id)
        self._last_interaction[user_id] = self.clock.now()
        if msg_id:
            self._user_messages[msg_id] = user_id

    def unfollow(self, user_id: str) -> None:
        self._unfollowed.add(user_id)

    def texts_to(self, user_id: str) -> list[str]:
        return [m.text for m in self.sent if m.user_id == user_id and m.file is None]

    async def wait_for_messages(self, user_id: str, count: int, within: float = 10.0) -> list[SentOAMessage]:
        def ready() -> bool:
            return len([m for m in self.sent if m.user_id == user_id]) >= count

        async with self._message_arrived:
            await asyncio.wait_for(self._message_arrived.wait_for(ready), within)
        return [m for m in self.sent if m.user_id == user_id][:count]

    # -- the API ---------------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("access_token", "")
        expires = self._access.get(token)
        if expires is None or expires <= self.clock.now():
            return _error(-216, "Access token is invalid")
        return None

    async def _before(self, request: web.Request, path: str) -> tuple[web.Response | None, Fault | None]:
        self.calls.append(path)
        fault = self.faults.take(path)
        if fault and not fault.deliver:
            return await self._fault(fault), None
        return self._authorised(request), fault

    async def _fault(self, fault: Fault) -> web.StreamResponse:
        if fault.kind == "rate_limit":
            return _error(-32, "Your OA reached limit call api")
        if fault.kind == "blocked":
            return _error(-213, "User has not followed OA")
        if fault.kind == "expired_token":
            return _error(-216, "Access token is invalid")
        if fault.kind == "server_error":
            return web.Response(status=fault.status, text="Internal Server Error")
        if fault.kind == "timeout":
            try:
                await asyncio.wait_for(self._closing.wait(), 30)
            except TimeoutError:
                pass
            return web.Response(status=504, text="Gateway Timeout")
        raise ValueError(f"unknown fault kind {fault.kind!r}")

    async def _getoa(self, request: web.Request) -> web.Response:
        problem, _ = await self._before(request, "/v2.0/oa/getoa")
        if problem:
            return problem
        return _ok({"oa_id": self.oa_id, "name": "Sở Thông tin và Truyền thông", "num_follower": 12})

    async def _user_detail(self, request: web.Request) -> web.Response:
        problem, _ = await self._before(request, "/v3.0/oa/user/detail")
        if problem:
            return problem
        try:
            user_id = str(json.loads(request.query.get("data", "{}")).get("user_id", ""))
        except json.JSONDecodeError:
            return _error(-201, "Parameters are invalid")
        if user_id not in self._names:
            return _error(-213, "User has not followed OA")
        return _ok(
            {
                "user_id": user_id,
                "display_name": self._names[user_id],
                "user_is_follower": user_id not in self._unfollowed,
            }
        )

    async def _message_cs(self, request: web.Request) -> web.StreamResponse:
        problem, fault = await self._before(request, "/v3.0/oa/message/cs")
        if problem:
            return problem
        try:
            payload = await request.json()
        except json.JSONDecodeError:
            return _error(-201, "Parameters are invalid")
        recipient = payload.get("recipient") or {}
        message = payload.get("message") or {}
        reply_to = recipient.get("message_id")
        user_id = self._user_messages.get(reply_to) if reply_to else recipient.get("user_id")
        if not user_id:
            return _error(-201, "Recipient is invalid")
        if user_id in self._unfollowed:
            return _error(-213, "User has not followed OA")
        last = self._last_interaction.get(user_id)
        if last is None or self.clock.now() - last > INTERACTION_WINDOW:
            return _error(-230, "User has not interacted with the OA in the past 7 days")
        sent = SentOAMessage(user_id=user_id, message_id=uuid.uuid4().hex, reply_to=reply_to)
        asked_at = self._message_times.get(reply_to) if reply_to else None
        free = (
            asked_at is not None
            and self.clock.now() - asked_at <= FREE_REPLY_WINDOW
            and self.replies_to.get(reply_to, 0) < REPLIES_PER_MESSAGE
        )
        if not free:
            if self.consultation_quota is not None and self.consultations >= self.consultation_quota:
                return _error(-244, "The OA has used up its message quota")
            sent.quota_type = "purchase_quota"
        attachment = message.get("attachment")
        if attachment:
            token = (
                ((attachment.get("payload") or {}).get("token")) if attachment.get("type") == "file" else None
            )
            if token not in self._uploads:
                return _error(-201, "Attachment is invalid")
            sent.file = self._uploads[token]
        else:
            text = message.get("text")
            if not isinstance(text, str) or not text.strip():
                return _error(-201, "Message text is empty")
            if utf16_length(text) > TEXT_LIMIT:
                return _error(-201, f"Message text is longer than {TEXT_LIMIT} characters")
            sent.text = text
        if free:
            self.replies_to[reply_to] = self.replies_to.get(reply_to, 0) + 1
        else:
            self.consultations += 1
        async with self._message_arrived:
            self.sent.append(sent)
            self._message_arrived.notify_all()
        if fault:  # delivered, but the answer is lost
            return await self._fault(fault)
        return _ok(
            {"message_id": sent.message_id, "user_id": user_id, "quota": {"quota_type": sent.quota_type}}
        )

    async def _zns_template(self, request: web.Request) -> web.StreamResponse:
        problem, fault = await self._before(request, "/message/template")
        if problem:
            return problem
        try:
            payload = await request.json()
        except json.JSONDecodeError:
            return _error(-100, "Parameters are invalid")
        phone = str(payload.get("phone") or "")
        if not re.fullmatch(r"84\d{9,10}", phone):
            return _error(-108, "Phone number is invalid")
        template_id = str(payload.get("template_id") or "")
        if template_id not in self.zns_templates:
            return _error(-1123, "Template is invalid")
        data = payload.get("template_data") or {}
        missing = [name for name in self.zns_templates[template_id] if not str(data.get(name) or "").strip()]
        if missing:
            return _error(-1124, f"Template data is missing {', '.join(missing)}")
        sent = SentZNS(phone, template_id, data, str(payload.get("tracking_id") or ""), uuid.uuid4().hex)
        self.zns_sent.append(sent)
        if fault:
            return await self._fault(fault)
        return _ok({"msg_id": sent.msg_id, "sent_time": str(int(self.clock.now().timestamp() * 1000))})

    async def _upload_file(self, request: web.Request) -> web.Response:
        problem, _ = await self._before(request, "/v2.0/oa/upload/file")
        if problem:
            return problem
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return _error(-201, "file is required")
        content = upload.file.read()
        if upload.content_type not in FILE_TYPES:
            return _error(-210, "File type is not supported")
        if len(content) > FILE_LIMIT:
            return _error(-210, "File is larger than 5MB")
        token = uuid.uuid4().hex
        self._uploads[token] = (upload.filename, content)
        return _ok({"token": token})

    async def _cdn(self, request: web.Request) -> web.Response:
        if self.cdn_failures:
            self.cdn_failures -= 1
            return web.Response(status=503, text="Service Unavailable")
        name = request.match_info["name"]
        content = self.cdn.get(name)
        if content is None:
            return web.Response(status=404, text="Not Found")
        if name in self.cdn_chunked:
            return await stream_chunked(request, content, "application/octet-stream")
        return web.Response(body=content, content_type="application/octet-stream")

    async def _access_token(self, request: web.Request) -> web.StreamResponse:
        self.calls.append("/v4/oa/access_token")
        fault = self.faults.take("/v4/oa/access_token")
        if fault:
            return await self._fault(fault)
        form = await request.post()
        if request.headers.get("secret_key") != self.app_secret or form.get("app_id") != self.app_id:
            return web.json_response({"error": -14001, "error_description": "Invalid app credentials"})
        token = form.get("refresh_token")
        if form.get("grant_type") != "refresh_token" or not token:
            return web.json_response({"error": -14003, "error_description": "Missing refresh token"})
        if token in self._used_refresh or token != self.refresh_token:
            return web.json_response({"error": -14014, "error_description": "Invalid refresh token"})
        if self._refresh_expires.get(token, self.clock.now()) <= self.clock.now():
            return web.json_response({"error": -14020, "error_description": "Refresh token is expired"})
        self._used_refresh.add(token)
        self.refreshes += 1
        self.access_token = self._issue_access()
        self.refresh_token = self._issue_refresh()
        return web.json_response(
            {
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": str(int(self.access_token_lifetime.total_seconds())),
            }
        )


def _ok(data) -> web.Response:
    return web.json_response({"data": data, "error": 0, "message": "Success"})


def _error(code: int, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message})
