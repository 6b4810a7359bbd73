"""The OA access token: read from the database, renewed before it expires or when Zalo rejects it.

The refresh token works once. Whoever spends it must store the pair Zalo answers with, or the OA has to
be authorised again by hand; and two instances must never spend it together. So a refresh is claimed
with a lease (a conditional update only one caller can win), Zalo is called outside any transaction,
and the new pair is written at once with a compare-and-set on `generation`. Callers that lose the claim
wait for the winner's pair.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from bot.transports.zalo.client import ZaloNetworkError
from bot.transports.zalo.oa_client import ZaloOAClient, ZaloOAError
from scheduler.clock import Clock
from storage import zalo as repository
from storage.db import Database
from storage.secret_box import SecretBox, SecretKeyError

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=60)
# Zalo: a refresh token is valid for three months from when it is issued, and is spent by its use.
REFRESH_TOKEN_LIFETIME = dt.timedelta(days=90)
# The pair is renewed at least this often whatever the traffic, so a quiet OA never runs into the
# refresh token's three months.
KEEP_ALIVE_EVERY = dt.timedelta(days=1)
# Renew this long before the access token expires, so that no message meets an expired token.
EARLY = dt.timedelta(minutes=10)
# How often, and how many times, a caller that lost the claim looks for the winner's new token.
WAIT_STEP = 0.2
WAIT_STEPS = 75


class TokenUnavailable(Exception):
    """No usable access token: the OA must be authorised again (see the README)."""


class OATokenStore:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        client: ZaloOAClient,
        *,
        app_id: str,
        box: SecretBox,
        seed_access_token: str | None = None,
        seed_refresh_token: str | None = None,
    ):
        self._db = db
        self._box = box
        self._clock = clock
        self._client = client
        self._app_id = app_id
        self._seed = (seed_access_token, seed_refresh_token)
        self._lock = asyncio.Lock()

    async def seed(self) -> None:
        """Take the pair from the environment into the database (once per distinct pair), and seal
        a pair stored in the clear before the tokens were encrypted."""
        async with self._db.transaction() as session:
            if await repository.reseal_tokens(session, self._box, only_plain=True):
                log.warning("OA tokens stored in the clear were encrypted with NHACVIEC_SECRET_KEY")
            stored = await repository.get_token(session, self._app_id)
            try:
                if stored is not None:
                    self._box.open(stored.access_token)
            except SecretKeyError as exc:
                raise TokenUnavailable(str(exc)) from exc
        access, refresh = self._seed
        if not (access and refresh):
            async with self._db.snapshot() as session:
                if await repository.get_token(session, self._app_id) is None:
                    raise TokenUnavailable(
                        "no OA token stored yet: set ZALO_OA_ACCESS_TOKEN and ZALO_OA_REFRESH_TOKEN"
                    )
            return
        now = self._clock.now()
        async with self._db.transaction() as session:
            # Zalo does not say when a pair was issued: counted from when it was given to us.
            await repository.seed_token(
                session, self._app_id, access, refresh, now, now + REFRESH_TOKEN_LIFETIME, self._box
            )

    async def current(self) -> str:
        async with self._db.snapshot() as session:
            row = await repository.get_token(session, self._app_id)
            if row is None:
                raise TokenUnavailable(
                    "no OA token stored: run with ZALO_OA_ACCESS_TOKEN and ZALO_OA_REFRESH_TOKEN"
                )
            access, expires_at = self._box.open(row.access_token), row.expires_at
        if expires_at is not None and expires_at - EARLY <= self._clock.now():
            return await self.refresh(access)
        return access

    async def keep_alive(self) -> bool:
        """Renew the pair when it was last renewed a day ago or more, or its access token is about to
        expire; True when it was renewed. Raises TokenUnavailable when Zalo refuses."""
        now = self._clock.now()
        async with self._db.snapshot() as session:
            row = await repository.get_token(session, self._app_id)
            if row is None:
                raise TokenUnavailable(
                    "no OA token stored: run with ZALO_OA_ACCESS_TOKEN and ZALO_OA_REFRESH_TOKEN"
                )
            access, renewed_at, expires_at = self._box.open(row.access_token), row.updated_at, row.expires_at
        due = now - renewed_at >= KEEP_ALIVE_EVERY or (expires_at is not None and expires_at - EARLY <= now)
        if not due:
            return False
        await self.refresh(access)
        return True

    async def refresh_expiry(self) -> dt.datetime | None:
        async with self._db.snapshot() as session:
            row = await repository.get_token(session, self._app_id)
            return row.refresh_expires_at if row is not None else None

    async def refresh(self, stale_access_token: str) -> str:
        """A fresh access token in place of `stale_access_token` (refreshing it only if nobody has)."""
        async with self._lock:
            for _ in range(WAIT_STEPS):
                now = self._clock.now()
                async with self._db.transaction() as session:
                    row = await repository.claim_refresh(
                        session, self._app_id, stale_access_token, now, LEASE, self._box
                    )
                    if row is not None:
                        generation, refresh_token = row.generation, self._box.open(row.refresh_token)
                        break
                    row = await repository.get_token(session, self._app_id)
                    if row is None:
                        raise TokenUnavailable("no OA token stored")
                    current = self._box.open(row.access_token)
                    if current != stale_access_token:
                        return current  # someone else refreshed it already
                await asyncio.sleep(WAIT_STEP)  # another instance holds the lease: wait for its result
            else:
                raise TokenUnavailable("another instance has been refreshing the OA token for too long")
            return await self._spend(generation, refresh_token)

    async def _spend(self, generation: int, refresh_token: str) -> str:
        try:
            pair = await self._client.refresh_access_token(refresh_token)
        except (ZaloOAError, ZaloNetworkError) as exc:
            spent = isinstance(exc, ZaloNetworkError) and exc.maybe_delivered
            async with self._db.transaction() as session:
                await repository.release_refresh(session, self._app_id, generation)
            if spent:
                # Zalo may have spent the refresh token without our hearing the new one.
                log.error("OA token refresh got no answer; if it keeps failing, authorise the OA again")
            else:
                log.error("OA token refresh refused (%s): authorise the OA again and set new tokens", exc)
            raise TokenUnavailable(f"OA token refresh failed: {exc}") from exc
        now = self._clock.now()
        async with self._db.transaction() as session:
            stored = await repository.store_refreshed(
                session,
                self._app_id,
                generation,
                pair.access_token,
                pair.refresh_token,
                now + dt.timedelta(seconds=pair.expires_in),
                now,
                now + REFRESH_TOKEN_LIFETIME,
                self._box,
            )
        if not stored:  # the environment's pair was replaced while we refreshed: that one wins
            log.warning("OA tokens were replaced during a refresh; using the replacement")
            async with self._db.snapshot() as session:
                return self._box.open((await repository.get_token(session, self._app_id)).access_token)
        log.info("OA access token refreshed (generation %d)", generation + 1)
        return pair.access_token
