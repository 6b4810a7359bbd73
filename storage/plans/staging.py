"""A plan import in short transactions: staged out of sight, then swapped in at once.

A plan of tens of thousands of tasks takes a minute or more to write on a small machine. Written in
one transaction it would hold SQLite's write lock all that time, and every chat write would wait
for it. `import_staged` writes the same rows `import_parsed_plan` would, in this order:

1. the agencies the plan names are resolved (a few hundred names at most) and a hidden plan row is
   created that says who is staging it (`Plan.staged_by`): one short transaction;
2. a revision of a stored plan is worked out in memory, from a read snapshot, by the very code
   `import_parsed_plan` runs (`revise_plan`), told not to flush;
3. the new rows (every section and task of a first import; the new sections and tasks of a
   revision) are written under the hidden plan, `chunk` tasks per transaction;
4. one short transaction swaps them in: a first import makes the hidden plan visible; a revision
   updates the stored rows by primary key, moves the staged rows into the stored plan and deletes
   the hidden one, provided the stored plan is still at the revision it was worked out from.

Readers never see a staged row: every query of plans carries `visible()`, and sections and tasks are
reached through their plan. A failure discards what was staged. A process killed mid-import leaves
its rows behind, hidden; the next import or the next start of the bot discards them, in chunks too
(`discard_abandoned`), along with the agencies that import registered and nothing else uses.
Two imports of one plan both stage; the first to swap wins, the other is refused with
`ImportConflict` and changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from storage.db import Database
from storage.models import Agency, Plan, Section, Task, TaskAgency, utcnow
from storage.models.base import Base
from storage.models.plan import AgencyAlias, visible
from storage.plans.importer import (
    CREATED,
    UNCHANGED,
    ImportReport,
    PlanChanges,
    Resolved,
    _check_fits,
    _refuse_other_year,
    find_plan_id,
    import_report,
    issuer_key,
    new_plan,
    new_section,
    resolve_plan_agencies,
    revise_plan,
)
from storage.plans.limits import IMPORT_CHUNK_TASKS
from storage.plans.model import ParsedPlan
from storage.plans.notices import N_, PlanFormatError
from storage.plans.parser import parse_plan_file

log = logging.getLogger(__name__)

CHUNK_TASKS = IMPORT_CHUNK_TASKS
# A staging whose process cannot be checked (another host) and that has not written for this long
# is taken for abandoned. Every chunk refreshes `staged_at`, so a live import is never near it.
STALE_AFTER = dt.timedelta(minutes=10)
# Parameters in one IN list: under SQLite's and PostgreSQL's limits on bound parameters.
_IN_LIST = 5000
# SQLite's write lock is not fair: a writer waiting in its busy handler looks again only every 100 ms
# or so, and would keep missing a lock the import takes again the moment it commits. Between two
# chunks the import leaves it free this long, so that a waiting chat write gets its turn.
CHUNK_PAUSE_SECONDS = 0.12
# PostgreSQL advisory lock held while an import registers agencies ("nhacviec" in ASCII).
_AGENCY_LOCK = 0x6E6861637669
# Where a renumbered task waits while the others move (numbers are unique within a section).
_PARKED = 2**30


class ImportConflict(PlanFormatError):
    """Another import of the same plan was swapped in first; this one changed nothing."""


class ImportAbandoned(Exception):
    """This import's staged rows were discarded under it (taken for abandoned by another process)."""


def _conflict(parsed: ParsedPlan) -> ImportConflict:
    return ImportConflict(
        N_(
            "another import of plan {number} ({year}) finished while this one was being written; this file "
            "was not applied and the database keeps the other import. Import the file again to apply it "
            "on top of that one"
        ),
        number=parsed.number,
        year=parsed.year,
    )


# --- Who is staging ---------------------------------------------------------------------------

# The stagings this process is writing now: its own leftovers (a failure whose clean-up failed too)
# are the ones not in here.
_RUNNING: set[str] = set()


