"""Where a plan stands in one reporting cycle (or any date range): the model every report renders.

Each task carries two facts, decided in `storage.progress_rules` and nowhere else: what was reported
(status, %, note, evidence) and its timing against its end date. Counts of either fact have one
definition: every task of the plan once (`Summary.reported_counts`, `Summary.timing_counts`), and for
an agency every task it answers for — its section's tasks and those it leads elsewhere, exactly the
list `/nhiemvu` numbers — each as that agency stands on it (a co-lead that reported done is done
there, whatever the other leads said).

`as_of` is `today` while the period is open; for a period that has closed it is the day after its
end, so a past cycle reads as it stood when it closed: a task due later is not called overdue in
hindsight, one due by the deadline and not done is.

What counts as said. In cycle mode, each agency's latest update on a task among those counted towards
this cycle or an earlier one (the latest cycle first, then the latest recorded: a late report for an
earlier cycle does not hide a newer one); in range mode, among updates recorded before the range's
last day was over. A task was *updated in the period* when its newest update falls in the period. An
agency has *reported* when it recorded any update on this plan in the period. Agencies *expected* to
report are those that answer for at least one task.

How it is read. The database finds each agency's latest update on each task in one statement
(`latest_updates_by_agency`: in cycle mode from `progress_latest`, which keeps each agency's newest
update per task and cycle; in range mode by index seeks, never a task's older updates); tasks and
their agency links in another; the rules then run in Python over plain rows. `detail=ATTENTION`
keeps only the tasks that need attention (blocked or overdue) and, optionally, one agency's tasks in
`tasks`; counts are complete either way. An overview's counts of one-lead tasks come from the
database (`storage.summary_sql`), and only the tasks it details, and co-led ones, are judged here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import String, and_, bindparam, case, cast, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.assignments import AssignedTask
from storage.collation import vi_sort_key
from storage.cycles import cycle_bounds, cycle_for, reporting_deadlines
from storage.evidence import names_a_file
from storage.group_progress import GroupProgress, group_progress
from storage.id_lists import among, ids_value
from storage.latest_updates import latest_ids
from storage.models import Agency, Member, Plan, ProgressUpdate, Section, Task, TaskAgency
from storage.models.evidence import EvidenceFile
from storage.models.people import ACTIVE, BLOCKED, DONE, FOCAL
from storage.models.plan import COORDINATING, LEAD, visible
from storage.progress_rules import (
    ALL_LEADS,
    NOT_REPORTED,
    OVERDUE,
    REPORTED,
    TIMINGS,
    Standing,
    Word,
    agency_view,
    judge,
    leads_of,
    responsible,
)
from storage.summary_sql import Counted, Counts, TaskRef, count_plan, local_midnight

DEFAULT_TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")

# How much task detail a summary carries (counts are always complete).
ALL = "all"
ATTENTION = "attention"

REPORTED_RANK = {status: rank for rank, status in enumerate(REPORTED)}
TIMING_RANK = {status: rank for rank, status in enumerate(TIMINGS)}


# Chooses, of the tasks a summary could detail, those it details (see build_summary).
Pick = Callable[[list[TaskRef], list["AgencySummary"]], Iterable[int]]


def counts_only(refs: list[TaskRef], agencies: list[AgencySummary]) -> list[int]:
    """A pick for a page that shows figures only."""
    return []


def of_agency(agency_id: int) -> Pick:
    """A pick for one agency's page: the tasks it answers for or helps with."""

    def pick(refs: list[TaskRef], agencies: list[AgencySummary]) -> list[int]:
        return [ref.id for ref in refs if agency_id in ref.answering or ref.involves(agency_id)]

    return pick


def attention_first(limit: int) -> Pick:
    """A pick for a summary that lists the first `limit` blocked tasks and the first `limit`
    overdue ones, each in plan order, as a chat message does (`Summary.blocked_count` and
    `overdue_count` say how many there are in all): a province's plan has thousands of them, and
    a chat would page through hundreds of messages where a report file lists them in full."""

    def pick(refs: list[TaskRef], agencies: list[AgencySummary]) -> list[int]:
        blocked = [ref.id for ref in refs if listed_blocked(ref)]
        overdue = [ref.id for ref in refs if listed_overdue(ref)]
        return blocked[:limit] + overdue[:limit]

    return pick


def listed_blocked(task: TaskRef | TaskSummary) -> bool:
    """Listed among the blocked tasks (`Summary.blockers`)."""
    return task.reported == BLOCKED


def listed_overdue(task: TaskRef | TaskSummary) -> bool:
    """Listed among the overdue tasks (`Summary.overdue`): overdue, and not already listed as blocked."""
    return task.timing == OVERDUE and task.reported != BLOCKED


class PlanNotFound(LookupError):
    pass


def as_of_day(today: dt.date, period_end: dt.date) -> dt.date:
    """The day a summary looks from: today, or the day after a period that has already closed."""
    return today if today <= period_end else period_end + dt.timedelta(days=1)


