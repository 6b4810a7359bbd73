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
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import and_, case, exists, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from storage.latest_updates import kept_in_cycle, latest_ids
from storage.models import LatestInCycle, ProgressUpdate, Section, Task, TaskAgency
from storage.models.base import UTCDateTime
from storage.models.people import BLOCKED
from storage.models.plan import LEAD
from storage.progress_rules import OVERDUE, REPORTED, TIMINGS, progress_sql, reported_sql, timing_sql


@dataclass(slots=True)
class Counts:
    """Counts over some tasks: what was reported, timing, progress, not updated in the period."""

    reported: Counter = field(default_factory=Counter)
    timing: Counter = field(default_factory=Counter)
    progress_sum: int = 0
    without_update: int = 0


@dataclass(slots=True)
class Counted:
    plan: Counts  # every one-lead task once
    unassigned: int  # of those, tasks no agency answers for
    by_agency: dict[int, Counts]  # every one-lead task each agency answers for
    last_update_at: dict[int, dt.datetime]  # each agency's newest latest word, any task
    detail_ids: set[int]  # one-lead tasks to detail, and every co-led task
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
) -> Counted:
    """Count the plan's tasks as they stood in the period (see storage.summary for its terms)."""
    existed = and_(Task.plan_id == plan_id, or_(Task.archived_at.is_(None), Task.archived_at >= starts_at))
    lead = and_(TaskAgency.role == LEAD)
    co_led_ids = (
        select(TaskAgency.task_id)
        .where(lead)
        .group_by(TaskAgency.task_id)
        .having(func.count(func.distinct(TaskAgency.agency_id)) > 1)
    )
    target, joined, word, updated = _task_word(conn.dialect.name, existed, cycle, starts_at, ends_before)
    # Done by the end date: recorded before the local day after it began. A plan has a few dozen
    # end dates at most, each turned into its UTC instant here, so any time zone (DST too) is exact.
    ends = [day for (day,) in await conn.execute(select(Task.end_on).where(existed).distinct()) if day]
    boundary = case(
        {day: literal(local_midnight(day + dt.timedelta(days=1), tz), UTCDateTime()) for day in ends},
        value=Task.end_on,
    )
    done_by_end = word.created_at < boundary if ends else literal(False)
    leads_linked = exists().where(TaskAgency.task_id == Task.id, lead)
    standing = (
        select(
            Task.id.label("task_id"),
            Section.agency_id.label("section_agency"),
            reported_sql(word.status).label("reported"),
            timing_sql(Task.end_on, word.status, done_by_end, as_of).label("timing"),
            progress_sql(word.status, word.percent).label("progress"),
            case((updated, 0), else_=1).label("stale"),
            case((Section.agency_id.is_not(None), 0), (leads_linked, 0), else_=1).label("unassigned"),
        )
        .join(Section, Section.id == Task.section_id)
        .outerjoin(target, joined)
        .where(existed, Task.id.not_in(co_led_ids))
        .cte("standing")
    )
    sums = [func.sum(case((standing.c.reported == status, 1), else_=0)) for status in REPORTED]
    sums += [func.sum(case((standing.c.timing == timing, 1), else_=0)) for timing in TIMINGS]
    sums += [func.sum(standing.c.progress), func.sum(standing.c.stale)]
    blank = [literal(None)] * len(sums)
    # Who answers for a task: its section's agency and its leads (progress_rules.responsible). The
    # plan's figures are the sum of the section agencies' (tasks under no agency in a group of their
    # own), which spares a pass over every task.
    by_section = select(
        literal(SECTION), standing.c.section_agency, *sums, func.sum(standing.c.unassigned)
    ).group_by(standing.c.section_agency)
    by_lead = (
        select(literal(AGENCY), TaskAgency.agency_id, *sums, literal(0))
        .select_from(standing)
        .join(TaskAgency, TaskAgency.task_id == standing.c.task_id)
        .where(
            lead,
            or_(standing.c.section_agency.is_(None), TaskAgency.agency_id != standing.c.section_agency),
        )
        .group_by(TaskAgency.agency_id)
    )
    wanted = or_(standing.c.reported == BLOCKED, standing.c.timing == OVERDUE)
    if agency_id is not None:
        own = select(TaskAgency.task_id).where(TaskAgency.agency_id == agency_id, lead)
        wanted = or_(wanted, standing.c.section_agency == agency_id, standing.c.task_id.in_(own))
    detailed = select(literal(DETAIL), standing.c.task_id, *blank, literal(0)).where(wanted)
    co_led = select(literal(CO_LED), Task.id, *blank, literal(0)).where(existed, Task.id.in_(co_led_ids))

    plan, unassigned, by_agency = Counts(), 0, {}
    detail_ids, co_led_found = set(), set()
    statement = by_section.union_all(by_lead, detailed, co_led)
    for row in await conn.execute(statement):
        kind, key = row[0], row[1]
        if kind == SECTION:
            counts = _counts(row[2:-1])
            plan, unassigned = _add(plan, counts), unassigned + int(row[-1] or 0)
            if key is not None:
                by_agency[key] = _add(by_agency.get(key, Counts()), counts)
        elif kind == AGENCY:
            by_agency[key] = _add(by_agency.get(key, Counts()), _counts(row[2:-1]))
        elif kind == DETAIL:
            detail_ids.add(key)
        else:
            co_led_found.add(key)

    if cycle is not None:
        kept, chosen = kept_in_cycle(existed, cycle)
        last = (
            select(kept.agency_id, func.max(kept.created_at))
            .join(Task, Task.id == kept.task_id)
            .where(chosen)
            .group_by(kept.agency_id)
        )
    else:
        pu = ProgressUpdate
        chosen = latest_ids(conn.dialect.name, existed, before=ends_before)
        last = select(pu.agency_id, func.max(pu.created_at)).join(chosen, chosen.c.id == pu.id)
        last = last.group_by(pu.agency_id)
    last_update_at = {key: moment for key, moment in await conn.execute(last)}
    return Counted(plan, unassigned, by_agency, last_update_at, detail_ids | co_led_found, co_led_found)


