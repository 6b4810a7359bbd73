"""The summary's counts for a large plan, computed inside the database.

`storage.summary` judges every task in Python when it details them all (exports, chat). For an
overview it needs only counts and the few tasks it shows: here the database counts every task with
at most one lead, by the one-lead rules `storage.progress_rules` states in SQL next to `judge`, and
names the tasks to detail (blocked, overdue, or of the agency asked for). Co-led tasks are left to
`judge` and always detailed: their rules (each lead for itself, all or any lead done) stay in one
place. tests/storage/test_summary_sql.py holds these figures to the judged ones.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import (
    Date,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from storage.latest_updates import kept_in_cycle, latest_ids
from storage.models import Agency, LatestInCycle, ProgressUpdate, Section, Task, TaskAgency, TaskLatest
from storage.models.base import UTCDateTime
from storage.models.people import BLOCKED
from storage.models.plan import COORDINATING, LEAD
from storage.progress_rules import OVERDUE, REPORTED, TIMINGS, progress_sql, reported_sql, timing_sql


@dataclass(slots=True)
class Counts:
    """Counts over some tasks: what was reported, timing, progress, not updated in the period."""

    reported: Counter = field(default_factory=Counter)
    timing: Counter = field(default_factory=Counter)
    progress_sum: int = 0
    without_update: int = 0
    needing_attention: int = 0  # blocked or overdue


@dataclass(slots=True)
class TaskRef:
    """A task a summary may detail, with what a page filters, orders and pages it by: found without
    reading the task's text or its updates, so a page can choose the few it shows first.

    Not frozen: a province's summary makes thousands, and a frozen dataclass sets each field
    through object.__setattr__ (four times the cost, 5 ms of a 200 ms summary)."""

    id: int
    section_id: int
    number: int
    reported: str
    timing: str
    answering: tuple[int, ...]  # the agencies that answer for it (progress_rules.responsible)
    # Agencies linked to it as lead or partner, as far as known: every one for a co-led task (read
    # whole to be judged), only the agency the summary was asked about for the others.
    linked: tuple[int, ...] = ()

    def involves(self, agency_id: int) -> bool:
        return agency_id in self.linked


@dataclass(slots=True)
class Counted:
    plan: Counts  # every one-lead task once
    unassigned: int  # of those, tasks no agency answers for
    by_agency: dict[int, Counts]  # every one-lead task each agency answers for
    last_update_at: dict[int, dt.datetime]  # each agency's newest latest word, any task
    candidates: list[TaskRef]  # one-lead tasks to detail: blocked, overdue, or the agency's asked for
    co_led: set[int]  # judged (and counted) in Python


def local_midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """The UTC instant a local calendar day begins (periods are local days; columns hold UTC)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)