@dataclass(slots=True, frozen=True)
class EvidenceRef:
    """A file kept (or still to be fetched) as the evidence of an update."""

    id: int
    agency_id: int
    name: str | None  # as the sender named it: for display only
    state: str
    sha256: str | None
    size: int | None
    mime_type: str | None

    @property
    def label(self) -> str:
        return self.name or (f"{self.sha256[:12]}" if self.sha256 else f"#{self.id}")


@dataclass(slots=True)
class UpdateInfo:
    """One agency's latest update on a task: what was said, by whom, when."""

    id: int
    agency_id: int
    member_id: int | None
    member_name: str | None
    status: str  # as reported: not_started / in_progress / done / blocked
    percent: int | None
    note: str
    evidence: str | None
    cycle: dt.date
    created_at: dt.datetime  # aware, UTC
    edited_at: dt.datetime | None
    files: list[EvidenceRef] = field(default_factory=list)

    @property
    def evidence_items(self) -> list[str]:
        """What a reader can use: the files by their names, or the link as typed."""
        if self.files:
            return [ref.label for ref in self.files]
        if self.evidence and not names_a_file(self.evidence):
            return [self.evidence]
        return []


def word_of(update: UpdateInfo, tz: dt.tzinfo, *, by_cycle: bool = True) -> Word:
    """The facts the rules read from an update."""
    done_on = update.created_at.astimezone(tz).date() if update.status == DONE else None
    order = (update.cycle, update.id) if by_cycle else (update.created_at, update.id)
    return Word(update.agency_id, update.status, update.percent, done_on, order)


@dataclass(slots=True)
class TaskSummary:
    id: int
    section_id: int
    number: int
    code: str
    content: str
    timeframe_text: str
    start_on: dt.date | None
    end_on: dt.date | None
    lead_text: str
    coordinating_text: str
    responsible: str
    lead_ids: list[int] = field(default_factory=list)  # as linked; see `leads` for the rule's leads
    coordinating_ids: list[int] = field(default_factory=list)
    leads: list[int] = field(default_factory=list)  # lead cell, or the section's agency
    standing: Standing | None = None
    updates: list[UpdateInfo] = field(default_factory=list)  # each agency's latest, oldest first
    updated_in_period: bool = False
    # Set when a revision of the plan dropped the task: it still shows in the periods it was part
    # of (those that began before it was dropped), marked as removed from the plan.
    removed_on: dt.date | None = None

    @property
    def reported(self) -> str:
        return self.standing.reported

    def involves(self, agency_id: int) -> bool:
        """Whether the agency leads it or helps with it, as linked."""
        return agency_id in self.lead_ids or agency_id in self.coordinating_ids

    @property
    def timing(self) -> str:
        return self.standing.timing

    @property
    def percent(self) -> int | None:
        return self.standing.percent

    @property
    def done(self) -> bool:
        return self.standing.done

    @property
    def latest(self) -> UpdateInfo | None:
        """The newest thing anyone said on the task."""
        return self.updates[-1] if self.updates else None

    @property
    def evidence(self) -> list[str]:
        """Evidence the agencies gave on their latest updates (files by name, links), newest last."""
        return [item for update in self.updates for item in update.evidence_items]

    @property
    def evidence_files(self) -> list[EvidenceRef]:
        return [ref for update in self.updates for ref in update.files]


@dataclass(slots=True)
class SectionSummary:
    id: int
    numeral: str
    position: int
    heading: str  # the agency as the plan writes it
    agency_id: int | None
    tasks: list[TaskSummary] = field(default_factory=list)  # the detailed ones, in plan order


@dataclass(slots=True)
class AgencySummary:
    id: int
    name: str
    short_name: str | None
    # Of every task it answers for, as it stands on each: reported status and timing.
    reported_counts: Counter = field(default_factory=Counter)
    timing_counts: Counter = field(default_factory=Counter)
    progress_sum: int = 0
    without_update: int = 0  # of those tasks, how many nobody updated in the period
    needing_attention: int = 0  # of those tasks, how many are blocked or overdue, as it stands on each
    reported: bool = False  # recorded at least one update on this plan in the period
    focal_points: int = 0  # active focal points registered for it
    unreachable_members: int = 0
    # The detailed tasks it answers for (all of them when the summary's detail is ALL), and how
    # it stands on each (a co-lead's own word).
    tasks: list[TaskSummary] = field(default_factory=list)
    views: dict[int, Standing] = field(default_factory=dict)
    coordinating_tasks: list[TaskSummary] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.short_name or self.name

    @property
    def total(self) -> int:
        """How many tasks it answers for."""
        return sum(self.reported_counts.values())

    @property
    def expected(self) -> bool:
        return self.total > 0

    @property
    def done(self) -> int:
        return self.reported_counts[DONE]

    @property
    def completion(self) -> float:
        """Share of its tasks that are done (0 when it has none)."""
        return self.done / self.total if self.total else 0.0

    @property
    def average_progress(self) -> float:
        """Mean reported progress over its tasks, in percent (0 when it has none)."""
        return self.progress_sum / self.total if self.total else 0.0

    def view(self, task: TaskSummary) -> Standing:
        return self.views.get(task.id, task.standing)

    @property
    def tasks_without_update(self) -> list[TaskSummary]:
        """Detailed tasks it answers for that nobody updated in the period."""
        return [task for task in self.tasks if not task.updated_in_period]

    last_update_at: dt.datetime | None = None  # its newest update on this plan up to the period's end


