"""Changes to the agency registry, kept as history: add, rename, merge, alias, dissolve, group.

A rename or a merge never rewrites the past. The old row stays, with its status, the day it changed
and its successor; what was reported under it and the plan texts that name it keep that name. Current
work moves: the focal points, pending invites and linked group chats, the links of the open tasks of
active plans and the pending reminders go to the successor, so reminders, task lists and current
summaries follow it. Every change is validated first and writes nothing when refused; running the
same change twice changes nothing the second time.

Functions take the caller's session and never commit; `today` is the local date from the caller's
clock. Messages are English templates for the bot to translate (storage.plans.notices).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import people
from storage.agencies import NAME_MAX, ensure_agency, resolve_agency, successor_of
from storage.agency_names import known_agency, match_keys
from storage.models import (
    Agency,
    AgencyAlias,
    AgencyEvent,
    AgencyGroupMember,
    GroupLink,
    Invite,
    Member,
    Plan,
    ProgressUpdate,
    Reminder,
    Section,
    Task,
    TaskAgency,
    utcnow,
)
from storage.models.people import ACTIVE as MEMBER_ACTIVE
from storage.models.people import DONE, FOCAL, PENDING, RETIRED
from storage.models.plan import ACTIVE, DISSOLVED, MERGED, RENAMED
from storage.models.reminders import PENDING as REMINDER_PENDING
from storage.plans.lifecycle import ACTIVE as PLAN_ACTIVE
from storage.plans.lifecycle import DEFAULT_GRACE_DAYS, plan_status
from storage.plans.notices import N_, Notice
from storage.text import fold, normalize_space

# A change may be recorded ahead of time (a decision takes effect next month), but not absurdly so.
FUTURE_LIMIT = dt.timedelta(days=366)


class RegistryError(Exception):
    """A change refused before anything was written."""

    def __init__(self, template: str, **params: object):
        self.notice = Notice(template, params)
        super().__init__(str(self.notice))


@dataclass
class MovedMember:
    member_id: int
    name: str
    language: str
    from_agency: str
    # Set when the successor already had its focal point: this one was retired by the move, and
    # `kept` names the one who goes on.
    kept: str | None = None


@dataclass
class Change:
    """What a registry command did; `changed` is False when it was already so."""

    agency: Agency
    changed: bool
    created: list[str] = field(default_factory=list)  # agencies registered by this change
    moved_members: list[MovedMember] = field(default_factory=list)
    moved_tasks: int = 0
    moved_reminders: int = 0
    sources: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # sources already merged into the target


# ---------------------------------------------------------------- reading


async def find(session: AsyncSession, name: str) -> Agency:
    """The registered agency `name` spells, or RegistryError."""
    agency = await resolve_agency(session, name) if fold(name) else None
    if agency is None:
        raise RegistryError(N_('There is no agency "{name}" in the registry'), name=normalize_space(name))
    return agency


async def current(session: AsyncSession, agency: Agency) -> Agency:
    """The agency that carries on `agency`'s work today: itself, or the end of its successor chain."""
    return await successor_of(session, agency)


async def group_members(session: AsyncSession, group_id: int) -> list[Agency]:
    stmt = (
        select(Agency)
        .join(AgencyGroupMember, AgencyGroupMember.member_id == Agency.id)
        .where(AgencyGroupMember.group_id == group_id)
        .order_by(AgencyGroupMember.position, AgencyGroupMember.id)
    )
    return list((await session.scalars(stmt)).unique())


async def members_of_groups(
    session: AsyncSession, agency_ids: list[int] | None = None
) -> dict[int, list[int]]:
    """Group id → its members' ids in order, for the groups among `agency_ids` (all when None).

    The one place that says who answers for a task led by a group: each member, for itself. A group
    without members is not in the result and answers for its tasks as one agency."""
    stmt = select(AgencyGroupMember.group_id, AgencyGroupMember.member_id).order_by(
        AgencyGroupMember.group_id, AgencyGroupMember.position, AgencyGroupMember.id
    )
    if agency_ids is not None:
        if not agency_ids:
            return {}
        stmt = stmt.where(AgencyGroupMember.group_id.in_(sorted(set(agency_ids))))
    found: dict[int, list[int]] = {}
    for group_id, member_id in (await session.execute(stmt)).all():
        found.setdefault(group_id, []).append(member_id)
    return found