async def count_plan(
    conn: AsyncConnection,
    plan_id: int,
    *,
    cycle: dt.date | None,
    starts_at: dt.datetime,
    ends_before: dt.datetime,
    as_of: dt.date,
    tz: dt.tzinfo,
    agency_id: int | None,
    candidates: bool = True,
    version: object,
    newest_likely: bool,
) -> Counted:
    """Count the plan's tasks as they stood in the period (see storage.summary for its terms);
    without `candidates`, name none of them (a page of figures only). `version` names the plan's
    tasks as imported (`Plan.imported_at`), so their end dates are read once per version.
    `newest_likely` says the cycle asked is likely the one of the plan's newest words (not one
    that has closed): a guess that only chooses which statement runs first."""
    params = {
        "plan_id": plan_id,
        "starts_at": starts_at,
        "ends_before": ends_before,
        "as_of": as_of,
        "agency_id": agency_id,
    }
    if cycle is not None:
        params["cycle"] = cycle
    # Done by the end date: recorded before the local day after it began. A plan has a few dozen
    # end dates at most, each turned into its UTC instant here, so any time zone (DST too) is exact.
    ends = await _end_dates(conn, plan_id, version)
    for n, day in enumerate(ends):
        params[f"end_{n}"] = local_midnight(day + dt.timedelta(days=1), tz)
    shape = (conn.dialect.name, cycle is not None, agency_id is not None, ends, candidates)
    # Asked about the cycle of its newest words (the usual question: this cycle's report), each
    # task's newest word is its word in the cycle, and the statement need not seek an older one.
    # The statement says whether that held; where it did not, it runs again the general way, and
    # the cycle is remembered as one with newer words (words are only added).
    past_cycles = _remembered(conn).setdefault("past_cycles", set())
    newest_only = cycle is not None and newest_likely and (plan_id, cycle) not in past_cycles
    statement, last = _count_statements(*shape, newest_only)
    rows = (await conn.execute(statement, params)).all()
    if newest_only and any(row.newest_cycle is not None and row.newest_cycle > cycle for row in rows):
        past_cycles.add((plan_id, cycle))
        statement, last = _count_statements(*shape, False)
        rows = (await conn.execute(statement, params)).all()

    # Summed as plain lists of numbers, made into Counts once per agency.
    groups, unassigned, by_agency = [], 0, {}
    refs, co_led = [], set()
    asked = (agency_id,)
    for section_id, section_agency, other, *figures, _newest, unled, wanted, co_led_ids in rows:
        groups.append(figures)
        unassigned += unled
        for key in (section_agency, other):
            if key is not None:
                found = by_agency.get(key)
                by_agency[key] = (
                    figures if found is None else [a + b for a, b in zip(found, figures, strict=True)]
                )
        if wanted:
            answering = tuple(key for key in (section_agency, other) if key is not None)
            for text in wanted.split(","):
                task_id, number, reported, timing, *own = text.split(" ")
                refs.append(
                    TaskRef(
                        int(task_id),
                        section_id,
                        int(number),
                        reported,
                        timing,
                        answering,
                        asked if own and own[0] == "1" else (),
                    )
                )
        if co_led_ids:
            co_led.update(map(int, co_led_ids.split(",")))
    # Column by column, each group once: every task is in exactly one group.
    plan = [sum(column) for column in zip(*groups, strict=True)] if groups else [0] * _FIGURES
    last_update_at = {
        key: moment for key, moment in (await conn.execute(last, params)).all() if moment is not None
    }
    by_agency = {key: _counts(figures) for key, figures in by_agency.items()}
    return Counted(_counts(plan), unassigned, by_agency, last_update_at, refs, co_led)


def _remembered(conn: AsyncConnection) -> dict:
    """What the summary learnt of this database through this connection (it lives as long as the
    pooled connection, so it never outlives or crosses its database): the plans and cycles known
    to have words of a later cycle, and each plan version's end dates. Both only spare a
    statement; forgetting them costs time, never a wrong figure."""
    return conn.info.setdefault("summary_sql", {})


async def _end_dates(conn: AsyncConnection, plan_id: int, version: object) -> tuple[dt.date, ...]:
    """Every end date of the plan's tasks, archived ones too (a date no task has left costs one
    branch of a CASE). Tasks are written by an import only, which moves `Plan.imported_at`, so
    the dates of one version are read once: reading them scans the whole task table."""
    known = _remembered(conn).setdefault("end_dates", {})
    kept = known.get(plan_id)
    if kept is not None and kept[0] == version:
        return kept[1]
    ends = tuple(
        day
        for (day,) in await conn.execute(
            # In order: the dates shape the statement, built once per shape (_count_statements).
            select(Task.end_on)
            .where(Task.plan_id == plan_id, Task.end_on.is_not(None))
            .distinct()
            .order_by(Task.end_on)
        )
    )
    known[plan_id] = (version, ends)
    return ends


def _existed():
    """The plan's tasks that were part of it in the period (bound: plan_id, starts_at)."""
    return and_(
        Task.plan_id == bindparam("plan_id"),
        or_(Task.archived_at.is_(None), Task.archived_at >= bindparam("starts_at", type_=UTCDateTime())),
    )