@dataclass(slots=True)
class MemberInfo:
    id: int
    name: str
    role: str
    agency_id: int | None
    agency_name: str | None
    reason: str | None
    since: dt.datetime | None


@dataclass(frozen=True, slots=True)
class PlanInfo:
    id: int
    number: str
    title: str
    issued: dt.date | None
    year: int
    deadlines: tuple[dt.date, ...]
    issuing_body: str = ""


@dataclass
class Summary:
    plan: PlanInfo
    cycle: dt.date | None  # the reporting deadline, when the period is a cycle
    start: dt.date
    end: dt.date
    today: dt.date
    detail: str  # ALL: every task below; ATTENTION: blocked and overdue ones, one agency's, or those picked
    reported_counts: Counter  # what was reported, every task of the plan once
    timing_counts: Counter  # timing, every task of the plan once
    progress_sum: int
    unassigned: int  # tasks no agency answers for, not even through their section
    sections: list[SectionSummary]
    tasks: list[TaskSummary]  # the detailed tasks, in plan order
    agencies: list[AgencySummary]  # section agencies in plan order, then the others by name
    unreachable: list[MemberInfo]  # active members whose messages cannot be delivered
    co_lead_rule: str = ALL_LEADS
    # Groups whose members each report for themselves: "n of N units reported" (storage.group_progress).
    groups: list[GroupProgress] = field(default_factory=list)
    needing_attention: int = 0  # tasks blocked or overdue, every task of the plan once

    @property
    def as_of(self) -> dt.date:
        return as_of_day(self.today, self.end)

    @property
    def complete(self) -> bool:
        return self.detail == ALL

    @property
    def total(self) -> int:
        return sum(self.reported_counts.values())

    @property
    def done(self) -> int:
        return self.reported_counts[DONE]

    @property
    def completion(self) -> float:
        return self.done / self.total if self.total else 0.0

    @property
    def average_progress(self) -> float:
        """Mean reported progress over every task of the plan, in percent."""
        return self.progress_sum / self.total if self.total else 0.0

    @cached_property
    def task_by_id(self) -> dict[int, TaskSummary]:
        return {task.id: task for task in self.tasks}

    @cached_property
    def agency_by_id(self) -> dict[int, AgencySummary]:
        return {agency.id: agency for agency in self.agencies}

    def agency(self, agency_id: int) -> AgencySummary | None:
        return self.agency_by_id.get(agency_id)

    def agency_label(self, agency_id: int | None) -> str:
        found = self.agency_by_id.get(agency_id) if agency_id is not None else None
        return found.label if found else ""

    @cached_property
    def expected_agencies(self) -> list[AgencySummary]:
        return [agency for agency in self.agencies if agency.expected]

    @cached_property
    def reported_agencies(self) -> list[AgencySummary]:
        return [agency for agency in self.expected_agencies if agency.reported]

    @cached_property
    def missing_agencies(self) -> list[AgencySummary]:
        """Expected to report, and recorded nothing in the period."""
        return [agency for agency in self.expected_agencies if not agency.reported]

    @cached_property
    def blockers(self) -> list[TaskSummary]:
        return [task for task in self.tasks if listed_blocked(task)]

    @cached_property
    def overdue(self) -> list[TaskSummary]:
        """Overdue and not reported blocked (those are listed as blockers)."""
        return [task for task in self.tasks if listed_overdue(task)]

    @property
    def blocked_count(self) -> int:
        """Blocked tasks in all, whether or not each is detailed (`blockers` lists those that are)."""
        return self.reported_counts[BLOCKED]

    @property
    def overdue_count(self) -> int:
        """Overdue tasks not reported blocked, in all (`overdue` lists those detailed)."""
        return self.needing_attention - self.reported_counts[BLOCKED]

    @property
    def attention(self) -> list[TaskSummary]:
        """Blocked tasks first, then overdue ones, each in plan order."""
        return self.blockers + self.overdue

    def ordered_tasks(self) -> list[TaskSummary]:
        """The detailed tasks, what needs attention first; plan order within a kind."""
        return sorted(
            self.tasks, key=lambda task: (not task.standing.needs_attention, REPORTED_RANK[task.reported])
        )