SECTION, AGENCY, DETAIL, CO_LED = 0, 1, 2, 3


def _task_word(dialect: str, existed, cycle: dt.date | None, starts_at, ends_before):
    """The newest word anyone said on each task (the one-lead rule's word): what to join to `Task`,
    on what, its columns, and whether the word falls in the period."""
    if cycle is not None:
        # Each agency's newest per cycle is kept; the newest of those not after `cycle` is the
        # task's word: one seek per task through ix_progress_latest_task_cycle.
        kept = aliased(LatestInCycle)
        newest = (
            select(kept.update_id, kept.status, kept.percent, kept.created_at, kept.cycle)
            .where(kept.task_id == Task.id, kept.cycle <= cycle)
            .order_by(kept.cycle.desc(), kept.update_id.desc())
            .limit(1)
        )
        if dialect == "postgresql":
            word = newest.lateral("word")
            return word, true(), word.c, word.c.cycle == cycle
        # SQLite has no LATERAL: the seek finds the row's id, and the row is joined by it.
        found = aliased(LatestInCycle)
        chosen = newest.with_only_columns(kept.update_id).correlate(Task).scalar_subquery()
        return found, found.update_id == chosen, found, found.cycle == cycle
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
    return word, word.c.task_id == Task.id, word.c, in_period


def _add(one: Counts, other: Counts) -> Counts:
    return Counts(
        one.reported + other.reported,
        one.timing + other.timing,
        one.progress_sum + other.progress_sum,
        one.without_update + other.without_update,
    )


def _counts(values) -> Counts:
    reported = Counter({status: int(n) for status, n in zip(REPORTED, values, strict=False) if n})
    timing = Counter({t: int(n) for t, n in zip(TIMINGS, values[len(REPORTED) :], strict=False) if n})
    progress, stale = values[len(REPORTED) + len(TIMINGS) :]
    return Counts(reported, timing, int(progress or 0), int(stale or 0))
