"""What a reminder message says, as data: built by the sender just before sending, rendered into
text by `bot.reminders` in the recipient's language.

Building a notice is also the send-time re-check: a reminder whose agency has reported since it was
planned, whose recipient left, or whose task is done is not in any notice; `Verdicts` says what
becomes of it instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scheduler.calendar import PlanFacts, local_day
from scheduler.coverage import Reports, Requirement, load_plan_facts, load_reports, missing_agencies
from scheduler.delivery import CHANNELS_CLOSED
from storage.collation import vi_sort_key
from storage.models.people import ACTIVE, ADMIN, COORDINATOR, FOCAL, Identity, Member
from storage.models.plan import Agency
from storage.models.reminders import CANCELLED, ESCALATION, EXPIRED, TASK, UNREACHABLE, Reminder
from storage.plans import lifecycle

# How many tasks a reminder lists before saying "and N more": a reminder is read on a phone.
MAX_TASK_LINES = 12


@dataclass(frozen=True)
class TaskLine:
    task_id: int
    code: str  # "IV.3"
    content: str


@dataclass(frozen=True)
class AgencyLine:
    name: str
    # Active focal points the bot can reach; 0 means nobody there would get a reminder.
    reachable_focal_points: int


@dataclass(frozen=True)
class MemberLine:
    name: str
    agency: str | None
    reason: str | None


@dataclass(frozen=True)
class Address:
    identity_id: int
    platform: str
    chat_id: str
    external_id: str


@dataclass(frozen=True)
class NoticeItem:
    """One deadline in a notice (several due the same day for one person are merged into one message)."""

    plan_number: str
    kind: str  # report | quarter | task | overdue | escalation
    deadline_kind: str  # report | quarter | task
    deadline: dt.date
    offset_days: int
    reminder_ids: tuple[int, ...]
    tasks: tuple[TaskLine, ...] = ()  # for a focal point: the agency's tasks still lacking an update
    more_tasks: int = 0  # tasks beyond those listed
    missing: tuple[AgencyLine, ...] = ()  # for a digest: who has not reported
    unreachable: tuple[MemberLine, ...] = ()  # for a digest: focal points the bot cannot reach
    # For a digest: focal points whose reminder for this deadline found every channel closed for now.
    not_reached: tuple[MemberLine, ...] = ()
    # The outbox keys of `reminder_ids`, for the delivery log lines (bot.ops.logging.log_notice).
    reminder_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Notice:
    member_id: int
    member_name: str
    language: str
    agency_id: int | None
    agency_name: str | None
    today: dt.date  # the local day it goes out, for "in 3 days"
    preferred_platform: str | None
    addresses: tuple[Address, ...]
    items: tuple[NoticeItem, ...]

    @property
    def reminder_ids(self) -> list[int]:
        return [rid for item in self.items for rid in item.reminder_ids]


@dataclass
class Verdicts:
    """Claimed reminders that will not be sent, by the status they end in, with the reason."""

    closed: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def add(self, status: str, reason: str, reminder_id: int) -> None:
        self.closed.setdefault(status, {}).setdefault(reason, []).append(reminder_id)

    def count(self, status: str) -> int:
        return sum(len(ids) for ids in self.closed.get(status, {}).values())


@dataclass(frozen=True)
class Person:
    """A member as the sender needs them (read with plain queries: the sender runs at broadcast rates)."""

    id: int
    name: str
    role: str
    agency_id: int | None
    status: str
    language: str
    preferred_platform: str | None
    reachable: bool
    unreachable_reason: str | None
    addresses: tuple[Address, ...] = ()  # reachable identities


@dataclass
class Context:
    """Everything building a batch's notices needs, read in a handful of queries."""

    plans: dict[int, PlanFacts]
    reports: Reports
    members: dict[int, Person]
    agencies: dict[int, str]  # id -> name
    focal_by_agency: dict[int, list[Person]]
    # (plan id, deadline) -> members whose reminder ended with every channel closed for now.
    # (plan, deadline) -> member id -> why (the reminder's last_error)
    not_reached: dict[tuple[int, dt.date], dict[int, str | None]] = field(default_factory=dict)


_PERSON_COLUMNS = (
    Member.id,
    Member.name,
    Member.role,
    Member.agency_id,
    Member.status,
    Member.language,
    Member.preferred_platform,
    Member.reachable,
    Member.unreachable_reason,
)


async def _people(session: AsyncSession, condition, *, with_addresses: bool) -> list[Person]:
    rows = (await session.execute(select(*_PERSON_COLUMNS).where(condition).order_by(Member.id))).all()
    addresses: dict[int, list[Address]] = {}
    if with_addresses and rows:
        found = await session.execute(
            select(Identity.member_id, Identity.id, Identity.platform, Identity.chat_id, Identity.external_id)
            .where(Identity.member_id.in_([row.id for row in rows]), Identity.reachable.is_(True))
            .order_by(Identity.id)
        )
        for member_id, identity_id, platform, chat_id, external_id in found.all():
            addresses.setdefault(member_id, []).append(Address(identity_id, platform, chat_id, external_id))
    return [Person(*row, addresses=tuple(addresses.get(row.id, ()))) for row in rows]


