"""The Transport for a Zalo Official Account (OA API v3), and its webhook's signature and events.

Every message part goes the way `oa_routes.choose_route` picks: a free reply quoting the member's
latest message (counted, 8 per message), else a consultation message counted against the monthly
quota. When neither is allowed the send fails with a DeliveryError that is permanent for this channel
only (`channel_only`, `reply_window`), so a reminder goes by the member's other channel; when none
is left the reminder engine asks `last_resort`, which sends a ZNS template message or says why it
could not. The member is never marked unreachable for this: their next message reopens the window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import zoneinfo
from collections.abc import Awaitable, Callable
from itertools import islice

from bot.core.messages import Attachment, Document, Incoming, Reply
from bot.i18n import use_language
from bot.transports.base import DeliveryError, Recipient
from bot.transports.webhook import NotAnUpdate
from bot.transports.zalo import oa_routes
from bot.transports.zalo.client import ZaloNetworkError
from bot.transports.zalo.files import SharedFiles
from bot.transports.zalo.oa_client import (
    OUTSIDE_WINDOW,
    QUOTA_EXCEEDED,
    RATE_LIMITED,
    RECIPIENT_GONE,
    TOKEN_REJECTED,
    ZaloOAClient,
    ZaloOAError,
)
from bot.transports.zalo.render import FilePart, PhotoPart, TextPart, render_reply
from bot.transports.zalo.tokens import OATokenStore, TokenUnavailable
from scheduler.clock import Clock
from storage import zalo as repository
from storage.db import Database

log = logging.getLogger(__name__)

PLATFORM = "zalo_oa"
# The OA API counts calls per OA; when it says stop, a minute is the least worth waiting.
RATE_LIMIT_PAUSE = 60.0
UPLOADABLE = {
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
UPLOAD_LIMIT = 5 * 1024 * 1024
NAME_CACHE_SIZE = 10_000


def oa_delivery_error(exc: Exception, *, partial: bool = False) -> DeliveryError:
    if isinstance(exc, ZaloNetworkError):
        return DeliveryError(
            f"zalo_oa: {exc}", permanent=False, outcome_unknown=exc.maybe_delivered or partial
        )
    if isinstance(exc, TokenUnavailable):
        return DeliveryError(f"zalo_oa: {exc}", permanent=False, outcome_unknown=partial)
    assert isinstance(exc, ZaloOAError)
    message = f"zalo_oa: {exc.code} {exc.message}"
    if exc.code in RATE_LIMITED:
        return DeliveryError(message, permanent=False, retry_after=RATE_LIMIT_PAUSE, outcome_unknown=partial)
    if exc.code in OUTSIDE_WINDOW or exc.code in QUOTA_EXCEEDED:
        return DeliveryError(
            message, permanent=True, channel_only=True, reply_window=True, outcome_unknown=partial
        )
    if exc.code in RECIPIENT_GONE:
        return DeliveryError(message, permanent=True, outcome_unknown=partial)
    return DeliveryError(message, permanent=False, outcome_unknown=partial)


class ZaloOATransport:
    platform = PLATFORM
    max_text_length = 2000

    def __init__(
        self,
        client: ZaloOAClient,
        tokens: OATokenStore,
        db: Database,
        clock: Clock,
        *,
        tz: zoneinfo.ZoneInfo,
        reply_window: dt.timedelta,
        files: SharedFiles | None = None,
        consultation_quota: int = 0,
        zns_template_id: str | None = None,
        zns_params: dict[str, str] | None = None,
    ):
        self.client = client
        self.tokens = tokens
        self._db = db
        self._clock = clock
        self._tz = tz
        self._window = reply_window
        self._files = files
        self._names: dict[str, str] = {}
        self.consultation_quota = consultation_quota
        self.zns_template_id = zns_template_id
        self.zns_params = dict(zns_params or {})

    async def check(self) -> dict:
        """The OA's profile: proves that the stored access token (or its renewal) works."""
        return await self._with_token(lambda token: self.client.get_oa(token))

    async def display_name(self, user_id: str) -> str:
        """The follower's name as Zalo shows it ("" when Zalo will not say), remembered per process."""
        if user_id not in self._names:
            try:
                name = await self._with_token(lambda token: self.client.user_name(token, user_id))
            except (ZaloOAError, ZaloNetworkError, TokenUnavailable) as exc:
                log.info("no display name for an OA follower: %s", exc)
                return ""
            if len(self._names) >= NAME_CACHE_SIZE:
                self._names.pop(next(iter(self._names)))
            self._names[user_id] = name
        return self._names[user_id]

    async def record_message(self, user_id: str, message_id: str | None) -> None:
        """The follower wrote: the reply window (re)opens from now."""
        async with self._db.transaction() as session:
            await repository.record_contact(session, user_id, message_id, self._clock.now())

    async def send(self, recipient: Recipient, reply: Reply, *, reply_to: str | None = None) -> str:
        """Deliver `reply`, each part the cheapest way allowed (see `oa_routes`). `reply_to`: the
        follower's message this answers; the route quotes their latest message, which is that one
        unless they wrote again since."""
        with use_language(recipient.language):
            parts = await render_reply(
                reply, limit=self.max_text_length, tz=self._tz, files=self._files, can_upload=_uploadable
            )
        first_id = ""
        for index, part in enumerate(parts):
            quote = await self._take_route(recipient.chat_id, reply_to, partial=index > 0)
            try:
                message_id = await self._send_part(recipient.chat_id, part, quote)
            except (ZaloOAError, ZaloNetworkError, TokenUnavailable) as exc:
                raise oa_delivery_error(exc, partial=index > 0) from exc
            first_id = first_id or message_id
        return first_id

    # -- routes and what they cost ------------------------------------------------------------------

    def _month(self, now: dt.datetime) -> str:
        return now.astimezone(self._tz).strftime("%Y-%m")

    async def facts(self, user_id: str, *, other_channel: bool) -> oa_routes.OAFacts:
        now = self._clock.now()
        async with self._db.snapshot() as session:
            contact = await repository.last_contact(session, user_id)
            used = await repository.quota_used(session, self._month(now), oa_routes.CONSULTATION)
            phone = (
                await repository.consented_phone(session, PLATFORM, user_id) if self.zns_template_id else None
            )
        return oa_routes.OAFacts(
            last_message_id=contact.last_message_id if contact else None,
            last_message_at=contact.last_message_at if contact else None,
            replies_used=contact.replies_used if contact else 0,
            consultations_used=used,
            consultation_quota=self.consultation_quota,
            other_channel=other_channel,
            zns_template=self.zns_template_id is not None,
            phone=phone is not None,
        )

    async def _take_route(
        self, user_id: str, reply_to: str | None = None, *, partial: bool = False
    ) -> str | None:
        """Spend what the route costs and return the message id to quote (None: a consultation
        message); raise the channel-only DeliveryError when the OA may not write now."""
        for _ in range(3):  # a lost race for the last free reply or quota unit: choose again
            now = self._clock.now()
            facts = await self.facts(user_id, other_channel=True)
            if reply_to and reply_to != facts.last_message_id:
                # An answer to an earlier message, sent just after it (the follower wrote again in the
                # meantime): it quotes the message it answers; its replies are not ours to count.
                return reply_to
            route = oa_routes.choose_route(facts, now, free_window=self._window)
            async with self._db.transaction() as session:
                if route.kind == oa_routes.REPLY:
                    if await repository.spend_reply(
                        session, user_id, facts.last_message_id, oa_routes.REPLIES_PER_MESSAGE
                    ):
                        return facts.last_message_id
                elif route.kind == oa_routes.CONSULTATION:
                    if await repository.spend_quota(
                        session, self._month(now), oa_routes.CONSULTATION, self.consultation_quota
                    ):
                        return None
                else:
                    raise DeliveryError(
                        f"zalo_oa: {route.describe()}",
                        permanent=True,
                        channel_only=True,
                        reply_window=True,
                        outcome_unknown=partial,
                    )
        raise DeliveryError("zalo_oa: the free replies and quota were taken meanwhile", permanent=False)

    async def last_resort(self, recipient: Recipient, reply: Reply, fields: dict[str, str]) -> str:
        """When every other channel of the member is closed for now: the OA itself if a route opened
        meanwhile, else a ZNS template message, else a DeliveryError naming why (for the digest)."""
        now = self._clock.now()
        facts = await self.facts(recipient.chat_id, other_channel=False)
        route = oa_routes.choose_route(facts, now, free_window=self._window)
        if route.kind in (oa_routes.REPLY, oa_routes.CONSULTATION):
            return await self.send(recipient, reply)
        if route.kind != oa_routes.ZNS:
            raise DeliveryError(
                f"zalo_oa: {route.describe()}", permanent=True, channel_only=True, reply_window=True
            )
        async with self._db.snapshot() as session:
            phone = await repository.consented_phone(session, PLATFORM, recipient.chat_id)
        data = {name: fields.get(field, "") for name, field in self.zns_params.items()}
        try:
            message_id = await self._with_token(
                lambda token: self.client.send_zns(
                    token,
                    phone=phone,
                    template_id=self.zns_template_id,
                    template_data=data,
                    tracking_id=fields.get("reference", "")[:48],
                )
            )
        except (ZaloOAError, ZaloNetworkError, TokenUnavailable) as exc:
            raise oa_delivery_error(exc) from exc
        async with self._db.transaction() as session:
            # Counted for the monthly report of what the OA spent; ZNS has no quota of ours.
            await repository.spend_quota(session, self._month(now), oa_routes.ZNS, 1 << 30)
        return message_id

    async def _send_part(self, user_id: str, part, reply_to: str | None) -> str:
        if isinstance(part, TextPart):
            return await self._with_token(
                lambda token: self.client.send_text(token, part.text, user_id=user_id, message_id=reply_to)
            )
        if isinstance(part, PhotoPart):
            text = f"{part.caption}\n{part.url}" if part.caption else part.url
            return await self._with_token(
                lambda token: self.client.send_text(token, text, user_id=user_id, message_id=reply_to)
            )
        assert isinstance(part, FilePart)
        document = part.document
        file_token = await self._with_token(
            lambda token: self.client.upload_file(
                token, document.filename, document.content, document.mime_type
            )
        )
        return await self._with_token(
            lambda token: self.client.send_file(token, file_token, user_id=user_id, message_id=reply_to)
        )

    async def _with_token(self, call: Callable[[str], Awaitable[str]]) -> str:
        token = await self.tokens.current()
        try:
            return await call(token)
        except ZaloOAError as exc:
            if exc.code not in TOKEN_REJECTED:
                raise
        # Rejected: expired early, or revoked. Renew once (or take another instance's renewal) and retry.
        return await call(await self.tokens.refresh(token))