def expand(agency_ids: list[int], groups: dict[int, list[int]]) -> list[int]:
    """Agency ids with each group that has members replaced by its members, in order, once each."""
    out: list[int] = []
    for agency_id in agency_ids:
        for unit in groups.get(agency_id) or [agency_id]:
            if unit not in out:
                out.append(unit)
    return out


async def history(session: AsyncSession, agency: Agency) -> list[AgencyEvent]:
    stmt = (
        select(AgencyEvent)
        .where((AgencyEvent.agency_id == agency.id) | (AgencyEvent.successor_id == agency.id))
        .order_by(AgencyEvent.id)
    )
    return list(await session.scalars(stmt))


async def predecessors(session: AsyncSession, agency: Agency) -> list[Agency]:
    stmt = select(Agency).where(Agency.successor_id == agency.id).order_by(Agency.name, Agency.id)
    return list(await session.scalars(stmt))


async def names_by_id(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        (await session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(sorted(ids))))).all()
    )


# ---------------------------------------------------------------- validation


def check_date(on: dt.date, today: dt.date) -> None:
    if on > today + FUTURE_LIMIT:
        raise RegistryError(
            N_("{date} is more than a year ahead; give the date the change takes effect"),
            date=on.strftime("%d/%m/%Y"),
        )


def _check_name(name: str) -> str:
    name = normalize_space(name)
    if not fold(name):
        raise RegistryError(N_("An agency needs a name with letters or digits in it"))
    if len(name) > NAME_MAX:
        raise RegistryError(N_("An agency's name can be at most {limit} characters long"), limit=NAME_MAX)
    return name


def _require_active(agency: Agency) -> None:
    if agency.status != ACTIVE:
        raise RegistryError(
            N_("{name} is no longer active ({status} since {date})"),
            name=agency.name,
            status=agency.status,
            date=agency.status_since.strftime("%d/%m/%Y") if agency.status_since else "?",
        )


# ---------------------------------------------------------------- changes


async def _assignments_changed(session: AsyncSession) -> None:
    """Who answers for which task has changed: give every plan row a new version stamp.

    The chat keeps a plan's assignments from one message to the next, keyed by `Plan.imported_at`
    (bot.core.plan_tasks); stamping it makes every process read them afresh at its next message."""
    await session.execute(update(Plan).values(imported_at=utcnow()))


async def _event(session: AsyncSession, agency: Agency, action: str, on: dt.date | None, **detail) -> None:
    successor_id = detail.pop("successor_id", None)
    session.add(
        AgencyEvent(
            agency_id=agency.id, action=action, effective_on=on, successor_id=successor_id, detail=detail
        )
    )


async def _new_agency(session: AsyncSession, name: str, change: Change) -> Agency:
    agency, created = await ensure_agency(session, name)
    if agency is None:
        raise RegistryError(N_('"{name}" cannot be an agency\'s name'), name=name)
    if created:
        change.created.append(agency.name)
        await _event(session, agency, "added", None)
    return agency


async def _add_alias_rows(session: AsyncSession, agency: Agency, aliases: list[str]) -> list[str]:
    """Add spellings to `agency`; a spelling that already names another agency is refused."""
    added = []
    for alias in aliases:
        alias = _check_name(alias)
        owner = await resolve_agency(session, alias)
        if owner is not None and owner.id != agency.id:
            raise RegistryError(
                N_('"{alias}" already names {other}; an alias can lead to only one agency'),
                alias=alias,
                other=owner.name,
            )
        if owner is not None:
            continue
        for key in match_keys(alias)[:1]:
            agency.aliases.append(AgencyAlias(alias=alias, key=key))
            added.append(alias)
    await session.flush()
    return added


async def add(
    session: AsyncSession, name: str, *, short: str | None = None, aliases: list[str] = ()
) -> Change:
    name = _check_name(name)
    existing = await resolve_agency(session, name)
    if (
        existing is not None
        and fold(existing.name) != fold(name)
        and fold(existing.short_name or "") != fold(name)
    ):
        raise RegistryError(N_('"{name}" already names {other}'), name=name, other=existing.name)
    change = Change(agency=existing, changed=False)  # type: ignore[arg-type]
    agency = existing or await _new_agency(session, name, change)
    change.agency = agency
    change.changed = existing is None
    if short:
        short = _check_name(short)
        if agency.short_name != short:
            owner = await resolve_agency(session, short)
            if owner is not None and owner.id != agency.id:
                raise RegistryError(
                    N_('"{alias}" already names {other}; an alias can lead to only one agency'),
                    alias=short,
                    other=owner.name,
                )
            agency.short_name = short
            change.changed = True
            await _add_alias_rows(session, agency, [short])
    if await _add_alias_rows(session, agency, list(aliases)):
        change.changed = True
    return change


