"""Chat replies that outlive a platform's passing trouble.

A person who writes to the bot is owed the answer even when Telegram or Zalo refuses it for a while
(429, a 5xx, a timeout). Every reply to a chat goes through one ReplyCourier:

1. It is sent at once; a passing failure is retried after `[replies] retry_delays_seconds` (or the
   platform's own retry_after, when it gives one: the Zalo Bot API documents none, so our schedule is
   the only one there), while the chat's later updates wait behind it, so replies keep their order.
2. Past those waits, or when a rate limit asks for longer than `max_inline_wait_seconds`, the reply is
   parked in the database (`parked_reply`) and the call returns. Later replies to that chat are parked
   behind it, never sent ahead of it.
3. A loop (`run`, one `flush` per `flush_every_seconds`) sends parked replies in order, chat by chat,
   once the platform answers again, backing off per row; a parked reply says it comes late and which
   message it answers. One that is still refused after `give_up_hours` is dropped and the person told
   so, on that chat if it now works, else on another chat of theirs.

A message the bot owes someone outside any exchange (their evidence file was not kept) is parked the
same way by `park_notice`, in the unit of work that decided it, so that it outlives a crash and goes
out once, by the same loop; it carries no "comes late" note, since it answers nothing.

A refusal that retrying cannot help (the person blocked the bot, the chat is gone) is logged and not
retried, as for reminders. After a timeout the platform may already have shown the reply; it is sent
again: seeing an answer twice is better than never seeing it.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.core.messages import Button, ContactRequest, Document, Image, Reply
from bot.i18n import _, use_language
from bot.transports.base import DeliveryError, Recipient, Transport
from storage import people
from storage.models.people import ConversationState, Identity, Member
from storage.models.replies import ParkedReply

log = logging.getLogger(__name__)

# How long one instance holds a parked row while sending it.
CLAIM_SECONDS = 120
FLUSH_BATCH = 200

ChatKey = tuple[str, str]


# ---------------------------------------------------------------- the reply as a parked row keeps it


def reply_to_json(reply: Reply, *, notice: bool = False) -> str:
    def blob(content: bytes) -> str:
        return base64.b64encode(content).decode("ascii")

    return json.dumps(
        {
            "text": reply.text,
            "buttons": [[[button.label, button.data] for button in row] for row in reply.buttons],
            "documents": [
                [document.filename, document.mime_type, document.caption, blob(document.content)]
                for document in reply.documents
            ],
            "images": [[image.filename, image.caption, blob(image.content)] for image in reply.images],
            "awaits_answer": reply.awaits_answer,
            "contact_request": (
                [reply.contact_request.share, reply.contact_request.skip] if reply.contact_request else None
            ),
            "close_keyboard": reply.close_keyboard,
            # Not an answer to a message: sent as it is, without the note that it comes late.
            "notice": notice,
        },
        ensure_ascii=False,
    )


def is_notice(payload: str) -> bool:
    return bool(json.loads(payload).get("notice"))


async def park_notice(
    session: AsyncSession,
    *,
    platform: str,
    chat_id: str,
    reply: Reply,
    language: str,
    now: dt.datetime,
    reply_to: str | None = None,
) -> None:
    """Queue a message to a chat for the courier's loop (`ReplyCourier.flush`) to send, in the
    caller's unit of work: it is sent only if that commits, and then at least once."""
    session.add(
        ParkedReply(
            platform=platform,
            chat_id=str(chat_id),
            reply_to=reply_to,
            payload=reply_to_json(reply, notice=True),
            language=language,
            created_at=now,
            next_attempt_at=now,
            attempts=0,
            last_error=None,
        )
    )


def reply_from_json(payload: str) -> Reply:
    data = json.loads(payload)
    return Reply(
        text=data["text"],
        buttons=[[Button(label, value) for label, value in row] for row in data["buttons"]],
        documents=[
            Document(filename, base64.b64decode(content), mime_type, caption)
            for filename, mime_type, caption, content in data["documents"]
        ],
        images=[
            Image(filename, base64.b64decode(content), caption)
            for filename, caption, content in data["images"]
        ],
        awaits_answer=data.get("awaits_answer", False),
        contact_request=ContactRequest(*data["contact_request"]) if data.get("contact_request") else None,
        close_keyboard=data.get("close_keyboard", False),
    )