@functools.lru_cache(maxsize=64)
def _count_statements(
    dialect: str,
    by_cycle: bool,
    with_agency: bool,
    ends: tuple[dt.date, ...],
    candidates: bool = True,
    newest_only: bool = False,
):
    """The counting statement and the one finding each agency's newest word, for one shape of
    question, its values bound (plan_id, starts_at, ends_before, as_of, cycle, agency_id, and the
    instant each end date's day is over as end_0, end_1…). With `newest_only` (a cycle asked),
    each task's newest word is taken as its word in the cycle, and `newest_cycle` is each group's
    newest cycle, to check that against (NULL otherwise).

    Built once per shape: building them (their subqueries' columns above all) took about 6 ms
    each time."""
    existed = _existed()
    cycle = bindparam("cycle", type_=Date()) if by_cycle else None
    joins, word, updated = _task_word(
        dialect,
        existed,
        cycle,
        bindparam("starts_at", type_=UTCDateTime()),
        bindparam("ends_before", type_=UTCDateTime()),
        newest_only,
    )
    boundary = case(
        {day: bindparam(f"end_{n}", type_=UTCDateTime()) for n, day in enumerate(ends)},
        value=Task.end_on,
    )
    done_by_end = word.created_at < boundary if ends else literal(False)
    # The task's lead: its one lead agency, NO_LEAD, or CO_LED_MARK for several, kept on the task
    # by the database (migration 0021) where a subquery per task was a quarter of this statement.
    lead = Task.lead
    columns = [
        Task.id.label("task_id"),
        Task.section_id.label("section_id"),
        Task.number.label("number"),
        Section.agency_id.label("section_agency"),
        lead.label("lead"),
        reported_sql(word.status).label("reported"),
        timing_sql(Task.end_on, word.status, done_by_end, bindparam("as_of", type_=Date())).label("timing"),
        progress_sql(word.status, word.percent).label("progress"),
        case((updated, 0), else_=1).label("stale"),
    ]
    if newest_only:
        columns.append(word.cycle.label("cycle"))
    if with_agency:
        # The tasks it leads and those it helps with: its page lists both. Not correlated: the
        # database lists its few tasks once, not a probe for each task.
        own = Task.id.in_(
            select(TaskAgency.task_id).where(
                TaskAgency.agency_id == bindparam("agency_id"), TaskAgency.role.in_((LEAD, COORDINATING))
            )
        )
        columns.append(case((own, 1), else_=0).label("own"))
    standing = select(*columns).join(Section, Section.id == Task.section_id)
    for target, joined in joins:
        standing = standing.outerjoin(target, joined)
    standing = (
        standing.where(existed)
        # Skips nothing: an OFFSET keeps SQLite from merging this query into the one that groups
        # it, which would work out each column again for every aggregate that reads it.
        .offset(0)
        .subquery("standing")
    )
    s = standing.c
    # Who answers for a task: its section's agency and its lead (progress_rules.responsible). One
    # group per section and lead from elsewhere; the plan's figures and each agency's are sums of
    # groups, in one pass over the tasks.
    # Constants written into the statement: PostgreSQL matches the grouped expression by its text.
    no_lead = literal_column(str(NO_LEAD))
    led_elsewhere = and_(s.lead > no_lead, or_(s.section_agency.is_(None), s.lead != s.section_agency))
    elsewhere = case((led_elsewhere, s.lead), else_=literal_column("NULL"))
    one_lead = s.lead != CO_LED_MARK
    sums = [func.count().filter(and_(one_lead, s.reported == status)) for status in REPORTED]
    sums += [func.count().filter(and_(one_lead, s.timing == timing)) for timing in TIMINGS]
    attention = or_(s.reported == BLOCKED, s.timing == OVERDUE)
    sums += [
        # A group of co-led tasks only sums nothing: 0 here, not NULL, spares a test per figure.
        func.coalesce(func.sum(s.progress).filter(one_lead), 0),
        func.coalesce(func.sum(s.stale).filter(one_lead), 0),
        func.count().filter(and_(one_lead, attention)),
    ]
    unled = func.count().filter(and_(s.lead == NO_LEAD, s.section_agency.is_(None)))
    wanted = attention
    if with_agency:
        wanted = or_(wanted, s.section_agency == bindparam("agency_id"), s.own == 1)
    ids = cast(s.task_id, String)
    # A candidate as "id number reported timing own": what a page filters and orders it by.
    space = literal_column("' '")
    ref = ids.concat(space).concat(cast(s.number, String)).concat(space).concat(s.reported)
    ref = ref.concat(space).concat(s.timing)
    if with_agency:
        ref = ref.concat(space).concat(cast(s.own, String))
    statement = select(
        s.section_id,
        s.section_agency,
        elsewhere,
        *sums,
        (func.max(s.cycle) if newest_only else literal_column("NULL")).label("newest_cycle"),
        unled,
        func.aggregate_strings(ref, ",").filter(and_(one_lead, wanted))
        if candidates
        else literal_column("NULL"),
        func.aggregate_strings(ids, ",").filter(~one_lead),
    ).group_by(s.section_id, s.section_agency, elsewhere)

    if by_cycle:
        # Each agency's newest kept word, from its newest row back through
        # ix_progress_latest_agency_created: a step or two per agency, where grouping read every
        # kept row of the plan.
        kept, chosen = kept_in_cycle(existed, cycle)
        newest = (
            select(kept.created_at)
            .join(Task, Task.id == kept.task_id)
            .where(kept.agency_id == Agency.id, chosen)
            .order_by(kept.created_at.desc())
            .limit(1)
            .correlate(Agency)
            .scalar_subquery()
        )
        last = select(Agency.id, newest)
    else:
        pu = ProgressUpdate
        chosen = latest_ids(dialect, existed, before=bindparam("ends_before", type_=UTCDateTime()))
        last = select(pu.agency_id, func.max(pu.created_at)).join(chosen, chosen.c.id == pu.id)
        last = last.group_by(pu.agency_id)
    return statement, last


