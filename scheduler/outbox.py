"""The outbox: the reminder rows' life from planned to sent, as short statements on a caller's session.

- Planned rows go in with insert-or-ignore on their unique key (`INSERT … ON CONFLICT DO NOTHING`).
- A sender claims due rows with a lease. On SQLite the writer's transaction already holds the write
  lock (`BEGIN IMMEDIATE`), so one `UPDATE … RETURNING` is atomic; on PostgreSQL the rows are picked
  with `FOR UPDATE SKIP LOCKED`, so two instances claiming at once take disjoint rows. A row whose
  lease ran out (its sender died between sending and acknowledging) is claimable again.
- Every change a sender makes to a claimed row is conditional on still holding it (status claimed,
  `claimed_by` this sender): if the lease was lost, the change touches nothing and says so.

Functions here never commit; the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models.reminders import (
    CANCELLED,
    CLAIMED,
    ESCALATION,
    EXPIRED,
    FAILED,
    PENDING,
    SENT,
    SUPERSEDED,
    UNREACHABLE,
    Reminder,
)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def insert_reminders(session: AsyncSession, rows: Sequence[dict]) -> Counter:
    """Insert the rows whose key is new; returns how many were added, by kind."""
    if not rows:
        return Counter()
    insert = pg_insert if _dialect(session) == "postgresql" else sqlite_insert
    stmt = insert(Reminder).on_conflict_do_nothing(index_elements=["key"]).returning(Reminder.kind)
    result = await session.execute(stmt, list(rows))
    return Counter(result.scalars())


async def expire_and_supersede(session: AsyncSession, now: dt.datetime) -> tuple[int, int]:
    """Housekeeping before claiming: drop what is no longer useful; of several due reminders of one
    chain (after downtime) keep only the latest. Returns (expired, superseded)."""
    expired = await session.execute(
        update(Reminder)
        .where(
            Reminder.expires_at <= now,
            or_(Reminder.status == PENDING, and_(Reminder.status == CLAIMED, Reminder.lease_until <= now)),
        )
        .values(status=EXPIRED, lease_until=None, last_error="expired before it could be sent")
        .execution_options(synchronize_session=False)
    )
    later = aliased(Reminder)
    superseded = await session.execute(
        update(Reminder)
        .where(
            Reminder.status == PENDING,
            Reminder.due_at <= now,
            exists(
                select(later.id).where(
                    later.chain == Reminder.chain,
                    later.due_at > Reminder.due_at,
                    later.due_at <= now,
                    later.status.in_((PENDING, CLAIMED, SENT)),
                )
            ),
        )
        .values(status=SUPERSEDED, last_error="a later reminder for the same deadline covers it")
        .execution_options(synchronize_session=False)
    )
    return expired.rowcount or 0, superseded.rowcount or 0


def _claimable(now: dt.datetime):
    return or_(
        and_(Reminder.status == PENDING, Reminder.available_at <= now),
        and_(Reminder.status == CLAIMED, Reminder.lease_until <= now),
    )


async def claim(
    session: AsyncSession, *, worker: str, now: dt.datetime, lease: dt.timedelta, limit: int
) -> list[Reminder]:
    """Claim up to `limit` due rows (earliest first), plus the other due rows of the same recipients,
    so that one person's reminders due together go out as one message."""
    postgres = _dialect(session) == "postgresql"
    values = {
        "status": CLAIMED,
        "claimed_by": worker,
        "lease_until": now + lease,
        "attempts": Reminder.attempts + 1,
    }
    # The picks are CTEs, materialized, so that PostgreSQL runs each exactly once: a LIMIT … SKIP
    # LOCKED subquery inside `id IN (…)` may be re-run per row and claim more than the limit.
    pick = (
        select(Reminder.id).where(_claimable(now)).order_by(Reminder.available_at, Reminder.id).limit(limit)
    )
    if postgres:
        pick = pick.with_for_update(skip_locked=True)
    picked = pick.cte("picked").prefix_with("MATERIALIZED", dialect="postgresql")
    claimed = (
        await session.execute(
            update(Reminder)
            # Claimable is checked again on the row itself, against a claim that slipped in between.
            .where(Reminder.id.in_(select(picked.c.id)), _claimable(now))
            .values(**values)
            .returning(Reminder.id, Reminder.member_id)
            .execution_options(synchronize_session=False)
        )
    ).all()
    if not claimed:
        return []
    ids = {row.id for row in claimed}
    members = sorted({row.member_id for row in claimed})
    more = select(Reminder.id).where(Reminder.member_id.in_(members), _claimable(now))
    if postgres:
        more = more.with_for_update(skip_locked=True)
    also = more.cte("also").prefix_with("MATERIALIZED", dialect="postgresql")
    extra = (
        await session.execute(
            update(Reminder)
            .where(Reminder.id.in_(select(also.c.id)), _claimable(now))
            .values(**values)
            .returning(Reminder.id)
            .execution_options(synchronize_session=False)
        )
    ).scalars()
    ids.update(extra)
    rows = await session.execute(select(Reminder).where(Reminder.id.in_(sorted(ids))).order_by(Reminder.id))
    return list(rows.unique().scalars())