# ---------------------------------------------------------------- the courier


class ReplyCourier:
    """Delivers the replies to chats of one process, over its registry of transports."""

    def __init__(
        self,
        app: App,
        transports: Mapping[str, Transport],
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ):
        self.app = app
        self.transports = transports
        self.settings = app.config.replies
        self.sleep = sleep
        self._locks: dict[ChatKey, asyncio.Lock] = {}
        self._waiting: dict[ChatKey, int] = {}
        # Chats with parked replies, as this process last saw them: a new reply to one of them is
        # parked behind the earlier ones. Read from the database at start and after every flush.
        self._parked: set[ChatKey] = set()
        self._loop: asyncio.Task | None = None
        self._stopping = asyncio.Event()
        self.given_up = 0

    # -- sending now -------------------------------------------------------------------------

    async def deliver(
        self, platform: str, chat_id: str, reply: Reply, *, reply_to: str | None = None
    ) -> str | None:
        """Send `reply` to the chat; the platform's message id, or None when it is parked (it will
        follow) or cannot be delivered at all (logged)."""
        key = (platform, str(chat_id))
        async with self._chat(key):
            if key in self._parked:
                await self._park(key, reply, reply_to, "behind an earlier reply still waiting", delay=None)
                return None
            return await self._send_with_retries(key, reply, reply_to)

    async def _send_with_retries(self, key: ChatKey, reply: Reply, reply_to: str | None) -> str | None:
        platform, chat_id = key
        transport = self.transports.get(platform)
        if transport is None:
            log.warning(
                "a reply for a %s chat cannot be sent: %s is not configured for this process",
                platform,
                platform,
            )
            return None
        delays = list(self.settings.retry_delays_seconds)
        while True:
            try:
                return await self._send(transport, key, reply, reply_to)
            except DeliveryError as exc:
                if exc.permanent:
                    log.warning("reply to %s chat %s not delivered: %s", platform, chat_id, exc)
                    return None
                wait = delays.pop(0) if delays else None
                if wait is not None and exc.retry_after is not None:
                    wait = max(wait, exc.retry_after)
                if wait is None or wait > self.settings.max_inline_wait_seconds:
                    await self._park(key, reply, reply_to, str(exc), delay=exc.retry_after)
                    return None
                log.info(
                    "reply to %s chat %s refused for now (%s): again in %gs", platform, chat_id, exc, wait
                )
                await self.sleep(wait)

    async def _send(self, transport: Transport, key: ChatKey, reply: Reply, reply_to: str | None) -> str:
        platform, chat_id = key
        # The core wrote the reply in the person's language; a transport only needs it for the few
        # words it adds itself (notes on files it cannot send), so only then is it looked up.
        language = (
            await self._language(key)
            if reply.documents or reply.images
            else self.app.config.i18n.default_language
        )
        recipient = Recipient(platform, chat_id, language)
        extra = {"reply_to": reply_to} if reply_to else {}
        # The sending budget, as for reminders: the platform's overall and per-chat limits hold
        # whatever mix of replies and reminders goes out (a transport that sends a reply in several
        # messages paces the others itself).
        # A retry_after the platform answers is waited out for this chat by the retries above.
        limiter = self.app.rate_limits().for_platform(platform)
        await limiter.acquire(chat_id)
        try:
            return await transport.send(recipient, reply, **extra)
        finally:
            limiter.answered(chat_id)

    def _chat(self, key: ChatKey) -> _ChatTurn:
        return _ChatTurn(self, key)

    # -- parking -----------------------------------------------------------------------------

    async def _park(
        self, key: ChatKey, reply: Reply, reply_to: str | None, error: str, *, delay: float | None
    ) -> None:
        now = self.app.clock.now()
        wait = max(delay or 0.0, self.settings.parked_backoff_seconds[0])
        async with self.app.db.transaction() as session:
            session.add(
                ParkedReply(
                    platform=key[0],
                    chat_id=key[1],
                    reply_to=reply_to,
                    payload=reply_to_json(reply),
                    language=await self._language(key),
                    created_at=now,
                    next_attempt_at=now + dt.timedelta(seconds=wait),
                    attempts=0,
                    last_error=error[:1000],
                )
            )
        self._parked.add(key)
        log.warning("reply to %s chat %s parked until the platform takes it: %s", key[0], key[1], error)

    async def parked_chats(self) -> set[ChatKey]:
        async with self.app.db.snapshot() as session:
            rows = await session.execute(select(ParkedReply.platform, ParkedReply.chat_id).distinct())
            return {(platform, chat_id) for platform, chat_id in rows}

    # -- sending what was parked -------------------------------------------------------------

    async def flush(self) -> int:
        """One pass over the parked replies that are due: each chat's in order, stopping at the first
        one still refused. Returns how many were delivered."""
        now = self.app.clock.now()
        async with self.app.db.snapshot() as session:
            due = await session.execute(
                select(ParkedReply.platform, ParkedReply.chat_id)
                .where(ParkedReply.next_attempt_at <= now)
                .group_by(ParkedReply.platform, ParkedReply.chat_id)
                .order_by(func.min(ParkedReply.id))
                .limit(FLUSH_BATCH)
            )
            chats = [(platform, chat_id) for platform, chat_id in due]
        delivered = 0
        for key in chats:
            async with self._chat(key):
                delivered += await self._flush_chat(key)
        self._parked = await self.parked_chats()
        return delivered

    async def _flush_chat(self, key: ChatKey) -> int:
        async with self.app.db.snapshot() as session:
            rows = (
                await session.scalars(
                    select(ParkedReply)
                    .where(ParkedReply.platform == key[0], ParkedReply.chat_id == key[1])
                    .order_by(ParkedReply.id)
                )
            ).all()
        delivered = 0
        for index, row in enumerate(rows):
            now = self.app.clock.now()
            if index == 0 and row.next_attempt_at > now:
                break  # its backoff has not run out; the later ones only wait behind it

            if not await self._claim(row, now):
                break  # another instance is on this chat
            outcome = await self._send_parked(key, row, now)
            if outcome == "wait":
                break
            delivered += outcome == "sent"
        return delivered

    async def _claim(self, row: ParkedReply, now: dt.datetime) -> bool:
        async with self.app.db.transaction() as session:
            result = await session.execute(
                update(ParkedReply)
                .where(
                    ParkedReply.id == row.id,
                    or_(ParkedReply.claimed_until.is_(None), ParkedReply.claimed_until <= now),
                )
                .values(claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
            )
            return result.rowcount == 1

    async def _send_parked(self, key: ChatKey, row: ParkedReply, now: dt.datetime) -> str:
        """ "sent", "dropped" (given up or refused for good) or "wait" (still refused: try later)."""
        reply = reply_from_json(row.payload)
        notice = is_notice(row.payload)
        transport = self.transports.get(key[0])
        error: DeliveryError | None = None
        if transport is not None and not notice:
            with use_language(row.language):
                note = _(
                    "This answer comes late: {platform} did not take it at first. It answers your message of {time}."
                )
                local = row.created_at.astimezone(self.app.config.tz)
                reply.text = note.format(
                    platform=_platform_name(key[0]), time=local.strftime("%H:%M %d/%m")
                ) + ("\n\n" + reply.text if reply.text else "")
        if transport is not None:
            try:
                await self._send(transport, key, reply, row.reply_to)
            except DeliveryError as exc:
                error = exc
            else:
                await self._forget(row)
                log.info(
                    "parked reply to %s chat %s delivered after %d attempts", key[0], key[1], row.attempts + 1
                )
                return "sent"
        else:
            error = DeliveryError(f"no {key[0]} transport in this process", permanent=False)
        if error.permanent:
            log.warning("parked reply to %s chat %s not delivered: %s", key[0], key[1], error)
            await self._forget(row)
            return "dropped"
        if now - row.created_at >= dt.timedelta(hours=self.settings.give_up_hours):
            await self._give_up(key, row, error)
            return "dropped"
        backoff = self.settings.parked_backoff_seconds
        wait = backoff[min(row.attempts + 1, len(backoff) - 1)]
        wait = max(wait, error.retry_after or 0.0)
        async with self.app.db.transaction() as session:
            await session.execute(
                update(ParkedReply)
                .where(ParkedReply.id == row.id)
                .values(
                    attempts=ParkedReply.attempts + 1,
                    next_attempt_at=now + dt.timedelta(seconds=wait),
                    last_error=str(error)[:1000],
                    claimed_until=None,
                )
            )
        return "wait"

    async def _forget(self, row: ParkedReply) -> None:
        async with self.app.db.transaction() as session:
            await session.execute(delete(ParkedReply).where(ParkedReply.id == row.id))

    async def _give_up(self, key: ChatKey, row: ParkedReply, error: DeliveryError) -> None:
        await self._forget(row)
        self.given_up += 1
        log.error(
            "reply to %s chat %s given up after %d attempts since %s: %s",
            key[0],
            key[1],
            row.attempts + 1,
            row.created_at.isoformat(timespec="minutes"),
            error,
        )
        if is_notice(row.payload):
            # Nobody waits for an answer here: the message itself goes to another chat of theirs.
            notice = reply_from_json(row.payload)
            targets = await self._other_chats(key)
        else:
            targets = [key, *await self._other_chats(key)]
            with use_language(row.language):
                local = row.created_at.astimezone(self.app.config.tz)
                notice = Reply(
                    _(
                        "I could not deliver my answer to your message of {time}: {platform} kept refusing it. "
                        "Please send your message again."
                    ).format(time=local.strftime("%H:%M %d/%m"), platform=_platform_name(key[0]))
                )
        for target in targets:
            transport = self.transports.get(target[0])
            if transport is None:
                continue
            try:
                await self._send(transport, target, notice, None)
            except DeliveryError as exc:
                log.warning("notice of an undelivered reply not sent on %s: %s", target[0], exc)
                continue
            return
        log.error("nobody could be told that a reply to %s chat %s was lost", key[0], key[1])

    # -- who the chat belongs to --------------------------------------------------------------

    async def _language(self, key: ChatKey) -> str:
        """The chat's language: its member's, or the one a newcomer chose before registering."""
        async with self.app.db.snapshot() as session:
            language = await session.scalar(
                select(Member.language)
                .join(Identity, Identity.member_id == Member.id)
                .where(Identity.platform == key[0], Identity.chat_id == key[1])
                .limit(1)
            )
            if language is None:
                states = await session.scalars(
                    select(ConversationState.data).where(
                        ConversationState.platform == key[0], ConversationState.chat_id == key[1]
                    )
                )
                language = next(
                    (data.get("language") for data in states if data and data.get("language")), None
                )
        return language or self.app.config.i18n.default_language

    async def _other_chats(self, key: ChatKey) -> list[ChatKey]:
        async with self.app.db.snapshot() as session:
            owner = await session.scalar(
                select(Identity.member_id)
                .where(Identity.platform == key[0], Identity.chat_id == key[1])
                .limit(1)
            )
            if owner is None:
                return []
            chats = await people.reachable_chats(session, owner)
            return [chat for chat in chats if chat != key]

    # -- the loop ------------------------------------------------------------------------------

    async def start(self) -> None:
        self._parked = await self.parked_chats()
        self._stopping.clear()
        self._loop = asyncio.create_task(self._run(), name="parked-replies")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), self.settings.flush_every_seconds)
            except TimeoutError:
                pass
            if self._stopping.is_set():
                return
            try:
                await self.flush()
            except Exception:  # the next pass tries again; a database hiccup must not end the loop
                log.exception("sending parked replies failed")

    async def stop(self) -> None:
        self._stopping.set()
        if self._loop is not None:
            loop, self._loop = self._loop, None
            await asyncio.gather(loop, return_exceptions=True)


class _ChatTurn:
    """One chat's replies, one at a time, in the order they were asked for (asyncio.Lock is fair)."""

    def __init__(self, courier: ReplyCourier, key: ChatKey):
        self.courier, self.key = courier, key

    async def __aenter__(self) -> None:
        courier = self.courier
        courier._waiting[self.key] = courier._waiting.get(self.key, 0) + 1
        self.lock = courier._locks.setdefault(self.key, asyncio.Lock())
        await self.lock.acquire()

    async def __aexit__(self, *exc) -> None:
        courier = self.courier
        self.lock.release()
        courier._waiting[self.key] -= 1
        if not courier._waiting[self.key]:
            del courier._waiting[self.key]
            del courier._locks[self.key]


def _platform_name(platform: str) -> str:
    return {"telegram": "Telegram", "zalo": "Zalo", "zalo_oa": "Zalo"}.get(platform, platform)
