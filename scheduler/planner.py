"""The planner: deadlines × policy × who has not reported → reminder rows in the outbox.

`expand` is the pure part (shared with `nhacviec reminders preview`): which sends the policy calls
for, to which agency, within a window of time. `Planner.tick(now)` turns the sends due within the
rolling horizon into one outbox row per recipient, inserted with insert-or-ignore on the row's key, so
planning the same horizon twice — or from two instances at once — adds nothing.

Catch-up: when a tick finds several sends of one chain (one recipient, one deadline) already due —
the planner was down — it plans only the latest; one already past its usefulness (a reminder before
a deadline that has gone by) is not planned at all, the overdue reminder takes over from it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from scheduler.calendar import (
    Deadline,
    PlanFacts,
    WorkingCalendar,
    expected_agencies,
    extra_deadlines,
    local_instant,
    plan_deadlines,
)
from scheduler.coverage import Reports, Requirement, deadline_requirement, load_plan_facts, load_reports
from scheduler.outbox import PlannedGroup, insert_reminders
from scheduler.policy import FOCAL_POINTS, Policy, Slot, slots_for
from storage.collation import vi_sort_key
from storage.db import Database
from storage.models.people import ACTIVE, ADMIN, COORDINATOR, FOCAL, Member
from storage.models.plan import Agency
from storage.models.reminders import PENDING
from storage.plans.lifecycle import DEFAULT_GRACE_DAYS, active_through

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedSend:
    """One send the policy calls for: to an agency's focal points, or (agency None) a digest."""

    plan: PlanFacts
    deadline: Deadline
    slot: Slot
    agency_id: int | None
    requirement: Requirement | None
    # For a digest: the expected agencies that had not reported when it was planned.
    missing: tuple[int, ...] = ()


@dataclass(frozen=True)
class Window:
    """Which slots to consider: due in [start, end) — and, when `now` is given, not yet expired, with
    only the latest of those already due kept (catch-up)."""

    start: dt.datetime | None
    end: dt.datetime
    now: dt.datetime | None = None

    def select(self, slots: Sequence[Slot]) -> list[Slot]:
        chosen = [
            s
            for s in slots
            if s.due_at < self.end
            and (self.start is None or s.due_at >= self.start)
            and (self.now is None or s.expires_at > self.now)
        ]
        if self.now is None:
            return chosen
        latest_due: dict[str, Slot] = {}
        for slot in chosen:
            if slot.due_at <= self.now:
                latest_due[slot.audience] = slot  # slots are in time order: the last one wins
        return [s for s in chosen if s.due_at > self.now or latest_due.get(s.audience) is s]