@dataclass(frozen=True)
class _Period:
    cycle: dt.date | None
    start: dt.date
    end: dt.date
    today: dt.date
    tz: dt.tzinfo

    @property
    def as_of(self) -> dt.date:
        return as_of_day(self.today, self.end)

    @property
    def starts_at(self) -> dt.datetime:
        return local_midnight(self.start, self.tz)

    @property
    def ends_before(self) -> dt.datetime:
        return local_midnight(self.end + dt.timedelta(days=1), self.tz)

    def holds(self, update: UpdateInfo) -> bool:
        if self.cycle is not None:
            return update.cycle == self.cycle
        return self.starts_at <= update.created_at < self.ends_before


async def build_summary(
    session: AsyncSession,
    plan_id: int,
    *,
    cycle: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    today: dt.date,
    tz: dt.tzinfo = DEFAULT_TZ,
    extra_deadlines: Iterable[dt.date] = (),
    detail: str = ALL,
    agency_id: int | None = None,
    co_lead_rule: str = ALL_LEADS,
    pick: Pick | None = None,
) -> Summary:
    """Summarise a plan for one reporting cycle (by default the cycle holding `today`) or a range.

    Give `cycle` (one of the plan's reporting deadlines), or both `start` and `end` (inclusive local
    days), or neither. `detail=ATTENTION` details only blocked and overdue tasks, plus the tasks
    `agency_id` answers for or helps with, when given; counts are complete either way. With it,
    `pick` may narrow those further: it is given them (`TaskRef`, in plan order) and the agencies
    expected to report (counted, in the summary's order), and returns the ids of those to detail,
    so a page reads only the tasks it shows. Raises PlanNotFound, or ValueError for a cycle or
    range that makes no sense.
    """
    if detail not in (ALL, ATTENTION):
        raise ValueError(f"unknown detail {detail!r}")
    if pick is not None and detail != ATTENTION:
        raise ValueError("only a summary detailed by attention picks its tasks")
    with _collector_paused():
        return await _build_summary(
            session,
            plan_id,
            cycle,
            start,
            end,
            today,
            tz,
            extra_deadlines,
            detail,
            agency_id,
            co_lead_rule,
            pick,
        )


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the summary is built.

    A large plan means hundreds of thousands of small objects, all still referenced until the
    summary is returned; the collector would run full passes over them again and again and free
    nothing (measured: a fifth of the time on 60,000 tasks). Reference counting still frees
    everything short-lived. The collector is turned back on only if it was on before.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def _build_summary(
    session, plan_id, cycle, start, end, today, tz, extra_deadlines, detail, agency_id, co_lead_rule, pick
):
    plan = await session.scalar(select(Plan).where(Plan.id == plan_id, visible()))
    if plan is None:
        raise PlanNotFound(f"no plan with id {plan_id}")
    extra = tuple(extra_deadlines)
    period = _period_of(plan, cycle, start, end, today, tz, extra)
    cycle, start, end = period.cycle, period.start, period.end
    as_of = period.as_of

    # Column queries go through the Core connection: the ORM's entity machinery would cost more
    # than the queries themselves on a plan of tens of thousands of tasks.
    conn = await session.connection()
    section_rows = await conn.execute(
        select(Section.id, Section.numeral, Section.position, Section.heading, Section.agency_id)
        .where(
            Section.plan_id == plan_id,
            or_(Section.archived_at.is_(None), Section.archived_at >= period.starts_at),
        )
        .order_by(Section.position)
    )
    sections = [SectionSummary(*row) for row in section_rows.all()]
    section_by_id = {section.id: section for section in sections}
    names, successors, reporting = {}, {}, []
    for key, name, short_name, successor_id, spoke in (await conn.execute(_agencies(plan_id, period))).all():
        names[key] = (name, short_name)
        if successor_id is not None:
            successors[key] = successor_id
        if spoke:
            reporting.append(key)
    agencies: dict[int, AgencySummary] = {}

    def agency(key: int, counts: Counts | None = None) -> AgencySummary:
        """The agency's summary, made on first use; with `counts`, these are its figures."""
        found = agencies.get(key)
        if found is None:
            name, short_name = names.get(key, (f"#{key}", None))
            # Made with its counters when they are known (3,000 on a province), not empty ones.
            found = agencies[key] = (
                AgencySummary(key, name, short_name)
                if counts is None
                else AgencySummary(key, name, short_name, counts.reported, counts.timing)
            )
        if counts is not None:
            found.reported_counts, found.timing_counts = counts.reported, counts.timing
            found.progress_sum, found.without_update = counts.progress_sum, counts.without_update
            found.needing_attention = counts.needing_attention
        return found

    for section in sections:
        if section.agency_id is not None:
            agency(section.agency_id)

    reported_counts: Counter = Counter()
    timing_counts: Counter = Counter()
    progress_sum = 0
    unassigned = 0
    needing_attention = 0
    views: dict[int, dict[int, Standing]] = {}  # by task: each answering agency's side, where it differs

    def settle(task: TaskSummary, said: list[UpdateInfo], count: bool) -> list[int]:
        """Judge a task by its agencies' latest words, and count it when the database did not;
        the agencies that answer for it."""
        nonlocal progress_sum, unassigned, needing_attention
        section = section_by_id[task.section_id]
        words = _judge_task(task, said, section.agency_id, period, co_lead_rule)
        answering = responsible(section.agency_id, task.lead_ids)
        if count:
            reported_counts[task.reported] += 1
            timing_counts[task.timing] += 1
            progress_sum += task.standing.progress
            unassigned += not answering
            needing_attention += task.standing.needs_attention
        sides = {}
        for key in answering:
            owner = agency(key)
            view = agency_view(task.standing, task.end_on, key, task.leads, words, as_of)
            if count:
                owner.reported_counts[view.reported] += 1
                owner.timing_counts[view.timing] += 1
                owner.progress_sum += view.progress
                owner.without_update += not task.updated_in_period
                owner.needing_attention += view.needs_attention
            if view is not task.standing:
                sides[key] = view
        if sides:
            views[task.id] = sides
        if counted is None:
            for update in task.updates:
                owner = agency(update.agency_id)
                if owner.last_update_at is None or update.created_at > owner.last_update_at:
                    owner.last_update_at = update.created_at
        return answering

    tasks: list[TaskSummary] = []

    def attach(task: TaskSummary, answering: list[int]) -> None:
        """List a judged task in the summary, its section and its agencies, in plan order."""
        tasks.append(task)
        section_by_id[task.section_id].tasks.append(task)
        sides = views.get(task.id, {})
        for key in answering:
            owner = agency(key)
            owner.tasks.append(task)
            if key in sides:
                owner.views[task.id] = sides[key]
        for key in task.coordinating_ids:
            agency(key).coordinating_tasks.append(task)

    groups = await group_progress(session, plan_id, _in_period(period))

    def mark_reported() -> None:
        for key in reporting:
            agency(key).reported = True
        # What was reported under a name since merged or renamed counts for whoever carries it on
        # now (storage.registry moved its open tasks there); the update itself keeps the old name.
        for key in reporting:
            successor_id = successors.get(key)
            if successor_id in agencies:
                agencies[successor_id].reported = True
        for group in groups:
            # A group has reported when every one of its units has, each for itself.
            if group.id in agencies:
                agencies[group.id].reported = group.reported == group.total

    counted: Counted | None = None
    if detail == ALL:
        updates = await latest_updates_by_agency(conn, plan_id, cycle=period.cycle, before=period.ends_before)
        for task in await _plan_tasks(conn, plan_id, period, tz):
            attach(task, settle(task, updates.get(task.id, []), count=True))
        mark_reported()
    else:
        # Counts from the database, the rules from Python only for co-led tasks and those shown.
        counted = await count_plan(
            conn,
            plan_id,
            cycle=period.cycle,
            starts_at=period.starts_at,
            ends_before=period.ends_before,
            as_of=as_of,
            tz=tz,
            agency_id=agency_id,
            # A page of figures only: no task named, none read (7,000 of a province's plan).
            candidates=pick is not counts_only,
            version=plan.imported_at,
            # A cycle today's follows is closed: its tasks have most likely been reported on since.
            newest_likely=period.cycle is not None and period.cycle >= cycle_for(plan, today, extra=extra),
        )
        reported_counts.update(counted.plan.reported)
        timing_counts.update(counted.plan.timing)
        progress_sum, unassigned = counted.plan.progress_sum, counted.unassigned
        needing_attention = counted.plan.needing_attention
        for key, counts in counted.by_agency.items():
            # Nothing was counted for it before: its figures are these.
            agency(key, counts)
        for key, moment in counted.last_update_at.items():
            agency(key).last_update_at = moment
        # Co-led tasks are judged (and counted) here whatever is shown; the others only once chosen.
        judged = {}  # by id: the task, judged, and the agencies that answer for it
        refs = list(counted.candidates)
        for task, said in (await _detailed(conn, plan_id, period, tz, counted.co_led)).values():
            answering = settle(task, said, count=True)
            judged[task.id] = task, answering
            if task.standing.needs_attention or agency_id in answering or agency_id in task.coordinating_ids:
                refs.append(
                    TaskRef(
                        task.id,
                        task.section_id,
                        task.number,
                        task.reported,
                        task.timing,
                        tuple(answering),
                        (*task.lead_ids, *task.coordinating_ids),
                    )
                )
        mark_reported()
        refs.sort(key=lambda ref: (section_by_id[ref.section_id].position, ref.number, ref.id))
        if pick is not None:
            chosen = set(pick(refs, _ordered([a for a in agencies.values() if a.expected], sections)))
            refs = [ref for ref in refs if ref.id in chosen]
        known = len(agencies)
        shown = {ref.id for ref in refs}
        for task, said in (await _detailed(conn, plan_id, period, tz, shown - judged.keys())).values():
            judged[task.id] = task, settle(task, said, count=False)
        for ref in refs:
            # Read in separate statements: on PostgreSQL a task archived in between is not found.
            if ref.id in judged:
                attach(*judged[ref.id])
        if len(agencies) > known:
            # Agencies that only help with a task just detailed: their names carry on others' too.
            mark_reported()

    focal_rows = await conn.execute(
        select(
            Member.agency_id,
            func.sum(case((Member.role == FOCAL, 1), else_=0)),
            func.sum(case((Member.reachable == false(), 1), else_=0)),
        )
        .where(Member.status == ACTIVE, Member.agency_id.is_not(None))
        .group_by(Member.agency_id)
    )
    for key, focal_points, unreachable_count in focal_rows:
        if key in agencies:
            agencies[key].focal_points = int(focal_points or 0)
            agencies[key].unreachable_members = int(unreachable_count or 0)
    unreachable_rows = await conn.execute(
        select(
            Member.id,
            Member.name,
            Member.role,
            Member.agency_id,
            Agency.name,
            Member.unreachable_reason,
            Member.unreachable_since,
        )
        .outerjoin(Agency, Agency.id == Member.agency_id)
        .where(Member.status == ACTIVE, Member.reachable == false())
        .order_by(Member.agency_id, Member.name)
    )

    ordered = _ordered(agencies.values(), sections)
    return Summary(
        plan=PlanInfo(
            id=plan.id,
            number=plan.number,
            title=plan.title or "",
            issued=plan.issued,
            year=plan.year,
            deadlines=tuple(reporting_deadlines(plan, extra)),
            issuing_body=getattr(plan, "issuer", None) or "",
        ),
        cycle=cycle,
        start=start,
        end=end,
        today=today,
        detail=detail,
        reported_counts=reported_counts,
        timing_counts=timing_counts,
        progress_sum=progress_sum,
        unassigned=unassigned,
        sections=sections,
        tasks=tasks,
        agencies=ordered,
        unreachable=[MemberInfo(*row) for row in unreachable_rows if row[3] is None or row[3] in agencies],
        co_lead_rule=co_lead_rule,
        groups=groups,
        needing_attention=needing_attention,
    )


