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
import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, case, exists, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.dialects import upsert_insert
from storage.models.people import Member
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


# What one recipient's planned row has of its own; the rest (SHARED_COLUMNS) is the same for every
# recipient of one send.
OWN_COLUMNS = ("key", "chain", "member_id")
SHARED_COLUMNS = (
    "plan_id",
    "kind",
    "deadline_kind",
    "deadline",
    "offset_days",
    "agency_id",
    "task_id",
    "cycle",
    "counts_since",
    "due_at",
    "available_at",
    "expires_at",
    "status",
    "attempts",
    "created_at",
)
_KIND = SHARED_COLUMNS.index("kind")
_COLUMNS = OWN_COLUMNS + SHARED_COLUMNS
_SQLITE_INSERT = (
    f"INSERT INTO reminder ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
    " ON CONFLICT (key) DO NOTHING"
)

# One send: the shared values (in SHARED_COLUMNS order) and each recipient's (key, chain, member_id).
PlannedGroup = tuple[tuple, Sequence[tuple[str, str, int]]]


def _sqlite_value(value):
    """A value as SQLAlchemy stores it in SQLite: UTC datetimes naive, dates and times as ISO text."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


async def insert_reminders(session: AsyncSession, groups: Sequence[PlannedGroup]) -> Counter:
    """Insert the planned rows whose key is new, ignoring the others; returns how many were added,
    by kind.

    Planning offers the whole horizon, so this is the hot path: on SQLite it goes straight to the
    driver's executemany (the shared values converted once per send, not per row); on PostgreSQL
    through multi-row INSERT … RETURNING.
    """
    if not groups:
        return Counter()
    if _dialect(session) == "sqlite":
        by_kind: dict[str, list[tuple]] = {}
        for shared, recipients in groups:
            converted = tuple(_sqlite_value(v) for v in shared)
            by_kind.setdefault(shared[_KIND], []).extend((*own, *converted) for own in recipients)
        connection = await session.connection()
        added: Counter = Counter()
        for kind, params in by_kind.items():
            result = await connection.exec_driver_sql(_SQLITE_INSERT, params)
            added[kind] += max(result.rowcount, 0)
        return added
    rows = []
    for shared, recipients in groups:
        common = dict(zip(SHARED_COLUMNS, shared, strict=True))
        rows.extend(
            {**common, "key": key, "chain": chain, "member_id": member} for key, chain, member in recipients
        )
    stmt = (
        upsert_insert(postgres=True)(Reminder.__table__)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Reminder.__table__.c.kind)
    )
    result = await session.execute(stmt, rows)
    return Counter(result.scalars())


async def expire_and_supersede(session: AsyncSession, now: dt.datetime) -> tuple[int, int]:
    """Housekeeping before claiming: drop what is no longer useful; of several due reminders of one
    chain (after downtime) keep only the latest. Returns (expired, superseded)."""
    # Both statements look only at rows available now (the claim index), never the whole table. A
    # row waiting for a retry past its expiry is caught when it is claimed.
    expired = await session.execute(
        update(Reminder)
        .where(
            Reminder.expires_at <= now,
            or_(
                and_(Reminder.status == PENDING, Reminder.available_at <= now),
                and_(Reminder.status == CLAIMED, Reminder.lease_until <= now),
            ),
        )
        .values(status=EXPIRED, lease_until=None, last_error="expired before it could be sent")
        .execution_options(synchronize_session=False)
    )
    later = aliased(Reminder)
    superseded = await session.execute(
        update(Reminder)
        .where(
            Reminder.status == PENDING,
            Reminder.available_at <= now,
            Reminder.due_at <= now,
            exists(
                select(later.id).where(
                    # A chain is one person's: their few rows are found through member_id.
                    later.member_id == Reminder.member_id,
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
    session: AsyncSession,
    *,
    worker: str,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int,
    day_ends_at: dt.datetime | None = None,
) -> list:
    """Claim up to `limit` due rows (earliest first), plus the other due rows of the same recipients,
    so that one person's reminders due together go out as one message. With `day_ends_at` (the end of
    the local day), the same recipients' rows planned for later that day come along too: a person
    following several plans gets one reminder message a day, whatever time each kind is sent at."""
    postgres = _dialect(session) == "postgresql"
    values = {
        "status": CLAIMED,
        "claimed_by": worker,
        "lease_until": now + lease,
        "attempts": Reminder.attempts + 1,
    }
    # Due rows and rows whose lease ran out are picked separately: each pick then reads the claim
    # index in order and stops at the limit, where one OR'd pick would sort every due row first.
    # The picks are CTEs, materialized, so that PostgreSQL runs each exactly once: a LIMIT … SKIP
    # LOCKED subquery inside `id IN (…)` may be re-run per row and claim more than the limit.
    due = (
        select(Reminder.id)
        .where(Reminder.status == PENDING, Reminder.available_at <= now)
        .order_by(Reminder.available_at, Reminder.id)
        .limit(limit)
    )
    stale = (
        select(Reminder.id)
        .where(Reminder.status == CLAIMED, Reminder.lease_until <= now)
        .order_by(Reminder.lease_until, Reminder.id)
        .limit(limit)
    )
    if postgres:
        due = due.with_for_update(skip_locked=True)
        stale = stale.with_for_update(skip_locked=True)
    due_pick = due.cte("due_pick").prefix_with("MATERIALIZED", dialect="postgresql")
    stale_pick = stale.cte("stale_pick").prefix_with("MATERIALIZED", dialect="postgresql")
    picked = select(due_pick.c.id).union_all(select(stale_pick.c.id))
    claimed = (
        await session.execute(
            update(Reminder)
            # Claimable is checked again on the row itself, against a claim that slipped in between.
            .where(Reminder.id.in_(picked), _claimable(now))
            .values(**values)
            .returning(Reminder.id, Reminder.member_id)
            .execution_options(synchronize_session=False)
        )
    ).all()
    if not claimed:
        return []
    ids = {row.id for row in claimed}
    members = sorted({row.member_id for row in claimed})
    later_today = (
        and_(Reminder.status == PENDING, Reminder.attempts == 0, Reminder.available_at < day_ends_at)
        if day_ends_at is not None
        else false()
    )
    more = select(Reminder.id).where(Reminder.member_id.in_(members), or_(_claimable(now), later_today))
    if postgres:
        more = more.with_for_update(skip_locked=True)
    also = more.cte("also").prefix_with("MATERIALIZED", dialect="postgresql")
    extra = (
        await session.execute(
            update(Reminder)
            .where(Reminder.id.in_(select(also.c.id)), or_(_claimable(now), later_today))
            .values(**values)
            .returning(Reminder.id)
            .execution_options(synchronize_session=False)
        )
    ).scalars()
    ids.update(extra)
    # Plain rows (attribute access like the model's), not ORM objects: the sender only reads them.
    table = Reminder.__table__
    rows = await session.execute(select(table).where(table.c.id.in_(sorted(ids))).order_by(table.c.id))
    return list(rows.all())


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


async def acknowledge_many(
    session: AsyncSession,
    sends: Sequence[tuple[Sequence[int], str, str | None]],
    *,
    worker: str,
    now: dt.datetime,
) -> set[int]:
    """Mark several delivered messages' rows sent in one statement (sends that finished together
    share a commit); each send is (reminder ids, platform, message id). Returns the ids this worker
    still held: any other was sent after its lease ran out."""
    platform_of: dict[int, str] = {}
    message_of: dict[int, str | None] = {}
    for ids, platform, message_id in sends:
        for rid in ids:
            platform_of[rid] = platform
            message_of[rid] = message_id
    if not platform_of:
        return set()
    table = Reminder.__table__
    if _dialect(session) == "sqlite":
        # One plain UPDATE per row, executemany'd: far cheaper on SQLite than RETURNING, and this
        # runs once per commit at broadcast rates.
        stmt = (
            update(table)
            .where(table.c.id == bindparam("rid"), table.c.status == CLAIMED, table.c.claimed_by == worker)
            .values(
                status=SENT, sent_at=now, platform=bindparam("p"), message_id=bindparam("m"), lease_until=None
            )
        )
        connection = await session.connection()
        params = [{"rid": rid, "p": platform_of[rid], "m": message_of[rid]} for rid in platform_of]
        result = await connection.execute(stmt, params)
        if result.rowcount == len(params):
            return set(platform_of)
        # Some lease was lost (rare): find which rows this worker did mark.
        mine = await session.execute(
            select(table.c.id).where(
                table.c.id.in_(list(platform_of)),
                table.c.status == SENT,
                table.c.claimed_by == worker,
                table.c.sent_at == now,
            )
        )
        return set(mine.scalars())
    result = await session.execute(
        update(table)
        .where(table.c.id.in_(list(platform_of)), table.c.status == CLAIMED, table.c.claimed_by == worker)
        .values(
            status=SENT,
            sent_at=now,
            platform=case(platform_of, value=table.c.id),
            message_id=case(message_of, value=table.c.id),
            lease_until=None,
        )
        .returning(table.c.id)
    )
    return set(result.scalars())


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
    # Named apart from the columns: an UPDATE reserves the column names for its SET values.
    params = {"for_agency": agency_id, "for_cycle": cycle, "at": now}
    if task_id is not None:
        params["for_task"] = task_id
    result = await session.execute(_cancel_for_report_statement(task_id is not None), params)
    return result.rowcount or 0


@functools.cache
def _cancel_for_report_statement(on_one_task: bool):
    """Built once (for an update on one task, or on none): every one-line update runs it."""
    # The same rule as coverage.Requirement: counted for the row's cycle, or made since its start.
    settles = or_(Reminder.cycle == bindparam("for_cycle"), Reminder.counts_since <= bindparam("at"))
    on_task = (
        or_(Reminder.task_id.is_(None), Reminder.task_id == bindparam("for_task"))
        if on_one_task
        else Reminder.task_id.is_(None)
    )
    agency = bindparam("for_agency")
    return (
        update(Reminder)
        .where(
            # Through the agency's members: the outbox is indexed by person, not by agency.
            Reminder.member_id.in_(select(Member.id).where(Member.agency_id == agency)),
            Reminder.agency_id == agency,
            Reminder.status == PENDING,
            Reminder.kind != ESCALATION,
            on_task,
            settles,
        )
        .values(status=CANCELLED, last_error="the agency reported")
        .execution_options(synchronize_session=False)
    )


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