_FIGURES = len(REPORTED) + len(TIMINGS) + 3


# What `lead` says of a task that has no lead, or several (agency ids are positive).
NO_LEAD, CO_LED_MARK = 0, -1


def _task_word(dialect: str, existed, cycle: dt.date | None, starts_at, ends_before, newest_only=False):
    """The newest word anyone said on each task (the one-lead rule's word): what to join to `Task`,
    on what, its columns, and whether the word falls in the period."""
    if cycle is not None and newest_only:
        newest = aliased(TaskLatest, name="newest")
        return [(newest, newest.task_id == Task.id)], newest, newest.cycle == cycle
    if cycle is not None:
        # Each task's newest word of all is kept (task_latest): read by the task's key, it is the
        # word whenever its cycle is not after the one asked, as for the current cycle. Otherwise
        # the newest kept row not after `cycle` is sought (ix_progress_latest_task_cycle); the
        # seek runs only for those tasks.
        newest = aliased(TaskLatest, name="newest")
        kept = aliased(LatestInCycle)
        older = newest.cycle > cycle
        if dialect == "postgresql":
            seek = (
                select(kept.status, kept.percent, kept.created_at, kept.cycle)
                .where(kept.task_id == Task.id, kept.cycle <= cycle, older)
                .order_by(kept.cycle.desc(), kept.update_id.desc())
                .limit(1)
                .lateral("word")
            )
            joins = [(newest, newest.task_id == Task.id), (seek, true())]
            found = seek.c
        else:
            # SQLite has no LATERAL: the seek finds the row's rowid (carried by the index), the row
            # is joined by it, and a CASE keeps the seek from running where it is not needed.
            table = LatestInCycle.__table__
            rows, found = table.alias("seek"), table.alias("word")
            chosen = (
                select(literal_column("seek.rowid"))
                .select_from(rows)
                .where(rows.c.task_id == Task.id, rows.c.cycle <= cycle)
                .order_by(rows.c.cycle.desc(), rows.c.update_id.desc())
                .limit(1)
                .correlate(Task)
                .scalar_subquery()
            )
            joins = [
                (newest, newest.task_id == Task.id),
                (found, literal_column("word.rowid") == case((older, chosen))),
            ]
            found = found.c
        word = SimpleNamespace(
            **{
                name: case((older, getattr(found, name)), else_=getattr(newest, name))
                for name in ("status", "percent", "created_at", "cycle")
            }
        )
        return joins, word, word.cycle == cycle
    pu = ProgressUpdate
    chosen = latest_ids(dialect, existed, before=ends_before)
    ranked = (
        select(
            pu.task_id,
            pu.status,
            pu.percent,
            pu.created_at,
            func.row_number()
            .over(partition_by=pu.task_id, order_by=(pu.created_at.desc(), pu.id.desc()))
            .label("rank"),
        )
        .join(chosen, chosen.c.id == pu.id)
        .subquery("ranked")
    )
    word = select(ranked).where(ranked.c.rank == 1).subquery("word")
    in_period = and_(word.c.created_at >= starts_at, word.c.created_at < ends_before)
    return [(word, word.c.task_id == Task.id)], word.c, in_period


def _counts(values) -> Counts:
    rest = len(REPORTED) + len(TIMINGS)
    return Counts(
        _counter(REPORTED, values),
        _counter(TIMINGS, values[len(REPORTED) :]),
        int(values[rest]),
        int(values[rest + 1]),
        int(values[rest + 2]),
    )


def _counter(names, values) -> Counter:
    # Item by item: Counter(mapping) checks its argument against the Mapping ABC, which costs
    # more than the few items themselves, thousands of times over. Made empty without __init__,
    # which only calls update(None): 0.7 of its 1.7 µs, two per agency of a province.
    counter = Counter.__new__(Counter)
    for name, n in zip(names, values, strict=False):
        if n:
            counter[name] = n
    return counter
