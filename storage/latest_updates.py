"""Which update is each agency's latest word on a task: the ids, as a subquery the summary joins.

In cycle mode the word is the agency's newest update among those counted towards the cycle or an
earlier one, the latest cycle first: `progress_latest` (storage.models.people.LatestInCycle) holds
the newest per cycle, so the newest cycle not after the one asked is one more index seek. In range
mode (recorded before an instant, the latest recorded first) no table can hold the answer for every
instant, and the update index is walked instead: one seek per task and agency.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, func, or_, select, true
from sqlalchemy.orm import aliased

from storage.models import LatestInCycle, ProgressUpdate, Task


def latest_ids(dialect: str, which, *, cycle: dt.date | None = None, before: dt.datetime | None = None):
    """A subquery of update ids (column `id`), one per agency that spoke on each task `which`
    selects (a condition on `Task`)."""
    if cycle is not None:
        return _latest_in_cycle(which, cycle)
    return _latest_recorded(dialect, which, before)


def kept_in_cycle(which, cycle: dt.date):
    """Each agency's word on each task `which` selects, as of `cycle`: an alias of the kept rows
    (to select from, joined to `Task`) and the condition that picks them."""
    kept, newer = aliased(LatestInCycle), aliased(LatestInCycle)
    superseded = exists().where(
        newer.task_id == kept.task_id,
        newer.agency_id == kept.agency_id,
        newer.cycle > kept.cycle,
        newer.cycle <= cycle,
    )
    # A row of `cycle` itself has nothing newer to look for: the probe is spared for it.
    return kept, and_(which, kept.cycle <= cycle, or_(kept.cycle == cycle, ~superseded))


def _latest_in_cycle(which, cycle: dt.date):
    kept, chosen = kept_in_cycle(which, cycle)
    return select(kept.update_id.label("id")).join(Task, Task.id == kept.task_id).where(chosen).subquery()


def _latest_recorded(dialect: str, which, before: dt.datetime | None):
    """Through ix_progress_update_task_agency: walk the agencies that reported on each task (one
    seek from one agency to the next, a loose index scan written as a recursive query, the same on
    SQLite and PostgreSQL) and seek each one's latest update. A window over every update would read
    and sort them all."""
    pu = ProgressUpdate
    first, step, last = aliased(pu), aliased(pu), aliased(pu)
    pairs = select(
        Task.id.label("task_id"),
        select(func.min(first.agency_id))
        .where(first.task_id == Task.id)
        .scalar_subquery()
        .label("agency_id"),
    ).where(which)
    pairs = pairs.cte("pairs", recursive=True)
    following = (
        select(func.min(step.agency_id))
        .where(step.task_id == pairs.c.task_id, step.agency_id > pairs.c.agency_id)
        .scalar_subquery()
    )
    pairs = pairs.union_all(select(pairs.c.task_id, following).where(pairs.c.agency_id.is_not(None)))
    window = last.created_at < before if before is not None else true()
    latest = (
        select(last.id)
        .where(last.task_id == pairs.c.task_id, last.agency_id == pairs.c.agency_id, window)
        .order_by(last.created_at.desc(), last.id.desc())
        .limit(1)
    )
    if dialect == "postgresql":
        # A lateral join keeps PostgreSQL to one seek per pair; joined from a scalar subquery it
        # hashes the whole update table instead. SQLite has no LATERAL and seeks either way.
        seek = latest.lateral()
        return select(seek.c.id).select_from(pairs).join(seek, true()).subquery()
    return select(latest.scalar_subquery().label("id")).where(pairs.c.agency_id.is_not(None)).subquery()