def expand(
    plans: Iterable[PlanFacts],
    reports: Reports,
    policy: Policy,
    calendar: WorkingCalendar,
    window: Window,
    *,
    extra_reporting: Iterable[str] = (),
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> Iterator[PlannedSend]:
    """Every send in the window, by agency, for the agencies that have not reported. A plan sends
    nothing after it ended (its last deadline plus `grace_days`) or once a coordinator closed it."""
    extra_reporting = tuple(extra_reporting)
    tz = policy.timezone
    for plan in plans:
        last_day = active_through(plan, grace_days, extra_deadlines(plan.years, extra_reporting))
        if last_day is not None and last_day < dt.date.max:
            if last_day == dt.date.min:
                continue
            window = Window(
                window.start,
                min(window.end, local_instant(last_day + dt.timedelta(days=1), dt.time(0, 0), tz)),
                window.now,
            )
        slot_cache: dict[tuple[dt.date, str], list[Slot]] = {}
        digests: dict[tuple[dt.date, str, Slot], dict[int, None]] = {}
        for deadline in plan_deadlines(
            plan, extra_reporting=extra_reporting, merge_window=policy.merge_window
        ):
            cache_key = (deadline.day, deadline.kind)
            if cache_key not in slot_cache:
                slot_cache[cache_key] = window.select(
                    slots_for(deadline.day, deadline.kind, policy, calendar)
                )
            slots = slot_cache[cache_key]
            if not slots:
                continue
            requirement = deadline_requirement(deadline, policy.timezone)
            missing = [a for a in expected_agencies(plan, deadline) if not reports.satisfied(a, requirement)]
            for slot in slots:
                if slot.audience == FOCAL_POINTS:
                    for agency_id in missing:
                        yield PlannedSend(plan, deadline, slot, agency_id, requirement)
                else:
                    # One digest per date and kind, whatever number of tasks fall due that day.
                    bucket = digests.setdefault((deadline.day, deadline.kind, slot), {})
                    bucket.update(dict.fromkeys(missing))
        for (day, kind, slot), missing in digests.items():
            yield PlannedSend(plan, Deadline(plan.id, day, kind), slot, None, None, tuple(missing))


def reminder_key(send: PlannedSend, member_id: int) -> str:
    """Deadline, kind, offset and recipient: the idempotency key of one outbox row (as
    `Planner._rows` writes it)."""
    task = send.deadline.task_id if send.agency_id is not None else None
    return (
        f"{send.plan.id}:{send.deadline.day.isoformat()}:{send.deadline.kind}:{task or 0}"
        f":{send.slot.kind}:{send.slot.offset_days}:{member_id}"
    )


@dataclass
class PlanReport:
    planned: Counter = field(default_factory=Counter)  # new rows by kind
    considered: int = 0  # rows offered to the outbox, new or not

    @property
    def total(self) -> int:
        return sum(self.planned.values())


@dataclass(frozen=True)
class Recipients:
    focal_by_agency: dict[int, list[int]]
    coordinators: list[int]
    # Agencies with an active focal point the bot cannot reach: a digest must mention them.
    agencies_with_unreachable: frozenset[int]


async def load_recipients(session) -> Recipients:
    focal: dict[int, list[int]] = {}
    unreachable: set[int] = set()
    rows = await session.execute(
        select(Member.id, Member.agency_id, Member.reachable)
        .where(Member.role == FOCAL, Member.status == ACTIVE, Member.agency_id.is_not(None))
        .order_by(Member.id)
    )
    for member_id, agency_id, reachable in rows.all():
        if reachable:
            focal.setdefault(agency_id, []).append(member_id)
        else:
            unreachable.add(agency_id)
    coordinators = list(
        (
            await session.execute(
                select(Member.id)
                .where(
                    Member.role.in_((COORDINATOR, ADMIN)), Member.status == ACTIVE, Member.reachable.is_(True)
                )
                .order_by(Member.id)
            )
        ).scalars()
    )
    return Recipients(focal, coordinators, frozenset(unreachable))


class Planner:
    def __init__(
        self,
        db: Database,
        policy: Policy,
        calendar: WorkingCalendar,
        *,
        horizon: dt.timedelta = dt.timedelta(days=21),
        extra_reporting: Iterable[str] = (),
        chunk_size: int = 2000,
        grace_days: int = DEFAULT_GRACE_DAYS,
    ):
        self.grace_days = grace_days
        self.db = db
        self.policy = policy
        self.calendar = calendar
        self.horizon = horizon
        self.extra_reporting = tuple(extra_reporting)
        self.chunk_size = chunk_size
        # What this process planned at its last tick: each send (slot and agency) with the recipients
        # it had then. A send whose recipients have not changed is not offered to the outbox again,
        # so a tick over an unchanged horizon writes nothing. The database stays the judge (insert-
        # or-ignore); this only saves work, and a restarted process simply offers everything once.
        self._planned: dict[str, int] = {}

    def _owing_since(self, now: dt.datetime) -> dt.date:
        """The plans that may still owe a send are those active on this day or later. One that has
        ended may have a reminder due on its last day that has not expired yet (caught up after
        downtime): read as of the day before the earliest such reminder could be due. Plans that
        ended before (a department keeps years of them) are not read: a tick over a hundred of them
        cost over a second."""
        try:
            return (now - self.policy.late_grace).astimezone(self.policy.timezone).date() - dt.timedelta(
                days=1
            )
        except OverflowError:
            return dt.date.min

    async def tick(self, now: dt.datetime) -> PlanReport:
        async with self.db.snapshot() as session:
            plans = await load_plan_facts(
                session,
                tz=self.policy.timezone,
                co_lead_rule=self.policy.co_lead_done,
                active_on=self._owing_since(now),
                grace_days=self.grace_days,
            )
            if not plans:
                return PlanReport()
            reports = await load_reports(session, plan_ids=[p.id for p in plans])
            recipients = await load_recipients(session)
        window = Window(start=None, end=now + self.horizon, now=now)
        sends = expand(
            plans,
            reports,
            self.policy,
            self.calendar,
            window,
            extra_reporting=self.extra_reporting,
            grace_days=self.grace_days,
        )
        report = PlanReport()
        planned: dict[str, int] = {}
        chunk: list[PlannedGroup] = []
        size = 0
        # One chunk is written (by the database's thread) while the next is built here: the two
        # overlap, which on a multi-core machine nearly halves a large tick.
        writing: asyncio.Task | None = None
        try:
            for group in self._groups(sends, recipients, now, planned):
                chunk.append(group)
                size += len(group[1])
                if size >= self.chunk_size:
                    if writing is not None:
                        await writing
                    writing = asyncio.create_task(self._insert(chunk, size, report))
                    chunk, size = [], 0
                    # Let the write reach the database before building on.
                    for _ in range(4):
                        await asyncio.sleep(0)
            if writing is not None:
                await writing
            if chunk:
                await self._insert(chunk, size, report)
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
        self._planned = planned
        if report.total:
            log.info("planned %d reminders (%s)", report.total, dict(report.planned))
        return report

    def _groups(
        self, sends: Iterable[PlannedSend], recipients: Recipients, now: dt.datetime, planned: dict[str, int]
    ) -> Iterator[PlannedGroup]:
        """Outbox rows, a send at a time: its shared values and one (key, chain, member) per recipient,
        for the sends not already planned with the same recipients; `planned` collects what this tick
        covers."""
        for send in sends:
            if send.agency_id is None:
                if not send.missing and not (
                    set(send.plan.lead_agency_ids) & recipients.agencies_with_unreachable
                ):
                    continue
                members = recipients.coordinators
            else:
                members = recipients.focal_by_agency.get(send.agency_id, ())
            if not members:
                continue
            requirement = send.requirement
            slot = send.slot
            task_id = send.deadline.task_id if send.agency_id is not None else None
            # The key and chain differ only in their last part, the recipient.
            stem = f"{send.plan.id}:{send.deadline.day.isoformat()}:{send.deadline.kind}:{task_id or 0}"
            key_stem = f"{stem}:{slot.kind}:{slot.offset_days}:"
            chain_stem = f"{stem}:{slot.audience}:"
            send_id = f"{key_stem}{send.agency_id}"
            signature = hash(tuple(members))
            planned[send_id] = signature
            if self._planned.get(send_id) == signature:
                continue
            shared = (
                send.plan.id,
                slot.kind,
                send.deadline.kind,
                send.deadline.day,
                slot.offset_days,
                send.agency_id,
                task_id,
                requirement.cycle if requirement else None,
                requirement.since if requirement else None,
                slot.due_at,
                slot.due_at,
                slot.expires_at,
                PENDING,
                0,
                now,
            )
            yield shared, [(f"{key_stem}{m}", f"{chain_stem}{m}", m) for m in members]

    async def _insert(self, groups: list[PlannedGroup], size: int, report: PlanReport) -> None:
        # A short transaction per chunk: on SQLite the write lock is held briefly, so the chat keeps
        # answering while a large horizon is planned.
        async with self.db.transaction() as session:
            inserted = await insert_reminders(session, groups)
        report.considered += size
        for kind, count in inserted.items():
            report.planned[kind] += count


@dataclass(frozen=True)
class PreviewRow:
    """One send `nhacviec reminders preview` lists: by agency, before anyone has registered."""

    send_at: dt.datetime  # local, aware
    deadline: dt.date
    kind: str
    offset_days: int
    agency: str | None  # None: the digest to coordinators
    task: str | None  # plan numbering, "IV.3"
    plan: str

    def as_json(self) -> dict:
        return {
            "send_at": self.send_at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "kind": self.kind,
            "offset_days": self.offset_days,
            "agency": self.agency,
            "task": self.task,
        }


_KIND_ORDER = {"report": 0, "quarter": 1, "task": 2, "overdue": 3, "escalation": 4}


async def preview(
    session,
    policy: Policy,
    calendar: WorkingCalendar,
    *,
    first_day: dt.date,
    last_day: dt.date,
    plan_ids: Iterable[int] | None = None,
    extra_reporting: Iterable[str] = (),
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> list[PreviewRow]:
    """What would be sent from `first_day` to `last_day` (local days, inclusive), by agency, given
    the progress updates stored so far."""
    plans = await load_plan_facts(
        session, plan_ids=plan_ids, tz=policy.timezone, co_lead_rule=policy.co_lead_done
    )
    if not plans:
        return []
    reports = await load_reports(session, plan_ids=[p.id for p in plans])
    names = dict((await session.execute(select(Agency.id, Agency.name))).all())
    tz = policy.timezone
    window = Window(
        start=local_instant(first_day, dt.time(0, 0), tz),
        end=local_instant(last_day + dt.timedelta(days=1), dt.time(0, 0), tz),
    )
    rows = [
        PreviewRow(
            send_at=send.slot.due_at.astimezone(tz),
            deadline=send.deadline.day,
            kind=send.slot.kind,
            offset_days=send.slot.offset_days,
            agency=names.get(send.agency_id) if send.agency_id is not None else None,
            task=send.deadline.task_code if send.agency_id is not None else None,
            plan=send.plan.number,
        )
        for send in expand(
            plans, reports, policy, calendar, window, extra_reporting=extra_reporting, grace_days=grace_days
        )
        if send.agency_id is not None or send.missing
    ]
    return sorted(
        rows,
        key=lambda r: (
            r.send_at,
            r.deadline,
            _KIND_ORDER.get(r.kind, 9),
            vi_sort_key(r.agency or ""),
            _task_order(r.task),
        ),
    )


_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def _roman(numeral: str) -> int:
    values = [_ROMAN.get(c, 0) for c in numeral.upper()]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def _task_order(code: str | None) -> tuple[int, int]:
    """'IX.2' after 'V.10': sections by their Roman numeral, tasks by number."""
    if not code:
        return (0, 0)
    numeral, _, number = code.partition(".")
    return (_roman(numeral), int(number) if number.isdigit() else 0)