async def alias(session: AsyncSession, name: str, aliases: list[str]) -> Change:
    agency = await find(session, name)
    if not aliases:
        raise RegistryError(N_("Give at least one alias"))
    added = await _add_alias_rows(session, agency, list(aliases))
    if added:
        await _event(session, agency, "alias", None, aliases=added)
    return Change(agency=agency, changed=bool(added))


async def _active_plan_ids(session: AsyncSession, today: dt.date, grace_days: int) -> list[int]:
    """Plans still being followed (storage.plans.lifecycle): their open work moves with a merge.

    An ended or closed plan is history; its links stay with the names it was carried out by."""
    plans = await session.scalars(select(Plan))
    return [plan.id for plan in plans if plan_status(plan, today, grace_days=grace_days) == PLAN_ACTIVE]


async def _done_task_ids(session: AsyncSession, plan_ids: list[int]) -> set[int]:
    latest = (
        select(ProgressUpdate.task_id, func.max(ProgressUpdate.id).label("last"))
        .join(Task, Task.id == ProgressUpdate.task_id)
        .where(Task.plan_id.in_(plan_ids))
        .group_by(ProgressUpdate.task_id)
        .subquery()
    )
    rows = await session.execute(
        select(ProgressUpdate.task_id)
        .join(latest, latest.c.last == ProgressUpdate.id)
        .where(ProgressUpdate.status == DONE)
    )
    return set(rows.scalars())


async def _move_work(
    session: AsyncSession, source: Agency, target: Agency, today: dt.date, change: Change, grace_days: int
) -> None:
    """Hand `source`'s current work to `target` (see the module's docstring for what moves)."""
    members = (
        await session.scalars(
            select(Member)
            .where(Member.agency_id == source.id, Member.role == FOCAL, Member.status != RETIRED)
            .order_by(Member.id)
        )
    ).unique()
    # The schema holds one active focal point per agency (uq_member_active_focal): the successor's
    # own focal point keeps the post, else the first one moved in; any other is retired as in a
    # hand-over (their reports stay), before the move, so the database never sees two.
    holder = await session.scalar(
        select(Member.id).where(
            Member.agency_id == target.id, Member.role == FOCAL, Member.status == MEMBER_ACTIVE
        )
    )
    for member in members:
        kept = None
        if member.status == MEMBER_ACTIVE:
            if holder is None:
                holder = member.id
            else:
                await people.retire(session, member)
                kept = await session.scalar(select(Member.name).where(Member.id == holder))
        member.agency_id = target.id
        if member.status != PENDING:
            change.moved_members.append(
                MovedMember(member.id, member.name, member.language, source.name, kept=kept)
            )
    await session.execute(
        update(Invite)
        .where(Invite.agency_id == source.id, Invite.revoked_at.is_(None))
        .values(agency_id=target.id)
    )
    taken_chats = select(GroupLink.id).where(GroupLink.agency_id == source.id)
    await session.execute(update(GroupLink).where(GroupLink.id.in_(taken_chats)).values(agency_id=target.id))

    plan_ids = await _active_plan_ids(session, today, grace_days)
    if plan_ids:
        done = await _done_task_ids(session, plan_ids)
        links = (
            await session.scalars(
                select(TaskAgency)
                .join(Task, Task.id == TaskAgency.task_id)
                # A task a revision archived is part of the plan's past, like a finished one.
                .where(
                    TaskAgency.agency_id == source.id, Task.plan_id.in_(plan_ids), Task.archived_at.is_(None)
                )
            )
        ).unique()
        moved_tasks: set[int] = set()
        links = [link for link in links if link.task_id not in done]
        # Where the target already has the same role on a task, the source's link simply goes.
        taken = set(
            (
                await session.execute(
                    select(TaskAgency.task_id, TaskAgency.role)
                    .join(Task, Task.id == TaskAgency.task_id)
                    .where(TaskAgency.agency_id == target.id, Task.plan_id.in_(plan_ids))
                )
            ).all()
        )
        for link in links:
            if (link.task_id, link.role) in taken:
                await session.delete(link)
            else:
                link.agency_id = target.id
            moved_tasks.add(link.task_id)
        # A section's agency answers for the section's unlinked tasks (storage.assignments).
        await session.execute(
            update(Section)
            .where(Section.agency_id == source.id, Section.plan_id.in_(plan_ids))
            .values(agency_id=target.id)
        )
        change.moved_tasks += len(moved_tasks)
    result = await session.execute(
        update(Reminder)
        .where(Reminder.agency_id == source.id, Reminder.status == REMINDER_PENDING)
        .values(agency_id=target.id)
    )
    change.moved_reminders += result.rowcount or 0
    # Where the source was one unit of a group, its successor now is.
    for row in (
        await session.scalars(select(AgencyGroupMember).where(AgencyGroupMember.member_id == source.id))
    ).all():
        exists = await session.scalar(
            select(AgencyGroupMember.id).where(
                AgencyGroupMember.group_id == row.group_id, AgencyGroupMember.member_id == target.id
            )
        )
        if exists is not None or row.group_id == target.id:
            await session.delete(row)
        else:
            row.member_id = target.id
    await session.flush()