def _period_of(plan: Plan, cycle, start, end, today: dt.date, tz: dt.tzinfo, extra: tuple) -> _Period:
    if start is None and end is None:
        cycle = cycle or cycle_for(plan, today, extra=extra)
        start, end = cycle_bounds(plan, cycle, extra=extra)
    elif cycle is not None:
        raise ValueError("give a reporting cycle or a date range, not both")
    elif start is None or end is None:
        raise ValueError("a date range needs both its first and its last day")
    elif start > end:
        raise ValueError(f"the range starts ({start.isoformat()}) after it ends ({end.isoformat()})")
    return _Period(cycle, start, end, today, tz)


def _judge_task(
    task: TaskSummary, said: list[UpdateInfo], section_agency_id: int | None, period: _Period, rule: str
) -> list[Word]:
    """Set how the task stands by its agencies' latest words (`said`), and its updates oldest
    first; returns the words in that order."""
    words = [word_of(update, period.tz, by_cycle=period.cycle is not None) for update in said]
    task.leads = leads_of(section_agency_id, task.lead_ids)
    task.standing = judge(task.end_on, task.leads, words, period.as_of, rule=rule)
    if len(said) > 1:
        order = sorted(range(len(said)), key=lambda i: words[i].order)
        said, words = [said[i] for i in order], [words[i] for i in order]
    task.updates = said
    task.updated_in_period = bool(task.updates) and period.holds(task.updates[-1])
    return words


