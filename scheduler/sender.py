"""The sender tick: claim due reminders, re-check them, hand them to `deliver`, acknowledge each.

One tick: expire what is stale and supersede what a later reminder covers; then, batch by batch,
claim due rows with a lease (see `outbox.claim`), build one notice per recipient (merging what is
due for them together, dropping what no longer applies), deliver the notices a few at a time
(`max_in_flight`), and acknowledge each delivered notice right after it went out, in a short
transaction of its own — or shared with the others that finished while the previous one committed
(group commit: on a fast platform one commit per message would be the bottleneck). A send's place
is freed only once its acknowledgement is committed, so no more than `max_in_flight` sends are ever
unacknowledged.

Outcomes of a delivery:
- delivered: the rows are marked sent, with the platform and message id;
- rate limited (`DeliveryError.retry_after`): the rows go back to pending, available after the wait
  the platform asked for; the attempt does not count;
- permanent (`DeliveryError.permanent`, e.g. the bot was blocked or the chat is gone): the
  dispatcher has already tried the member's other platforms; the dead identities are marked
  unreachable, and when none is left the member is marked unreachable and the rows end as
  `unreachable` — the coordinators' next digest names the member;
- closed for now on every channel by a reply window (`DeliveryError.reply_window`, Zalo OA): the rows
  end as `unreachable` with `CHANNELS_CLOSED` in `last_error`; the member stays reachable (their next
  message reopens the window) and the coordinators' next digest names them as not reached on time;
- temporary: the rows go back to pending after a backoff (`retry_backoff`, the last wait repeats)
  until `max_attempts`, then end as `failed`;
- outcome unknown (`DeliveryError.outcome_unknown`: a timeout after the request left, so the message
  may or may not have arrived). Policy: **retry, as for a temporary error** — at least once over at
  most once. A reminder that never arrives costs a missed government deadline; a duplicate costs a
  second glance, and every reminder carries a reference such as "[87/KH-UBND · 20/6 · T-3]" naming its
  plan, deadline and offset, so the recipient recognises a repeat at once. The same holds for a crash
  between sending and acknowledging: the lease runs out, another tick claims the rows again and sends
  once more. Duplicates are bounded by the sends not yet acknowledged when the failure happened:
  at most `max_in_flight` per crashed instance, each sent once more. The default, 1, keeps that to
  the one send in flight; a deployment that must fan out faster over a slow link raises it and
  accepts up to that many repeats per crash.

A send is not started when the claim's lease is about to run out (another instance could claim the
rows meanwhile); those rows are released for the next tick instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler import outbox
from scheduler.calendar import PlanFacts, local_day, local_instant
from scheduler.clock import Clock
from scheduler.coverage import load_plan_facts
from scheduler.delivery import CHANNELS_CLOSED, DeliveryError
from scheduler.notices import Notice, build_notices, load_context
from storage.db import Database
from storage.models.people import Identity, Member
from storage.models.reminders import CANCELLED, EXPIRED, FAILED, UNREACHABLE, Reminder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivered:
    platform: str
    message_id: str | None
    # Identities that failed permanently before another of the member's identities worked.
    dead_identities: tuple[int, ...] = ()
    identity_id: int | None = None  # the identity it went to


class RecipientUnreachable(DeliveryError):
    """Identities of the member failed permanently. `member_unreachable`: none is left to try, so the
    member is marked unreachable; otherwise their remaining identities are on platforms this instance
    does not run, and the reminder is retried later."""

    def __init__(self, message: str, dead_identities: Sequence[int] = (), *, member_unreachable: bool = True):
        super().__init__(message, permanent=True)
        self.dead_identities = tuple(dead_identities)
        self.member_unreachable = member_unreachable


Deliver = Callable[[Notice], Awaitable[Delivered]]
# A deliver callable may also have `prepare(session, notices, now)`, run in the sender's write
# transaction before a batch is sent (the bot keys the reminders' buttons there, one write per batch),
# and `acknowledged(session, notice, delivered, now)`, run in the transaction that marks it sent.


class SendObserver(Protocol):
    """Told of each delivery outcome (metrics and logs live with the caller, not here)."""

    def delivered(self, notice: Notice, delivered: Delivered, seconds: float) -> None: ...

    def not_delivered(self, notice: Notice, reason: str, error: BaseException | None) -> None: ...


@dataclass(frozen=True)
class SenderSettings:
    lease: dt.timedelta = dt.timedelta(minutes=5)
    # Do not start a send with less than this left on the lease.
    lease_margin: dt.timedelta = dt.timedelta(seconds=30)
    batch_size: int = 200
    max_in_flight: int = 1
    retry_backoff: tuple[dt.timedelta, ...] = (
        dt.timedelta(minutes=1),
        dt.timedelta(minutes=5),
        dt.timedelta(minutes=15),
        dt.timedelta(hours=1),
    )
    max_attempts: int = 6
    # A tick stops after this many batches so that one tick never runs for ever; the next continues.
    max_batches_per_tick: int = 50
    # When a co-led task is done (storage.progress_rules), as the planner's policy says.
    co_lead_done: str = "all"
    # Days after its last deadline a plan stays active (`[plan] grace_days`): a reminder of a plan
    # that has ended, or that a coordinator closed, since it was planned is not sent.
    plan_grace_days: int = 30

    def backoff(self, attempts: int) -> dt.timedelta:
        return self.retry_backoff[min(max(attempts, 1), len(self.retry_backoff)) - 1]


@dataclass
class SendReport:
    messages: int = 0  # notices delivered
    reminders_sent: int = 0  # rows marked sent
    expired: int = 0
    superseded: int = 0
    cancelled: int = 0
    unreachable: int = 0
    failed: int = 0
    retried: int = 0  # temporary errors and unknown outcomes, back to pending after a backoff
    rate_limited: int = 0  # back to pending after the platform's wait, attempt not counted
    released: int = 0  # lease too short to start the send, back to pending
    lease_lost: int = 0  # acknowledged rows this sender no longer held
    errors: list[str] = field(default_factory=list)


class Sender:
    def __init__(
        self,
        db: Database,
        deliver: Deliver,
        clock: Clock,
        tz: dt.tzinfo,
        *,
        settings: SenderSettings = SenderSettings(),
        worker: str | None = None,
        observer: SendObserver | None = None,
        write_lock: asyncio.Lock | None = None,
    ):
        self.db = db
        self.deliver = deliver
        self.clock = clock
        self.tz = tz
        self.settings = settings
        self.worker = worker or f"sender-{uuid.uuid4().hex[:12]}"
        self.observer = observer
        # SQLite has one writer: queueing our own writes here is cheaper than SQLite's busy waits.
        self._write_lock = write_lock if write_lock is not None else asyncio.Lock()
        self._stopping = False
        self._acks = _GroupCommit(self._commit_acks)
        self._writer: AsyncSession | None = None

    async def _commit_acks(self, sends: list[tuple[Notice, Delivered]]) -> list[int]:
        """One short transaction for the sends that finished while the previous one committed."""
        now = self.clock.now()
        acknowledged = getattr(self.deliver, "acknowledged", None)
        async with self._write() as session:
            held = await outbox.acknowledge_many(
                session,
                [
                    (notice.reminder_ids, delivered.platform, delivered.message_id)
                    for notice, delivered in sends
                ],
                worker=self.worker,
                now=now,
            )
            dead = [identity for _, delivered in sends for identity in delivered.dead_identities]
            if dead:
                await _mark_identities_unreachable(session, dead)
            if acknowledged is not None:
                for notice, delivered in sends:
                    if held.intersection(notice.reminder_ids):
                        await acknowledged(session, notice, delivered, now)
        return [len(held.intersection(notice.reminder_ids)) for notice, _ in sends]

    def stop_sending(self) -> None:
        """Start no new send; claimed reminders not yet sent go back to pending for the next tick."""
        self._stopping = True

    @contextlib.asynccontextmanager
    async def _write(self):
        if not self.db.sqlite:
            async with self.db.transaction() as session:
                yield session
            return
        async with self._write_lock:
            session = self._writer
            if session is None:
                async with self.db.transaction() as session:
                    yield session
                return
            # On SQLite the lock makes this tick's writes one at a time, so one session serves them
            # all, a short transaction each (a session per commit costs more than the commit).
            try:
                async with session.begin():
                    yield session
            finally:
                session.expunge_all()

    async def tick(self) -> SendReport:
        if not self.db.sqlite:
            return await self._tick()
        async with AsyncSession(self.db.engine, expire_on_commit=False) as session:
            self._writer = session
            try:
                return await self._tick()
            finally:
                self._writer = None

    async def _tick(self) -> SendReport:
        report = SendReport()
        async with self._write() as session:
            report.expired, report.superseded = await outbox.expire_and_supersede(session, self.clock.now())
        plans: dict[int, PlanFacts] = {}
        for _ in range(self.settings.max_batches_per_tick):
            if self._stopping:
                break
            now = self.clock.now()
            async with self._write() as session:
                claimed = await outbox.claim(
                    session,
                    worker=self.worker,
                    now=now,
                    lease=self.settings.lease,
                    limit=self.settings.batch_size,
                    day_ends_at=local_instant(
                        local_day(now, self.tz) + dt.timedelta(days=1), dt.time(0, 0), self.tz
                    ),
                )
            if not claimed:
                break
            lease_until = now + self.settings.lease
            await self._send_batch(claimed, lease_until, plans, report)
        return report

    async def _send_batch(
        self, claimed, lease_until: dt.datetime, plans: dict[int, PlanFacts], report: SendReport
    ) -> None:
        now = self.clock.now()
        async with self.db.snapshot() as session:
            missing = sorted({r.plan_id for r in claimed} - plans.keys())
            if missing:
                facts = await load_plan_facts(
                    session, plan_ids=missing, co_lead_rule=self.settings.co_lead_done
                )
                plans.update({p.id: p for p in facts})
            context = await load_context(session, claimed, plans)
            # Inside the block: leaving a snapshot expires what it loaded.
            notices, verdicts = build_notices(
                claimed, context, now=now, tz=self.tz, grace_days=self.settings.plan_grace_days
            )
        prepare = getattr(self.deliver, "prepare", None)
        if verdicts.closed or (prepare is not None and notices):
            async with self._write() as session:
                for status, reasons in verdicts.closed.items():
                    for reason, ids in reasons.items():
                        await outbox.settle(session, ids, worker=self.worker, status=status, error=reason)
                if prepare is not None and notices:
                    await prepare(session, notices, now)
            report.cancelled += verdicts.count(CANCELLED)
            report.expired += verdicts.count(EXPIRED)
            report.unreachable += verdicts.count(UNREACHABLE)
        semaphore = asyncio.Semaphore(self.settings.max_in_flight)

        async def one(notice: Notice) -> None:
            async with semaphore:
                await self._send_one(notice, lease_until, report)

        async with asyncio.TaskGroup() as group:
            for notice in notices:
                group.create_task(one(notice))

    async def _send_one(self, notice: Notice, lease_until: dt.datetime, report: SendReport) -> None:
        ids = notice.reminder_ids
        if self._stopping or self.clock.now() >= lease_until - self.settings.lease_margin:
            async with self._write() as session:
                await outbox.retry_later(
                    session, ids, worker=self.worker, at=self.clock.now(), error=None, count_attempt=False
                )
            report.released += len(ids)
            return
        started = time.perf_counter()
        try:
            delivered = await self.deliver(notice)
        except RecipientUnreachable as exc:
            await self._recipient_gone(notice, exc, report)
            self._tell_not_delivered(notice, "permanent", exc)
            return
        except DeliveryError as exc:
            await self._not_delivered(notice, exc, report)
            return
        except Exception as exc:  # a bug in rendering or a transport: retry, do not lose the reminder
            log.exception("delivering reminders %s failed unexpectedly", ids)
            await self._not_delivered(
                notice, DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False), report
            )
            return
        seconds = time.perf_counter() - started
        # Acknowledged before this send's place is freed for the next, so that at most
        # `max_in_flight` sends are ever unacknowledged (the duplicate bound after a crash).
        held = await self._acks.submit((notice, delivered))
        report.messages += 1
        report.reminders_sent += held
        if held < len(ids):
            report.lease_lost += len(ids) - held
            log.warning("reminders %s were sent after this sender's lease ran out", ids)
        if self.observer:
            self.observer.delivered(notice, delivered, seconds)

    async def _not_delivered(self, notice: Notice, exc: DeliveryError, report: SendReport) -> None:
        ids = notice.reminder_ids
        now = self.clock.now()
        async with self._write() as session:
            if exc.retry_after is not None:
                await outbox.retry_later(
                    session,
                    ids,
                    worker=self.worker,
                    at=now + dt.timedelta(seconds=exc.retry_after),
                    error=f"rate limited: {exc}",
                    count_attempt=False,
                )
                report.rate_limited += len(ids)
                reason = "rate_limited"
            elif exc.permanent and exc.reply_window:
                # Every channel the member has is closed for now: the member is not to blame and stays
                # reachable; the coordinators' digest names them (see `CHANNELS_CLOSED`).
                await outbox.settle(
                    session, ids, worker=self.worker, status=UNREACHABLE, error=f"{CHANNELS_CLOSED}: {exc}"
                )
                report.unreachable += len(ids)
                reason = "permanent"
            elif exc.permanent:
                # A permanent error that is not about the recipient (a malformed message, say): no
                # retry can help, and the member is not to blame.
                await outbox.settle(session, ids, worker=self.worker, status=FAILED, error=str(exc))
                report.failed += len(ids)
                reason = "permanent"
            else:
                attempts = await _attempts(session, ids)
                label = "outcome unknown" if exc.outcome_unknown else "temporary"
                if attempts >= self.settings.max_attempts:
                    await outbox.settle(
                        session, ids, worker=self.worker, status=FAILED, error=f"{label}, gave up: {exc}"
                    )
                    report.failed += len(ids)
                else:
                    await outbox.retry_later(
                        session,
                        ids,
                        worker=self.worker,
                        at=now + self.settings.backoff(attempts),
                        error=f"{label}: {exc}",
                    )
                    report.retried += len(ids)
                reason = "unknown" if exc.outcome_unknown else "temporary"
        self._tell_not_delivered(notice, reason, exc)

    async def _recipient_gone(self, notice: Notice, exc: RecipientUnreachable, report: SendReport) -> None:
        now = self.clock.now()
        async with self._write() as session:
            if exc.dead_identities:
                await _mark_identities_unreachable(session, exc.dead_identities)
            if not exc.member_unreachable:
                attempts = await _attempts(session, notice.reminder_ids)
                status_done = attempts >= self.settings.max_attempts
                if status_done:
                    report.failed += await outbox.settle(
                        session, notice.reminder_ids, worker=self.worker, status=FAILED, error=str(exc)
                    )
                else:
                    report.retried += await outbox.retry_later(
                        session,
                        notice.reminder_ids,
                        worker=self.worker,
                        at=now + self.settings.backoff(attempts),
                        error=str(exc),
                    )
                return
            await session.execute(
                update(Member)
                .where(Member.id == notice.member_id)
                .values(reachable=False, unreachable_reason=str(exc), unreachable_since=now)
                .execution_options(synchronize_session=False)
            )
            report.unreachable += await outbox.settle(
                session, notice.reminder_ids, worker=self.worker, status=UNREACHABLE, error=str(exc)
            )

    def _tell_not_delivered(self, notice: Notice, reason: str, exc: BaseException | None) -> None:
        if self.observer:
            self.observer.not_delivered(notice, reason, exc)


class _GroupCommit:
    """Acknowledgements that arrive while one is being committed wait and share the next commit:
    each is still written as soon as the database is free, in a short transaction, but a fast
    platform does not pay one commit per message."""

    def __init__(self, commit: Callable[[list], Awaitable[list]]):
        self._commit = commit
        self._waiting: list[tuple[object, asyncio.Future]] = []
        self._lock = asyncio.Lock()

    async def submit(self, item):
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        async with self._lock:
            if not future.done():
                batch, self._waiting = self._waiting, []
                try:
                    results = await self._commit([entry for entry, _ in batch])
                except BaseException as exc:
                    for _, waiting in batch:
                        if not waiting.done():
                            if isinstance(exc, asyncio.CancelledError):
                                waiting.cancel()
                            else:
                                waiting.set_exception(exc)
                    raise
                for (_, waiting), result in zip(batch, results, strict=True):
                    waiting.set_result(result)
        return await future


async def _attempts(session, ids: Sequence[int]) -> int:
    return await session.scalar(select(func.max(Reminder.attempts)).where(Reminder.id.in_(list(ids)))) or 0


async def _mark_identities_unreachable(session, identity_ids: Sequence[int]) -> None:
    await session.execute(
        update(Identity)
        .where(Identity.id.in_(list(identity_ids)))
        .values(reachable=False)
        .execution_options(synchronize_session=False)
    )