def _uploadable(document: Document) -> bool:
    return document.mime_type in UPLOADABLE and len(document.content) <= UPLOAD_LIMIT


# -- the webhook ---------------------------------------------------------------------------------------


# The body's own "timestamp" goes into the signature. It is read from the raw bytes, so that nothing
# parses a body before its signature is known good; a body naming several is checked against each
# (only the one Zalo signed can match, and the MAC covers the whole body whichever it is).
_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"?(\d{1,20})"?')
_MAX_TIMESTAMPS = 4


def verify_signature(body: bytes, header: str | None, *, app_id: str, oa_secret_key: str) -> bool:
    """`X-ZEvent-Signature` is "mac=" + sha256(app id + raw body + the body's timestamp + OA secret key)."""
    if not header or not oa_secret_key:
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    supplied = header.strip()
    supplied = supplied[4:] if supplied.lower().startswith("mac=") else supplied
    for match in islice(_TIMESTAMP.finditer(body), _MAX_TIMESTAMPS):
        timestamp = match.group(1).decode()
        expected = hashlib.sha256(f"{app_id}{text}{timestamp}{oa_secret_key}".encode()).hexdigest()
        if hmac.compare_digest(supplied.lower().encode(), expected.encode()):
            return True
    return False


def event_time(event: dict) -> dt.datetime:
    """When Zalo says the event happened (its `timestamp`, milliseconds since the epoch, UTC)."""
    raw = str(event.get("timestamp", ""))
    if not raw.isdigit() or len(raw) > 15:
        raise NotAnUpdate("no timestamp")
    return dt.datetime.fromtimestamp(int(raw) / 1000, dt.UTC)