async def load_context(
    session: AsyncSession, reminders: Sequence[Reminder], plans: dict[int, PlanFacts] | None = None
) -> Context:
    plan_ids = sorted({r.plan_id for r in reminders})
    plans = dict(plans or {})
    missing_plans = [pid for pid in plan_ids if pid not in plans]
    if missing_plans:
        plans.update({p.id: p for p in await load_plan_facts(session, plan_ids=missing_plans)})
    digest = any(r.kind == ESCALATION for r in reminders)
    agency_ids = {r.agency_id for r in reminders if r.agency_id is not None}
    if digest:
        for plan_id in plan_ids:
            if plan_id in plans:
                agency_ids.update(plans[plan_id].lead_agency_ids)
    reports = await load_reports(session, plan_ids=plan_ids, agency_ids=None if digest else agency_ids)
    people = await _people(
        session, Member.id.in_(sorted({r.member_id for r in reminders})), with_addresses=True
    )
    members = {person.id: person for person in people}
    agency_ids.update(person.agency_id for person in people if person.agency_id is not None)
    agencies = dict(
        (await session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(sorted(agency_ids))))).all()
    )
    focal_by_agency: dict[int, list[Person]] = {}
    if digest:
        focal = await _people(
            session,
            (Member.role == FOCAL) & (Member.status == ACTIVE) & Member.agency_id.in_(sorted(agency_ids)),
            with_addresses=False,
        )
        for person in focal:
            focal_by_agency.setdefault(person.agency_id, []).append(person)
    not_reached: dict[tuple[int, dt.date], dict[int, str | None]] = {}
    if digest:
        found = await session.execute(
            select(Reminder.plan_id, Reminder.deadline, Reminder.member_id, Reminder.last_error).where(
                Reminder.plan_id.in_(plan_ids),
                Reminder.status == UNREACHABLE,
                Reminder.kind != ESCALATION,
                Reminder.last_error.startswith(CHANNELS_CLOSED, autoescape=True),
            )
        )
        for plan_id, deadline, member_id, error in found.all():
            not_reached.setdefault((plan_id, deadline), {})[member_id] = error
    return Context(plans, reports, members, agencies, focal_by_agency, not_reached)


def _requirement(reminder: Reminder) -> Requirement:
    return Requirement(cycle=reminder.cycle, task_id=reminder.task_id, since=reminder.counts_since)


def build_notices(
    reminders: Sequence[Reminder],
    context: Context,
    *,
    now: dt.datetime,
    tz: dt.tzinfo,
    grace_days: int = lifecycle.DEFAULT_GRACE_DAYS,
) -> tuple[list[Notice], Verdicts]:
    """One notice per recipient for the claimed reminders that still apply; verdicts for the rest.
    Several plans' reminders due to one person are one message, naming each plan and deadline."""
    verdicts = Verdicts()
    today = local_day(now, tz)
    groups: dict[int, dict[tuple, list[Reminder]]] = {}
    for reminder in reminders:
        member = context.members.get(reminder.member_id)
        plan = context.plans.get(reminder.plan_id)
        reason = _not_sendable(reminder, member, plan, context, now)
        if reason is None and lifecycle.plan_status(plan, today, grace_days=grace_days) != lifecycle.ACTIVE:
            reason = CANCELLED, "the plan has ended or was closed"
        if reason is not None:
            verdicts.add(reason[0], reason[1], reminder.id)
            continue
        key = (
            reminder.plan_id,
            reminder.kind,
            reminder.deadline_kind,
            reminder.deadline,
            reminder.offset_days,
        )
        groups.setdefault(reminder.member_id, {}).setdefault(key, []).append(reminder)

    notices: list[Notice] = []
    for member_id, by_item in groups.items():
        member = context.members[member_id]
        items: list[NoticeItem] = []
        for (plan_id, kind, deadline_kind, deadline, offset), rows in sorted(
            by_item.items(), key=_item_order
        ):
            plan = context.plans[plan_id]
            ids = tuple(r.id for r in rows)
            if kind == ESCALATION:
                item = _digest_item(plan, kind, deadline_kind, deadline, offset, ids, context, tz)
                if item is None:
                    for rid in ids:
                        verdicts.add(CANCELLED, "everyone has reported", rid)
                    continue
            else:
                tasks = _tasks_owed(plan, rows, context.reports)
                item = NoticeItem(
                    plan.number,
                    kind,
                    deadline_kind,
                    deadline,
                    offset,
                    ids,
                    tasks=tuple(tasks[:MAX_TASK_LINES]),
                    more_tasks=max(0, len(tasks) - MAX_TASK_LINES),
                )
            items.append(replace(item, reminder_keys=tuple(r.key for r in rows)))
        if not items:
            continue
        notices.append(
            Notice(
                member_id=member.id,
                member_name=member.name,
                language=member.language,
                agency_id=member.agency_id,
                agency_name=context.agencies.get(member.agency_id) if member.agency_id else None,
                today=today,
                preferred_platform=member.preferred_platform,
                addresses=member.addresses,
                items=tuple(items),
            )
        )
    return notices, verdicts