async def task_summary(
    session: AsyncSession,
    plan_id: int,
    task_id: int,
    *,
    today: dt.date,
    tz: dt.tzinfo = DEFAULT_TZ,
    extra_deadlines: Iterable[dt.date] = (),
    co_lead_rule: str = ALL_LEADS,
) -> TaskSummary | None:
    """One task of the plan as the cycle's summary details it (the cycle holding `today`), or None
    when the plan has no such task in the cycle: a task's page reads it alone, not the plan."""
    plan = await session.scalar(select(Plan).where(Plan.id == plan_id, visible()))
    if plan is None:
        raise PlanNotFound(f"no plan with id {plan_id}")
    period = _period_of(plan, None, None, None, today, tz, tuple(extra_deadlines))
    conn = await session.connection()
    found = (await _detailed(conn, plan_id, period, tz, [task_id])).get(task_id)
    if found is None:
        return None
    task, said = found
    section_agency_id = await conn.scalar(select(Section.agency_id).where(Section.id == task.section_id))
    _judge_task(task, said, section_agency_id, period, co_lead_rule)
    return task


def _ordered(agencies: Iterable[AgencySummary], sections: list[SectionSummary]) -> list[AgencySummary]:
    """Section agencies in plan order, then the others by name."""
    by_id = {agency.id: agency for agency in agencies}
    owners = dict.fromkeys(section.agency_id for section in sections if section.agency_id in by_id)
    ordered = [by_id[key] for key in owners]
    ordered += sorted(
        (agency for key, agency in by_id.items() if key not in owners),
        key=lambda agency: vi_sort_key(agency.name),
    )
    return ordered