def replay_key(event: dict, body: bytes) -> str:
    """What a replay of this event repeats: its message id, or else the whole signed body."""
    message = event.get("message")
    msg_id = message.get("msg_id") if isinstance(message, dict) else None
    if isinstance(msg_id, str | int) and str(msg_id):
        return f"msg:{msg_id}"
    return "body:" + hashlib.sha256(body).hexdigest()


def _object(value, what: str) -> dict:
    # Absent is an empty object; anything but an object is a malformed event, refused with 400.
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise NotAnUpdate(f"{what} is a {type(value).__name__}, not an object")
    return value


def incoming_from_event(event: dict) -> Incoming | None:
    """A follower's message as the core sees it; None for events that are not messages.

    Raises NotAnUpdate for an event whose parts have the wrong types (a string `message`, say).
    """
    name = event.get("event_name")
    if not isinstance(name, str):
        raise NotAnUpdate("no event_name")
    if not name.startswith("user_send_"):
        return None
    sender = _object(event.get("sender"), "sender").get("id")
    message = _object(event.get("message"), "message")
    msg_id = message.get("msg_id")
    text = message.get("text")
    if not isinstance(sender, str | int) or isinstance(sender, bool) or not str(sender):
        raise NotAnUpdate("no sender id")
    if msg_id is not None and not isinstance(msg_id, str | int):
        raise NotAnUpdate("msg_id is not a string")
    if text is not None and not isinstance(text, str):
        raise NotAnUpdate("text is not a string")
    attachments = message.get("attachments") or []
    if not isinstance(attachments, list):
        raise NotAnUpdate("attachments is not a list")
    attachment = None
    for item in attachments:
        item = _object(item, "an attachment")
        payload = _object(item.get("payload"), "an attachment's payload")
        url, filename, size = payload.get("url"), payload.get("name"), payload.get("size")
        if url and isinstance(url, str):
            attachment = Attachment(
                file_id=url,
                filename=filename if isinstance(filename, str) else None,
                mime_type="image/*" if item.get("type") == "image" else None,
                size=int(size) if str(size or "").isdigit() and len(str(size)) < 16 else None,
            )
            break
    if name != "user_send_text" and attachment is None:
        return None  # stickers, locations, business cards: nothing the core can act on
    msg_id = str(msg_id) if msg_id not in (None, "") else None
    return Incoming(
        platform=PLATFORM,
        chat_id=str(sender),
        user_id=str(sender),
        text=text or "",
        message_id=msg_id,
        update_key=msg_id,
        attachment=attachment,
        can_edit=False,  # an OA is told of no edits
    )