def _item_order(entry) -> tuple:
    (plan_id, kind, deadline_kind, deadline, offset), _rows = entry
    return (deadline, plan_id, kind == ESCALATION, deadline_kind, -offset)


def _not_sendable(
    reminder: Reminder, member: Person | None, plan: PlanFacts | None, context: Context, now: dt.datetime
) -> tuple[str, str] | None:
    if plan is None:
        return CANCELLED, "the plan is gone"
    if reminder.expires_at <= now:
        return EXPIRED, "expired before it could be sent"
    if member is None or member.status != ACTIVE:
        return CANCELLED, "the recipient is no longer active"
    if reminder.kind == ESCALATION:
        if member.role not in (COORDINATOR, ADMIN):
            return CANCELLED, "the recipient is no longer a coordinator"
    else:
        if member.role != FOCAL or member.agency_id != reminder.agency_id:
            return CANCELLED, "the recipient is no longer a focal point of the agency"
        if context.reports.satisfied(reminder.agency_id, _requirement(reminder)):
            return CANCELLED, "the agency reported"
        if reminder.deadline_kind == TASK:
            task = plan.tasks_by_id.get(reminder.task_id)
            if task is None or task.done:
                return CANCELLED, "the task is done"
    if not member.reachable:
        return UNREACHABLE, member.unreachable_reason or "the recipient cannot be reached"
    return None


def _tasks_owed(plan: PlanFacts, rows: Sequence[Reminder], reports: Reports) -> list[TaskLine]:
    """The tasks a focal point's reminder lists: for a task deadline the task itself, else the
    agency's tasks under way by the deadline that lack an update settling it."""
    first = rows[0]
    if first.deadline_kind == TASK:
        tasks = [plan.tasks_by_id[r.task_id] for r in rows if r.task_id in plan.tasks_by_id]
    else:
        tasks = [t for t in plan.tasks_led_by.get(first.agency_id, ()) if t.under_way_by(first.deadline)]
        tasks = reports.tasks_lacking_update(first.agency_id, tasks, _requirement(first))
    seen: dict[str, TaskLine] = {}
    for task in tasks:
        seen.setdefault(task.code, TaskLine(task.id, task.code, task.content))
    return list(seen.values())


def _by_agency_and_name(lines) -> tuple[MemberLine, ...]:
    return tuple(sorted(lines, key=lambda line: (vi_sort_key(line.agency or ""), vi_sort_key(line.name))))


def _digest_item(
    plan: PlanFacts,
    kind: str,
    deadline_kind: str,
    deadline: dt.date,
    offset: int,
    ids: tuple[int, ...],
    context: Context,
    tz: dt.tzinfo,
) -> NoticeItem | None:
    missing_ids = missing_agencies(plan, deadline, deadline_kind, context.reports, tz)
    # Coordinators look a name up in these lists: alphabetical, as /chuabaocao lists them.
    missing = tuple(
        sorted(
            (
                AgencyLine(
                    context.agencies.get(agency_id) or f"#{agency_id}",
                    sum(1 for m in context.focal_by_agency.get(agency_id, ()) if m.reachable),
                )
                for agency_id in missing_ids
            ),
            key=lambda line: vi_sort_key(line.name),
        )
    )
    unreachable = _by_agency_and_name(
        MemberLine(m.name, context.agencies.get(agency_id), m.unreachable_reason)
        for agency_id in plan.lead_agency_ids
        for m in context.focal_by_agency.get(agency_id, ())
        if not m.reachable
    )
    late = context.not_reached.get((plan.id, deadline), {})
    not_reached = _by_agency_and_name(
        MemberLine(m.name, context.agencies.get(agency_id), late[m.id])
        for agency_id in plan.lead_agency_ids
        for m in context.focal_by_agency.get(agency_id, ())
        if m.reachable and m.id in late
    )
    if not missing and not unreachable and not not_reached:
        return None
    return NoticeItem(
        plan.number,
        kind,
        deadline_kind,
        deadline,
        offset,
        ids,
        missing=missing,
        unreachable=unreachable,
        not_reached=not_reached,
    )