async def _detailed(
    conn: AsyncConnection, plan_id: int, period: _Period, tz, ids: Iterable[int]
) -> dict[int, tuple[TaskSummary, list[UpdateInfo]]]:
    """The tasks `ids` of the plan with each agency's latest word on them, not yet judged."""
    only = sorted(ids)
    if not only:
        return {}
    updates = await latest_updates_by_agency(
        conn, plan_id, task_ids=only, cycle=period.cycle, before=period.ends_before
    )
    return {
        task.id: (task, updates.get(task.id, []))
        for task in await _plan_tasks(conn, plan_id, period, tz, only=only)
    }


_TASK_COLUMNS = (
    Task.id,
    Task.section_id,
    Task.number,
    Task.code,
    Task.content,
    Task.timeframe_text,
    Task.start_on,
    Task.end_on,
    Task.lead_text,
    Task.coordinating_text,
    Task.responsible,
)
_UPDATE_COLUMNS = (
    ProgressUpdate.id,
    ProgressUpdate.agency_id,
    ProgressUpdate.member_id,
    Member.name,
    ProgressUpdate.status,
    ProgressUpdate.percent,
    ProgressUpdate.note,
    ProgressUpdate.evidence,
    ProgressUpdate.cycle,
    ProgressUpdate.created_at,
    ProgressUpdate.edited_at,
)


def _agency_ids(role: str):
    """The task's linked agencies in one role, in the plan's order, as "3,17" (correlated to `task`)."""
    return (
        select(func.aggregate_strings(cast(TaskAgency.agency_id, String), ","))
        .where(TaskAgency.task_id == Task.id, TaskAgency.role == role)
        .correlate(Task)
        .scalar_subquery()
    )


@functools.cache
def _plan_tasks_statement(dialect: str, by_tasks: bool):
    """The statement of `_plan_tasks`, built once per shape (see `_latest_updates_statement`)."""
    statement = (
        select(
            *_TASK_COLUMNS,
            _agency_ids(LEAD),
            _agency_ids(COORDINATING),
            Task.archived_at,
        )
        .join(Section, Section.id == Task.section_id)
        .where(
            Task.plan_id == bindparam("plan_id"),
            # Part of the plan during the period: never archived, or archived after the period
            # began (a revision removes a task from then on, not from the reports before it).
            or_(Task.archived_at.is_(None), Task.archived_at >= bindparam("starts_at")),
        )
        .order_by(Section.position, Task.number, Task.id)
    )
    if by_tasks:
        statement = statement.where(among(Task.id, "task_ids", dialect))
    return statement


async def _plan_tasks(
    conn: AsyncConnection, plan_id: int, period: _Period, tz, *, only: list[int] | None = None
) -> list[TaskSummary]:
    """Every task that was part of the plan in the period (or those of them in `only`), with its
    agency links, in plan order."""
    statement = _plan_tasks_statement(conn.dialect.name, only is not None)
    params = {"plan_id": plan_id, "starts_at": period.starts_at}
    if only is not None:
        params["task_ids"] = ids_value(only, conn.dialect.name)
    rows = await conn.execute(statement, params)
    tasks = []
    for row in rows:
        task = TaskSummary(*row[:11])
        leads, partners, archived_at = row[-3], row[-2], row[-1]
        task.lead_ids = [int(x) for x in leads.split(",")] if leads else []
        task.coordinating_ids = [int(x) for x in partners.split(",")] if partners else []
        task.removed_on = archived_at.astimezone(tz).date() if archived_at is not None else None
        tasks.append(task)
    return tasks


async def latest_updates_by_agency(
    conn: AsyncConnection,
    plan_id: int | None = None,
    *,
    task_ids: Iterable[int] | None = None,
    cycle: dt.date | None = None,
    before: dt.datetime | None = None,
) -> dict[int, list[UpdateInfo]]:
    """Each agency's latest update on each task (of a plan, or of `task_ids`), by task id.

    With `cycle`, among the updates counted towards it or an earlier cycle, the latest cycle first;
    otherwise among those recorded before `before` (all when None), the latest recorded first. The
    statement never reads a task's older updates (storage.latest_updates)."""
    params: dict = {}
    if plan_id is not None:
        params["plan_id"] = plan_id
    if cycle is not None:
        params["cycle"] = cycle
    elif before is not None:
        params["before"] = before
    window = "cycle" if cycle is not None else "before" if before is not None else "all"
    statement = _latest_updates_statement(
        conn.dialect.name, task_ids is not None, plan_id is not None, window
    )
    if task_ids is not None:
        params["task_ids"] = ids_value(task_ids, conn.dialect.name)
    return await _latest_updates(conn, statement, params)