async def merge(
    session: AsyncSession,
    sources: list[str],
    into: str,
    *,
    on: dt.date,
    today: dt.date,
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> Change:
    """Merge each of `sources` into `into` (registered now when new) from `on`."""
    check_date(on, today)
    if not sources:
        raise RegistryError(N_("Name at least one agency to merge"))
    found = [await find(session, name) for name in sources]
    target = await resolve_agency(session, into) if fold(into) else None
    if target is not None:
        for agency in found:
            if agency.id == target.id:
                raise RegistryError(N_("{name} cannot be merged into itself"), name=agency.name)
        if target.status != ACTIVE:
            ahead = await current(session, target)
            if any(ahead.id == agency.id for agency in found) or ahead.id == target.id:
                raise RegistryError(
                    N_(
                        "{target} was itself merged or renamed into one of these agencies: that would make a cycle"
                    ),
                    target=target.name,
                )
            raise RegistryError(
                N_("{name} is no longer active ({status} since {date})"),
                name=target.name,
                status=target.status,
                date=target.status_since.strftime("%d/%m/%Y") if target.status_since else "?",
            )
    change = Change(agency=target, changed=False)  # type: ignore[arg-type]
    for agency in found:
        if agency.status in (MERGED, RENAMED) and agency.successor_id is not None:
            if target is not None and (await current(session, agency)).id == target.id:
                change.already.append(agency.name)
                continue
            successor = await session.get(Agency, agency.successor_id)
            raise RegistryError(
                N_("{name} was already merged into {successor} on {date}"),
                name=agency.name,
                successor=successor.name if successor else "?",
                date=agency.status_since.strftime("%d/%m/%Y") if agency.status_since else "?",
            )
        if agency.status == DISSOLVED:
            _require_active(agency)
    if target is None:
        target = await _new_agency(session, _check_name(into), change)
    change.agency = target
    for agency in found:
        if agency.name in change.already:
            continue
        # The cycle check proper: nothing ahead of the target may be one of the sources.
        ahead = await current(session, target)
        if ahead.id == agency.id:
            raise RegistryError(
                N_(
                    "{target} was itself merged or renamed into one of these agencies: that would make a cycle"
                ),
                target=target.name,
            )
        await _move_work(session, agency, target, today, change, grace_days)
        agency.status = MERGED
        agency.status_since = on
        agency.successor_id = target.id
        change.sources.append(agency.name)
        await _event(session, agency, "merged", on, successor_id=target.id)
        change.changed = True
    if change.changed:
        await _assignments_changed(session)
    await session.flush()
    return change


async def rename(
    session: AsyncSession,
    old: str,
    new: str,
    *,
    on: dt.date,
    today: dt.date,
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> Change:
    """`old` goes on as `new` from `on`: a new row, with `old` kept as its renamed predecessor."""
    check_date(on, today)
    agency = await find(session, old)
    new = _check_name(new)
    existing = await resolve_agency(session, new)
    if (
        agency.status == RENAMED
        and existing is not None
        and (await current(session, agency)).id == existing.id
    ):
        return Change(agency=existing, changed=False, already=[agency.name])
    if existing is not None and existing.id == agency.id:
        raise RegistryError(N_("{name} already has that name"), name=agency.name)
    if existing is not None:
        raise RegistryError(
            N_('"{name}" already names {other}; to bring the two together, merge them'),
            name=new,
            other=existing.name,
        )
    _require_active(agency)
    change = Change(agency=agency, changed=True)
    target = await _new_agency(session, new, change)
    change.agency = target
    await _move_work(session, agency, target, today, change, grace_days)
    agency.status = RENAMED
    agency.status_since = on
    agency.successor_id = target.id
    change.sources.append(agency.name)
    await _event(session, agency, "renamed", on, successor_id=target.id, new_name=target.name)
    await _assignments_changed(session)
    await session.flush()
    return change


async def dissolve(session: AsyncSession, name: str, *, on: dt.date, today: dt.date) -> Change:
    check_date(on, today)
    agency = await find(session, name)
    if agency.status == DISSOLVED:
        return Change(agency=agency, changed=False)
    _require_active(agency)
    agency.status = DISSOLVED
    agency.status_since = on
    await _event(session, agency, "dissolved", on)
    # Nobody answers for a body that no longer exists: pending reminders to it are cancelled.
    result = await session.execute(
        update(Reminder)
        .where(Reminder.agency_id == agency.id, Reminder.status == REMINDER_PENDING)
        .values(status="cancelled", last_error="agency dissolved")
    )
    await session.flush()
    return Change(agency=agency, changed=True, moved_reminders=result.rowcount or 0)


async def define_group(session: AsyncSession, name: str, members: list[str]) -> Change:
    """Make `name` a group of `members` (registered when new), replacing the members it had."""
    name = _check_name(name)
    change = Change(agency=None, changed=False)  # type: ignore[arg-type]
    group = await resolve_agency(session, name)
    if group is None:
        group = await _new_agency(session, name, change)
    change.agency = group
    _require_active(group)
    wanted: list[Agency] = []
    for member_name in members:
        if not fold(member_name):
            continue
        member = await resolve_agency(session, member_name)
        if member is None:
            member = await _new_agency(session, _check_name(member_name), change)
        member = await current(session, member)
        if member.id == group.id:
            raise RegistryError(N_("{name} cannot be a member of itself"), name=group.name)
        if member.status != ACTIVE:
            _require_active(member)
        if member.id not in {m.id for m in wanted}:
            wanted.append(member)
    if not wanted:
        raise RegistryError(N_("Name at least one member of the group"))
    nested = await members_of_groups(session, [m.id for m in wanted])
    if nested:
        names = await names_by_id(session, set(nested))
        raise RegistryError(
            N_("{name} is a group itself; list its members instead"), name=names[next(iter(nested))]
        )
    before = [m.id for m in await group_members(session, group.id)]
    if before == [m.id for m in wanted] and group.is_group:
        return change
    await session.execute(delete(AgencyGroupMember).where(AgencyGroupMember.group_id == group.id))
    await session.flush()
    for position, member in enumerate(wanted):
        session.add(AgencyGroupMember(group_id=group.id, member_id=member.id, position=position))
    group.is_group = True
    await _event(session, group, "group", None, members=[m.name for m in wanted])
    await _assignments_changed(session)
    await session.flush()
    change.changed = True
    return change


async def builtin_successor(session: AsyncSession, agency: Agency) -> tuple[str, dt.date] | None:
    """What the shipped registry says `agency` became, when the database does not say so yet."""
    if agency.status != ACTIVE:
        return None
    entry = known_agency(agency.name)
    if entry is None or entry.since is None:
        return None
    return (entry.successor or "", entry.since)


__all__ = [
    "DEFAULT_GRACE_DAYS",
    "Change",
    "MovedMember",
    "RegistryError",
    "add",
    "alias",
    "builtin_successor",
    "check_date",
    "current",
    "define_group",
    "dissolve",
    "expand",
    "find",
    "group_members",
    "history",
    "members_of_groups",
    "merge",
    "names_by_id",
    "predecessors",
    "rename",
]
