"""Keeping the Official Account authorised, whatever the traffic.

Zalo's refresh token is single-use and valid for three months; an access token lasts about a day. A
token pair renewed only when a message goes out lapses on a quiet OA (a summer without deadlines),
and then only a person can authorise the OA again. So the process serving the OA renews the pair on
a daily tick, records when the current refresh token lapses, and — should renewing keep failing
(Zalo unreachable, the app secret changed) — warns the admins in chat 14 and 3 days before it does,
once each, with what to do (docs/zalo.md, "Authorising the Official Account again").
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from bot.app import App
from bot.core.messages import Reply
from bot.i18n import _, format_day, use_language
from bot.transports.zalo.tokens import OATokenStore, TokenUnavailable
from storage import zalo as repository
from storage.models.people import ACTIVE, ADMIN, Identity, Member

log = logging.getLogger(__name__)

# Days before the refresh token lapses when the admins are warned, furthest first.
WARN_DAYS = (14, 3)


class OAAuthorisation:
    """`await tick()` once in a while (hourly by the runner; tests move the clock and call it)."""

    def __init__(self, app: App, tokens: OATokenStore, courier, *, app_id: str):
        self.app = app
        self.tokens = tokens
        self.courier = courier
        self.app_id = app_id
        self._loop: asyncio.Task | None = None
        self._stopping = asyncio.Event()

    async def tick(self) -> None:
        try:
            if await self.tokens.keep_alive():
                log.info("OA token pair renewed on the daily tick")
        except TokenUnavailable as exc:
            log.error("the OA token pair could not be renewed: %s", exc)
        await self._warn_if_lapsing()

    async def _warn_if_lapsing(self) -> None:
        now = self.app.clock.now()
        async with self.app.db.snapshot() as session:
            row = await repository.get_token(session, self.app_id)
            if row is None or row.refresh_expires_at is None:
                return
            lapses_at, warned = row.refresh_expires_at, row.expiry_warned_days
        left = lapses_at - now
        due = [
            days
            for days in WARN_DAYS
            if left.total_seconds() <= days * 86400 and (warned is None or days < warned)
        ]
        if not due:
            return
        days = min(due)
        async with self.app.db.transaction() as session:
            await repository.mark_expiry_warned(session, self.app_id, days)
        local_day = lapses_at.astimezone(self.app.config.tz).date()
        admins = await self._admin_chats()
        log.error(
            "the OA's refresh token lapses on %s (%d days left) and renewing it fails: authorise the OA again",
            local_day.isoformat(),
            max(left.days, 0),
        )
        for platform, chat_id, language in admins:
            with use_language(language):
                text = _(
                    "The Zalo Official Account's authorisation lapses on {day} ({days} days left), and "
                    "renewing it keeps failing. After that day the bot can no longer write on Zalo OA. "
                    "Authorise the OA again and set the new ZALO_OA_ACCESS_TOKEN and ZALO_OA_REFRESH_TOKEN "
                    "(docs/zalo.md, “Authorising the Official Account again”)."
                ).format(day=format_day(local_day), days=max(left.days, 0))
            await self.courier.deliver(platform, chat_id, Reply(text))

    async def _admin_chats(self) -> list[tuple[str, str, str]]:
        """One chat per active admin: on their preferred platform when they have it."""
        async with self.app.db.snapshot() as session:
            rows = await session.execute(
                select(
                    Member.id, Member.language, Member.preferred_platform, Identity.platform, Identity.chat_id
                )
                .join(Identity, Identity.member_id == Member.id)
                .where(Member.role == ADMIN, Member.status == ACTIVE, Identity.reachable.is_(True))
                .order_by(Member.id, Identity.id)
            )
            chosen: dict[int, tuple[str, str, str]] = {}
            for member_id, language, preferred, platform, chat_id in rows:
                if member_id not in chosen or platform == preferred:
                    chosen[member_id] = (platform, chat_id, language)
        return list(chosen.values())

    # -- the loop ------------------------------------------------------------------------------

    def start(self, every_seconds: float) -> None:
        self._stopping.clear()
        self._loop = asyncio.create_task(self._run(every_seconds), name="oa-authorisation")

    async def _run(self, every_seconds: float) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:  # a database hiccup must not end the loop; the next tick tries again
                log.exception("keeping the OA authorised failed")
            try:
                await asyncio.wait_for(self._stopping.wait(), every_seconds)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        self._stopping.set()
        if self._loop is not None:
            loop, self._loop = self._loop, None
            await asyncio.gather(loop, return_exceptions=True)
