"""Sending budgets: one token bucket per platform shared through the database, one per chat in memory.

The shared bucket lives in a `rate_budget` row, so every instance on the same database draws on one
budget (Telegram: about 30 messages a second for the whole bot). A reservation is one short
transaction that takes a few tokens ahead — the bucket may go into debt — and returns the instant at
which each may be used; the instance then waits locally until each instant. Taking a small chunk at
a time keeps database writes to a few per second at Telegram's rate while the sends stay evenly
spaced. A platform's "slow down" answer (`retry_after`) pushes the shared bucket into debt for that
long, so every instance backs off, not only the one that was told.

The per-chat limit (Telegram: one message a second to the same chat) is kept in memory: the sender
claims all of one person's due reminders together and sends them as one message, so two instances
rarely write to one chat at the same moment.

Time comes from an injected clock and waiting from an injected `sleep_until`, so tests move a
manual clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update

from scheduler.clock import Clock
from scheduler.delivery import DeliveryError
from storage.db import Database
from storage.dialects import ByDialect
from storage.models.reminders import RateBudget

SleepUntil = Callable[[dt.datetime], Awaitable[None]]

# A send goes only within this of its slot. The bucket spaces slots, but the platform counts sends:
# a send let go later than its slot can land on the next slot (another instance's) and make one
# more than the rate in a second. The shared bucket is paced that much slower (see `pacing_rate`),
# so sends each within ON_TIME of their slot never exceed the rate in any sliding second.
ON_TIME = dt.timedelta(milliseconds=20)
# How many slots one send may let go after waking too late, before it gives up for now (the
# reminder goes back to pending as if the platform had said to wait).
LATE_WAKES = 3


def pacing_rate(per_second: float) -> float:
    """The rate the shared bucket hands out slots at, so that `floor(per_second)` sends, each up to
    ON_TIME after its slot, still span at least one second: at most `per_second` in any second."""
    most = max(1, math.floor(per_second))
    # A millisecond more than ON_TIME: slot instants are rounded to microseconds.
    return min(per_second, most / (1.0 + ON_TIME.total_seconds() + 0.001))


def real_sleep_until(clock: Clock) -> SleepUntil:
    async def sleep_until(when: dt.datetime) -> None:
        delay = (when - clock.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)

    return sleep_until


@dataclass(frozen=True)
class RateSpec:
    per_second: float = 0.0  # 0: no limit
    per_chat_per_second: float = 0.0
    burst: float = 1.0


# Built once, on the table rather than the class: a reservation runs for nearly every message sent
# under load, and building these statements and loading the row as an ORM object cost several times
# what running them did.
_BUDGET = RateBudget.__table__
_READ = (
    select(_BUDGET.c.tokens, _BUDGET.c.updated_at)
    .where(_BUDGET.c.name == bindparam("bucket"))
    .with_for_update()
)
_WRITE = (
    update(_BUDGET)
    .where(_BUDGET.c.name == bindparam("bucket"))
    .values(tokens=bindparam("left"), updated_at=bindparam("at"))
)
_CREATE = ByDialect(
    lambda insert: (
        insert(_BUDGET)
        .values(name=bindparam("bucket"), tokens=bindparam("full"), updated_at=bindparam("at"))
        .on_conflict_do_nothing(index_elements=["name"])
    )
)


class SharedBucket:
    """A token bucket in the `rate_budget` row `name`, refilled at `rate` per second up to `burst`."""

    def __init__(
        self,
        db: Database,
        name: str,
        rate: float,
        burst: float = 1.0,
        *,
        write_lock: asyncio.Lock | None = None,
    ):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.db = db
        self.name = name
        self.rate = rate
        self.burst = max(1.0, burst)
        self._write_lock = write_lock

    @contextlib.asynccontextmanager
    async def _transaction(self):
        lock = self._write_lock if self.db.sqlite and self._write_lock else contextlib.nullcontext()
        # Brief: one row read and written.
        async with lock, self.db.transaction(brief=True) as session:
            yield session

    async def _row(self, connection, now: dt.datetime) -> tuple[float, dt.datetime]:
        """The bucket's tokens and when they were counted, its row locked until the transaction ends
        (FOR UPDATE on PostgreSQL; SQLite's write lock is already held). Made on first use."""
        found = (await connection.execute(_READ, {"bucket": self.name})).one_or_none()
        if found is None:
            made = {"bucket": self.name, "full": self.burst, "at": now}
            await connection.execute(_CREATE[not self.db.sqlite], made)
            found = (await connection.execute(_READ, {"bucket": self.name})).one()
        return found.tokens, found.updated_at

    def _refilled(self, row: tuple[float, dt.datetime], now: dt.datetime) -> float:
        # Another instance's clock may run a little ahead; never refill for negative time.
        tokens, updated_at = row
        elapsed = max(0.0, (now - updated_at).total_seconds())
        return min(self.burst, tokens + elapsed * self.rate)

    async def _store(self, connection, tokens: float, now: dt.datetime) -> None:
        await connection.execute(_WRITE, {"bucket": self.name, "left": tokens, "at": now})

    async def reserve(self, count: int, now: dt.datetime, *, max_wait: float) -> list[dt.datetime]:
        """Take up to `count` tokens; returns when each may be used (fewer if the wait would pass
        `max_wait` seconds — possibly none)."""
        async with self._transaction() as session:
            connection = await session.connection()
            row = await self._row(connection, now)
            tokens = self._refilled(row, now)
            times: list[dt.datetime] = []
            for _ in range(count):
                wait = max(0.0, (1.0 - tokens) / self.rate)
                if wait > max_wait:
                    break
                tokens -= 1.0
                times.append(now + dt.timedelta(seconds=wait))
            await self._store(connection, tokens, now)
        return times

    async def pause(self, seconds: float, now: dt.datetime) -> None:
        """The platform said to wait: no instance sends on this budget for `seconds`."""
        async with self._transaction() as session:
            connection = await session.connection()
            row = await self._row(connection, now)
            tokens = min(self._refilled(row, now), -seconds * self.rate)
            await self._store(connection, tokens, now)


class PlatformLimiter:
    """Paces one instance's sends on one platform: the shared bucket, then the per-chat spacing."""

    def __init__(
        self,
        spec: RateSpec,
        clock: Clock,
        sleep_until: SleepUntil,
        *,
        bucket: SharedBucket | None = None,
        max_wait: float = 60.0,
    ):
        self.spec = spec
        self.clock = clock
        self.sleep_until = sleep_until
        self.bucket = bucket
        self.max_wait = max_wait
        self._slots: list[dt.datetime] = []
        self._lock = asyncio.Lock()
        self._chat_next: dict[str, dt.datetime] = {}
        # This instance's own sends of the last second: however the bucket's slots fall, never more
        # than the rate within any one second (a platform counts a sliding window).
        self._recent: collections.deque[dt.datetime] = collections.deque()
        self._window_cap = max(1, math.floor(spec.per_second)) if spec.per_second else 0
        # At most about half a second of sends per reservation, and no more than the sends waiting
        # for one now: a slot held for a send that is not ready yet (it is still acknowledging the
        # previous one) is usually wasted, and it was taken from the other instances.
        self._chunk = max(1, min(50, math.ceil(spec.per_second / 2))) if spec.per_second else 0
        # But never fewer than the slots that fall within ON_TIME of the first: a send that comes
        # within that time still uses one, so taking them together costs the other instances at
        # most ON_TIME of the budget. At Telegram's 30/s that is one slot, as before; at a paid
        # broadcast's 1,000/s it saves a database transaction on most sends.
        self._ahead = (
            max(1, math.floor(pacing_rate(spec.per_second) * ON_TIME.total_seconds()))
            if spec.per_second
            else 0
        )
        self._waiting = 0

    async def _global_slot(self) -> dt.datetime | None:
        if self.bucket is None:
            return None
        self._waiting += 1
        try:
            async with self._lock:
                now = self.clock.now()
                # A slot more than ON_TIME in the past was not used in time (the instance was busy,
                # or idle). Sending on it now could land on another instance's slot and go over the
                # platform's limit; it is dropped. Under load this wastes a few tokens.
                while self._slots and self._slots[0] < now - ON_TIME:
                    self._slots.pop(0)
                if not self._slots:
                    count = min(self._chunk, max(self._waiting, self._ahead))
                    self._slots = await self.bucket.reserve(count, now, max_wait=self.max_wait)
                if not self._slots:
                    raise DeliveryError(
                        "sending budget exhausted", permanent=False, retry_after=self.max_wait
                    )
                return self._slots.pop(0)
        finally:
            self._waiting -= 1

    def _chat_slot(self, chat_id: str, now: dt.datetime) -> dt.datetime | None:
        if not self.spec.per_chat_per_second:
            return None
        if len(self._chat_next) > 10_000:
            self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        at = max(now, self._chat_next.get(chat_id, now))
        self._chat_next[chat_id] = at + dt.timedelta(seconds=1.0 / self.spec.per_chat_per_second)
        return at

    async def acquire(self, chat_id: str) -> None:
        """Wait until a message to `chat_id` may go; raises DeliveryError(retry_after) when the budget
        is so far in debt that waiting here would hold the reminder's lease too long."""
        at = self._chat_slot(chat_id, self.clock.now())
        if at is not None and at > self.clock.now():
            await self.sleep_until(at)
        # This instance's own window first: a wait there must not come between a slot and its send.
        if self._window_cap:
            await self._within_window()
        if self.bucket is None:
            self._sent_now(chat_id)
            return
        for _ in range(LATE_WAKES):
            slot = await self._global_slot()
            if slot > self.clock.now():
                await self.sleep_until(slot)
            # Nothing may wait between this check and the send: the send goes at the instant checked.
            if self.clock.now() - slot <= ON_TIME:
                self._sent_now(chat_id)
                return
            # Woken later than the slot (a stalled event loop, a slow acknowledgement): sending now
            # could land on top of a later slot, this instance's or another's. Take the next one.
        raise DeliveryError("woken too late for the sending budget", permanent=False, retry_after=1)

    async def _within_window(self) -> None:
        """Wait while this instance has already sent `rate` messages within the last second (a guard
        of its own, whatever the shared bucket's slots)."""
        second = dt.timedelta(seconds=1)
        while True:
            now = self.clock.now()
            while self._recent and self._recent[0] <= now - second:
                self._recent.popleft()
            if len(self._recent) < self._window_cap:
                return
            await self.sleep_until(self._recent[0] + second)

    def _sent_now(self, chat_id: str) -> None:
        now = self.clock.now()
        if self._window_cap:
            self._recent.append(now)
        if self.spec.per_chat_per_second:
            # The chat's next message counts from this one's real departure, which waiting for the
            # overall budget may have put well after the chat's own slot.
            interval = dt.timedelta(seconds=1.0 / self.spec.per_chat_per_second)
            self._chat_next[chat_id] = max(self._chat_next.get(chat_id, now), now + interval)

    def answered(self, chat_id: str) -> None:
        """The platform has answered a message to `chat_id`: the chat's next message counts from now.

        The platform counts a message when it arrives, and a loaded machine can let a request go
        well after its slot; spacing the next one from the answer keeps the gap at the platform at
        least the chat's interval, however late the previous one left."""
        if self.spec.per_chat_per_second:
            now = self.clock.now()
            interval = dt.timedelta(seconds=1.0 / self.spec.per_chat_per_second)
            self._chat_next[chat_id] = max(self._chat_next.get(chat_id, now), now + interval)

    async def pause(self, seconds: float) -> None:
        async with self._lock:
            self._slots = []
        if self.bucket is not None:
            await self.bucket.pause(seconds, self.clock.now())


class RateLimits:
    """The limiters of every platform, built lazily from their specs; a platform without a spec
    (the console) is not limited."""

    def __init__(
        self,
        db: Database,
        specs: dict[str, RateSpec],
        clock: Clock,
        sleep_until: SleepUntil | None = None,
        *,
        write_lock: asyncio.Lock | None = None,
        max_wait: float = 60.0,
    ):
        self.db = db
        self.specs = specs
        self.clock = clock
        self.sleep_until = sleep_until or real_sleep_until(clock)
        self.write_lock = write_lock
        self.max_wait = max_wait
        self._limiters: dict[str, PlatformLimiter] = {}

    def for_platform(self, platform: str) -> PlatformLimiter:
        if platform not in self._limiters:
            spec = self.specs.get(platform, RateSpec())
            bucket = (
                SharedBucket(
                    self.db,
                    f"send:{platform}",
                    pacing_rate(spec.per_second),
                    spec.burst,
                    write_lock=self.write_lock,
                )
                if spec.per_second
                else None
            )
            self._limiters[platform] = PlatformLimiter(
                spec, self.clock, self.sleep_until, bucket=bucket, max_wait=self.max_wait
            )
        return self._limiters[platform]