def _held(ids: Iterable[int], worker: str):
    return and_(Reminder.id.in_(list(ids)), Reminder.status == CLAIMED, Reminder.claimed_by == worker)


async def acknowledge(
    session: AsyncSession,
    ids: Sequence[int],
    *,
    worker: str,
    now: dt.datetime,
    platform: str,
    message_id: str | None,
) -> int:
    """Mark delivered rows sent; returns how many this worker still held (fewer: its lease was lost)."""
    result = await session.execute(
        update(Reminder)
        .where(_held(ids, worker))
        .values(status=SENT, sent_at=now, platform=platform, message_id=message_id, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def settle(
    session: AsyncSession, ids: Sequence[int], *, worker: str, status: str, error: str | None
) -> int:
    """Close held rows without sending: failed, unreachable, cancelled, expired or superseded."""
    if status not in (FAILED, UNREACHABLE, CANCELLED, EXPIRED, SUPERSEDED):
        raise ValueError(f"not a final status: {status}")
    result = await session.execute(
        update(Reminder)
        .where(_held(ids, worker))
        .values(status=status, lease_until=None, last_error=error)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def retry_later(
    session: AsyncSession,
    ids: Sequence[int],
    *,
    worker: str,
    at: dt.datetime,
    error: str | None,
    count_attempt: bool = True,
) -> int:
    """Put held rows back for a later try. A try that never reached the platform (rate limit, lease
    running out) does not count against the row's attempts."""
    values: dict = {"status": PENDING, "available_at": at, "lease_until": None, "claimed_by": None}
    if error is not None:
        values["last_error"] = error
    if not count_attempt:
        values["attempts"] = case((Reminder.attempts > 0, Reminder.attempts - 1), else_=0)
    result = await session.execute(
        update(Reminder)
        .where(_held(ids, worker))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def cancel_for_report(
    session: AsyncSession, agency_id: int, cycle: dt.date, now: dt.datetime, *, task_id: int | None = None
) -> int:
    """An agency reported (an update counted for `cycle`, on `task_id` when given): cancel its pending
    reminders that this update settles. Returns how many were cancelled.

    The chat core calls this in the transaction that stores the update. A reminder already claimed by
    a sender is not touched here: the sender checks again just before sending.
    """
    # The same rule as coverage.Requirement: counted for the row's cycle, or made since its start.
    settles = or_(Reminder.cycle == cycle, Reminder.counts_since <= now)
    on_task = (
        Reminder.task_id.is_(None)
        if task_id is None
        else or_(Reminder.task_id.is_(None), Reminder.task_id == task_id)
    )
    result = await session.execute(
        update(Reminder)
        .where(
            Reminder.agency_id == agency_id,
            Reminder.status == PENDING,
            Reminder.kind != ESCALATION,
            on_task,
            settles,
        )
        .values(status=CANCELLED, last_error="the agency reported")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


@dataclass
class DeadlineStatus:
    plan_id: int
    deadline: dt.date
    deadline_kind: str
    counts: Counter = field(default_factory=Counter)

    @property
    def pending(self) -> int:
        return self.counts[PENDING] + self.counts[CLAIMED]


async def status_by_deadline(session: AsyncSession, *, plan_id: int | None = None) -> list[DeadlineStatus]:
    stmt = select(
        Reminder.plan_id, Reminder.deadline, Reminder.deadline_kind, Reminder.status, func.count()
    ).group_by(Reminder.plan_id, Reminder.deadline, Reminder.deadline_kind, Reminder.status)
    if plan_id is not None:
        stmt = stmt.where(Reminder.plan_id == plan_id)
    found: dict[tuple, DeadlineStatus] = {}
    for plan, deadline, kind, status, count in (await session.execute(stmt)).all():
        line = found.setdefault((plan, deadline, kind), DeadlineStatus(plan, deadline, kind))
        line.counts[status] += count
    order = {"report": 0, "quarter": 1, "task": 2}
    return sorted(found.values(), key=lambda s: (s.plan_id, s.deadline, order.get(s.deadline_kind, 9)))