@functools.cache
def _latest_updates_statement(dialect: str, by_tasks: bool, by_plan: bool, window: str):
    """The statement of `latest_updates_by_agency` for one shape of question, its values bound.

    Built once per shape: building it is most of the cost of a task list (a dozen milliseconds of
    SQLAlchemy constructs for a millisecond of SQLite), and the compiled form is cached by
    SQLAlchemy under the same key every time."""
    conditions = []
    if by_tasks:
        conditions.append(among(Task.id, "task_ids", dialect))
    if by_plan:
        conditions.append(Task.plan_id == bindparam("plan_id"))
    chosen = latest_ids(
        dialect,
        and_(*conditions),
        cycle=bindparam("cycle") if window == "cycle" else None,
        before=bindparam("before") if window == "before" else None,
    )
    pu = ProgressUpdate
    return (
        select(pu.task_id, *_UPDATE_COLUMNS)
        .join(chosen, chosen.c.id == pu.id)
        .outerjoin(Member, Member.id == pu.member_id)
        .order_by(pu.task_id, pu.id)
    )


async def _latest_updates(conn: AsyncConnection, statement, params: dict) -> dict[int, list[UpdateInfo]]:
    found: dict[int, list[UpdateInfo]] = {}
    by_id: dict[int, UpdateInfo] = {}
    for row in await conn.execute(statement, params):
        info = UpdateInfo(*row[1:])
        found.setdefault(row[0], []).append(info)
        if names_a_file(info.evidence):
            by_id[info.id] = info
    await _attach_files(conn, by_id)
    return found


async def _attach_files(conn: AsyncConnection, updates: dict[int, UpdateInfo]) -> None:
    ids = sorted(updates)
    ef = EvidenceFile
    for start in range(0, len(ids), 500):
        statement = (
            select(
                ef.update_id,
                ef.id,
                ef.agency_id,
                ef.original_name,
                ef.state,
                ef.sha256,
                ef.size,
                ef.mime_type,
            )
            .where(ef.update_id.in_(ids[start : start + 500]))
            .order_by(ef.id)
        )
        for row in await conn.execute(statement):
            updates[row[0]].files.append(EvidenceRef(*row[1:]))


async def task_standings(
    session: AsyncSession,
    tasks: Sequence[AssignedTask],
    *,
    agency_id: int | None,
    cycle: dt.date | None,
    today: dt.date,
    tz: dt.tzinfo = DEFAULT_TZ,
    co_lead_rule: str = ALL_LEADS,
) -> dict[int, tuple[Standing, list[UpdateInfo]]]:
    """How `agency_id` stands on each of `tasks` (the task's standing when None), with the
    agencies' latest updates, oldest first: the same rules and the same reading of the updates as
    `build_summary`, for a task list that must agree with the summary. The tasks are the chat's
    kept assignments (storage.assignments), which carry the end date and leads judging needs."""
    if not tasks:
        return {}
    conn = await session.connection()
    updates = await latest_updates_by_agency(conn, task_ids=[task.id for task in tasks], cycle=cycle)
    as_of = today if cycle is None else as_of_day(today, cycle)
    found = {}
    for task in tasks:
        said = sorted(updates.get(task.id, []), key=lambda update: (update.cycle, update.id))
        words = [word_of(update, tz) for update in said]
        task_leads = leads_of(task.section_agency_id, task.lead_ids)
        standing = judge(task.end_on, task_leads, words, as_of, rule=co_lead_rule)
        if agency_id is not None:
            standing = agency_view(standing, task.end_on, agency_id, task_leads, words, as_of)
        found[task.id] = (standing, said)
    return found


def _in_period(period: _Period, pu=ProgressUpdate):
    if period.cycle is not None:
        return pu.cycle == period.cycle
    return and_(pu.created_at >= period.starts_at, pu.created_at < period.ends_before)


def _agencies(plan_id: int, period: _Period):
    """Every agency: its names, its successor, and whether it recorded an update on this plan in the
    period (one probe per agency, through ix_progress_update_cycle_agency or
    ix_progress_update_agency_created)."""
    pu = ProgressUpdate
    probe = (
        select(pu.id)
        .join(Task, Task.id == pu.task_id)
        .where(pu.agency_id == Agency.id, _in_period(period), Task.plan_id == plan_id)
        .correlate(Agency)
    )
    return select(Agency.id, Agency.name, Agency.short_name, Agency.successor_id, exists(probe))


__all__ = [
    "ALL",
    "ATTENTION",
    "NOT_REPORTED",
    "AgencySummary",
    "PlanNotFound",
    "Summary",
    "TaskRef",
    "TaskSummary",
    "UpdateInfo",
    "build_summary",
    "counts_only",
    "of_agency",
    "task_summary",
]