def _new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # A killed child its parent has not waited for yet still answers the signal: a zombie.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def abandoned(owner: str, staged_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether the staging `owner` wrote is dead: its process, on this host, is gone (or is this
    process, which is not writing it), or it has not written for `STALE_AFTER`."""
    host, pid, _nonce = ([*owner.rsplit(":", 2), "", ""])[:3]
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return owner not in _RUNNING
        if not _process_alive(int(pid)):
            return True
    return staged_at is None or now - staged_at > STALE_AFTER


# --- Discarding -------------------------------------------------------------------------------


def _agency_references():
    """Every column that points at an agency, but its own aliases: an agency the import registered
    is kept when anything else uses it by the time the import is discarded."""
    for table in Base.metadata.sorted_tables:
        if table.name == "agency_alias":
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "agency":
                yield fk.parent


async def _drop_unused_agencies(session, agency_ids: Iterable[int]) -> None:
    columns = list(_agency_references())
    for agency_id in agency_ids:
        used = False
        for column in columns:
            if await session.scalar(select(column).where(column == agency_id).limit(1)) is not None:
                used = True
                break
        if not used:
            await session.execute(delete(AgencyAlias).where(AgencyAlias.agency_id == agency_id))
            await session.execute(delete(Agency).where(Agency.id == agency_id))


async def _still_staging(session, plan_id: int, owner: str) -> bool:
    return await session.scalar(select(Plan.staged_by).where(Plan.id == plan_id)) == owner


async def discard(db: Database, plan_id: int, owner: str, *, chunk: int = CHUNK_TASKS) -> None:
    """Delete a staging (its tasks in chunks, then its sections, row and unused agencies). Does
    nothing once the plan is no longer staged by `owner`: swapped in, or discarded already."""
    while True:
        await _let_others_write(db)
        async with db.transaction() as session:
            if not await _still_staging(session, plan_id, owner):
                return
            ids = list(
                (await session.scalars(select(Task.id).where(Task.plan_id == plan_id).limit(chunk * 2))).all()
            )
            if ids:
                await session.execute(delete(TaskAgency).where(TaskAgency.task_id.in_(ids)))
                await session.execute(delete(Task).where(Task.id.in_(ids)))
                continue
            agencies = await session.scalar(select(Plan.staged_agencies).where(Plan.id == plan_id))
            await session.execute(delete(Section).where(Section.plan_id == plan_id))
            await session.execute(delete(Plan).where(Plan.id == plan_id))
            await _drop_unused_agencies(session, agencies or [])
            return


async def discard_abandoned(db: Database, *, chunk: int = CHUNK_TASKS) -> int:
    """Discard the stagings of imports that died (killed, or their host lost); how many."""
    async with db.snapshot() as session:
        rows = (
            await session.execute(
                select(Plan.id, Plan.staged_by, Plan.staged_at).where(Plan.staged_by.is_not(None))
            )
        ).all()
    now = utcnow()
    dead = [(plan_id, owner) for plan_id, owner, at in rows if abandoned(owner, at, now)]
    for plan_id, owner in dead:
        log.info("discarding the rows of an abandoned plan import (%s)", owner)
        await discard(db, plan_id, owner, chunk=chunk)
    return len(dead)


# --- A revision worked out in memory ----------------------------------------------------------


def _values(row, *, skip: tuple[str, ...] = ()) -> dict[str, object]:
    # Deferred columns are the database's own (task.lead, kept by triggers from the links): never
    # copied, and never loaded just to be copied.
    return {
        column.key: getattr(row, column.key)
        for column in row.__mapper__.column_attrs
        if column.key not in ("id", *skip) and not column.deferred
    }


def _links(task: Task) -> list[tuple[int, str, int]]:
    return [
        (link.agency_id, link.role, link.position) for link in sorted(task.links, key=lambda x: x.position)
    ]


@dataclass
class _NewTask:
    values: dict[str, object]
    links: list[tuple[int, str, int]]

    @classmethod
    def of(cls, task: Task) -> _NewTask:
        return cls(_values(task, skip=("plan_id", "section_id")), _links(task))


@dataclass
class _StagedSection:
    """Staged under the hidden plan: a new section (`into` None), moved into the stored plan at the
    swap; or a carrier of new tasks for the stored section `into`."""

    values: dict[str, object]
    tasks: list[_NewTask]
    into: int | None = None
    staged_id: int | None = None


@dataclass
class _Writes:
    """What the swap writes into a stored plan; the new rows come staged."""

    plan: dict[str, object] = field(default_factory=dict)
    sections: list[dict[str, object]] = field(default_factory=list)
    parked: list[int] = field(default_factory=list)
    tasks: list[dict[str, object]] = field(default_factory=list)
    links: dict[int, list[tuple[int, str, int]]] = field(default_factory=dict)


@dataclass
class _Before:
    plan: dict[str, object]
    sections: dict[int, dict[str, object]]
    tasks: dict[int, dict[str, object]]
    links: dict[int, list[tuple[int, str, int]]]

    @classmethod
    def of(cls, plan: Plan) -> _Before:
        tasks = [task for section in plan.sections for task in section.tasks]
        return cls(
            _values(plan),
            {section.id: _values(section) for section in plan.sections},
            {task.id: _values(task) for task in tasks},
            {task.id: _links(task) for task in tasks},
        )


def _changed(before: dict[str, object], after: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in after.items() if before.get(key) != value}


def _work_out(before: _Before, plan: Plan) -> tuple[_Writes, list[_StagedSection]]:
    """The writes that take the stored plan from `before` to `plan` as revised in memory."""
    writes = _Writes(plan=_changed(before.plan, _values(plan)))
    staged: list[_StagedSection] = []
    for section in plan.sections:
        if section.id is None:
            values = _values(section, skip=("plan_id",))
            staged.append(_StagedSection(values, [_NewTask.of(t) for t in section.tasks]))
            continue
        if changed := _changed(before.sections[section.id], _values(section)):
            writes.sections.append({"id": section.id, **changed})
        new_tasks = []
        for task in section.tasks:
            if task.id is None:
                new_tasks.append(_NewTask.of(task))
                continue
            changed = _changed(before.tasks[task.id], _values(task))
            if "number" in changed:
                writes.parked.append(task.id)
            if changed:
                writes.tasks.append({"id": task.id, **changed})
            if _links(task) != before.links[task.id]:
                writes.links[task.id] = _links(task)
        if new_tasks:
            carrier = {"numeral": section.numeral, "position": section.position, "heading": section.heading}
            staged.append(_StagedSection(carrier, new_tasks, into=section.id))
    return writes, staged


async def _nothing() -> None:
    """The flush of a revision worked out in memory: nothing is written there."""


# --- Writing ----------------------------------------------------------------------------------


def _chunks(items: list, size: int):
    for at in range(0, len(items), size):
        yield items[at : at + size]


async def _let_others_write(db: Database) -> None:
    if db.sqlite:
        await asyncio.sleep(CHUNK_PAUSE_SECONDS)


async def _heartbeat(session, plan_id: int, owner: str) -> None:
    touched = await session.execute(
        update(Plan).where(Plan.id == plan_id, Plan.staged_by == owner).values(staged_at=utcnow())
    )
    if touched.rowcount != 1:
        raise ImportAbandoned(owner)


async def _stage(db: Database, plan_id: int, owner: str, sections: list[_StagedSection], chunk: int) -> None:
    """The staged sections in one transaction, then their tasks `chunk` at a time."""
    async with db.transaction() as session:
        await _heartbeat(session, plan_id, owner)
        for staged in sections:
            row = Section(plan_id=plan_id, **staged.values)
            session.add(row)
            await session.flush()
            staged.staged_id = row.id
    tasks = [(staged.staged_id, task) for staged in sections for task in staged.tasks]
    for part in _chunks(tasks, chunk):
        await _let_others_write(db)
        async with db.transaction() as session:
            await _heartbeat(session, plan_id, owner)
            for section_id, task in part:
                row = Task(plan_id=plan_id, section_id=section_id, **task.values)
                row.links = [TaskAgency(agency_id=a, role=r, position=p) for a, r, p in task.links]
                session.add(row)
    await _let_others_write(db)  # and before the swap


async def _bulk_update(session, model, rows: list[dict[str, object]]) -> None:
    # One statement per set of columns changed (the ORM's update by primary key wants them alike).
    groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for group in groups.values():
        for part in _chunks(group, _IN_LIST):
            await session.execute(update(model), part)


async def _swap_in_revision(
    session, live_id: int, base_revision: int, staged_id: int, writes: _Writes, staged: list[_StagedSection]
) -> bool:
    """Apply a revision to the stored plan; False when another import changed it first."""
    bumped = await session.execute(
        update(Plan)
        .where(Plan.id == live_id, Plan.revision == base_revision, visible())
        .values(**writes.plan)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount != 1:
        return False
    await _bulk_update(session, Section, writes.sections)
    for part in _chunks(writes.parked, _IN_LIST):
        await session.execute(
            update(Task)
            .where(Task.id.in_(part))
            .values(number=-Task.id - _PARKED)
            .execution_options(synchronize_session=False)
        )
    await _bulk_update(session, Task, writes.tasks)
    changed_links = list(writes.links)
    for part in _chunks(changed_links, _IN_LIST):
        await session.execute(delete(TaskAgency).where(TaskAgency.task_id.in_(part)))
    rows = [
        {"task_id": task_id, "agency_id": a, "role": r, "position": p}
        for task_id, links in writes.links.items()
        for a, r, p in links
    ]
    for part in _chunks(rows, _IN_LIST):
        await session.execute(insert(TaskAgency), part)
    for section in staged:
        if section.into is None:
            await session.execute(
                update(Section)
                .where(Section.id == section.staged_id)
                .values(plan_id=live_id)
                .execution_options(synchronize_session=False)
            )
            target = section.staged_id
        else:
            target = section.into
        await session.execute(
            update(Task)
            .where(Task.section_id == section.staged_id)
            .values(plan_id=live_id, section_id=target)
            .execution_options(synchronize_session=False)
        )
    await session.execute(delete(Section).where(Section.plan_id == staged_id))
    await session.execute(delete(Plan).where(Plan.id == staged_id))
    return True


async def _swap_in_new_plan(session, staged_id: int, resolved: Resolved) -> bool:
    """Make a first import's hidden plan the plan; False when the plan exists by now."""
    parsed = resolved.parsed
    if await find_plan_id(session, resolved.issuer, parsed.number, parsed.year) is not None:
        return False
    await session.execute(
        update(Plan)
        .where(Plan.id == staged_id)
        .values(
            issuer_key=issuer_key(resolved.issuer),
            staged_by=None,
            staged_at=None,
            staged_agencies=None,
            imported_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return True


async def import_staged(
    db: Database,
    parsed: ParsedPlan,
    *,
    default_issuer: str = "",
    now: dt.datetime | None = None,
    chunk: int = CHUNK_TASKS,
) -> ImportReport:
    """`import_parsed_plan` in short transactions (see the module's docstring): the same report,
    the same rows; raises PlanFormatError for a plan it refuses and ImportConflict when another
    import of the plan finished first, having changed nothing visible either way."""
    now = now or utcnow()
    _check_fits(parsed)
    await discard_abandoned(db, chunk=chunk)
    owner = _new_owner()
    _RUNNING.add(owner)
    staged_id: int | None = None
    try:
        async with db.transaction() as session:
            if not db.sqlite:
                # Two imports naming the same new agency would both register it: one at a time here
                # (SQLite's write lock already does that), so that the second finds the first's.
                await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AGENCY_LOCK})
            issuer = parsed.issuer or default_issuer
            live_id = await find_plan_id(session, issuer, parsed.number, parsed.year)
            base_revision = 0
            if live_id is not None:
                live = await session.get(Plan, live_id)
                _refuse_other_year(live, parsed)
                base_revision = live.revision
            resolved = await resolve_plan_agencies(session, parsed, default_issuer=default_issuer)
            hidden = new_plan(resolved)
            # Out of the way of the plan's identity (issuer, number, year) until the swap.
            hidden.issuer_key = f"staged {owner}"
            hidden.staged_by, hidden.staged_at = owner, utcnow()
            hidden.staged_agencies = [agency.id for agency in resolved.agencies.new]
            session.add(hidden)
            await session.flush()
            staged_id = hidden.id

        if live_id is None:
            sections = [
                _StagedSection(
                    _values(new_section(staged_id, w), skip=("plan_id",)),
                    [_NewTask(t.values(), [(a, r, p) for p, (a, r) in enumerate(t.links)]) for t in w.tasks],
                )
                for w in resolved.wanted
            ]
            await _stage(db, staged_id, owner, sections, chunk)
            try:
                async with db.transaction() as session:
                    await _heartbeat(session, staged_id, owner)
                    swapped = await _swap_in_new_plan(session, staged_id, resolved)
                    if not swapped:
                        raise _conflict(parsed)
            except IntegrityError as exc:
                # Two first imports swapping at once on PostgreSQL: the plan's identity is unique.
                raise _conflict(parsed) from exc
            hidden.staged_by = None
            return import_report(resolved, hidden, CREATED, PlanChanges())

        async with db.snapshot() as session:
            plan = await session.scalar(
                select(Plan)
                .options(selectinload(Plan.sections).selectinload(Section.tasks))
                .where(Plan.id == live_id)
            )
            if plan.revision != base_revision:
                raise _conflict(parsed)
            with session.no_autoflush:
                before = _Before.of(plan)
                status, changes = await revise_plan(session, plan, resolved, now, flush=_nothing)
                writes, sections = _work_out(before, plan)
        if status == UNCHANGED:
            await discard(db, staged_id, owner, chunk=chunk)
            if writes.plan:
                # A plan stored before its last deadline was recorded gets it, as a direct import does.
                async with db.transaction() as session:
                    await session.execute(
                        update(Plan)
                        .where(Plan.id == live_id, Plan.revision == base_revision)
                        .values(**writes.plan)
                        .execution_options(synchronize_session=False)
                    )
            return import_report(resolved, plan, UNCHANGED, changes)
        await _stage(db, staged_id, owner, sections, chunk)
        async with db.transaction() as session:
            await _heartbeat(session, staged_id, owner)
            if not await _swap_in_revision(session, live_id, base_revision, staged_id, writes, sections):
                raise _conflict(parsed)
        return import_report(resolved, plan, status, changes)
    except BaseException:
        if staged_id is not None:
            try:
                await discard(db, staged_id, owner, chunk=chunk)
            except Exception:
                # Left for the next import or start to discard: it stays hidden meanwhile.
                log.exception("could not discard the rows of a failed plan import")
        raise
    finally:
        _RUNNING.discard(owner)


async def import_file_staged(
    db: Database, path: str | Path, *, default_issuer: str = "", now: dt.datetime | None = None
) -> ImportReport:
    return await import_staged(db, parse_plan_file(path), default_issuer=default_issuer, now=now)


async def import_file_if_empty(
    db: Database, path: str | Path, *, default_issuer: str = "", now: dt.datetime | None = None
) -> ImportReport | None:
    """Import `path` when the database holds no plan yet (the quick start's first run)."""
    async with db.snapshot() as session:
        if await session.scalar(select(Plan.id).where(visible()).limit(1)) is not None:
            return None
    return await import_file_staged(db, path, default_issuer=default_issuer, now=now)


__all__ = [
    "CHUNK_TASKS",
    "ImportAbandoned",
    "ImportConflict",
    "discard_abandoned",
    "import_file_if_empty",
    "import_file_staged",
    "import_staged",
]
