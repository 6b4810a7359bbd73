"""`import_plan_file`: a plan file into the database, idempotently.

A plan is identified by its issuer, number and year: numbers restart every year, so two years'
"87/KH-UBND" are two plans. Importing a file already imported changes nothing. A revised file
updates the plan in place and the report lists what changed; tasks keep their rows (and so their
progress updates) when their content stays, even if renumbered. A task (or a whole section) the
revision no longer has is archived, never deleted: it keeps its progress updates and still shows in
the reports of the cycles it was part of. Everything happens in the caller's unit of work: a file
that fails to parse writes nothing, and a failure half-way is rolled back with the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.agencies import ensure_agency, resolve_agency
from storage.agency_names import known_agency, split_agencies, split_cell
from storage.models import Agency, Plan, ProgressUpdate, Section, Task, TaskAgency, utcnow
from storage.models.plan import ACTIVE, COORDINATING, DISSOLVED, LEAD, MERGED, RENAMED, visible
from storage.plans.model import ParsedPlan, ParsedSection, ParsedTask
from storage.plans.notices import N_, Notice, PlanFormatError
from storage.plans.parser import parse_plan_file
from storage.registry import current as registry_current
from storage.registry import members_of_groups
from storage.text import fold

SAMPLE_PLAN = Path(__file__).resolve().parents[1] / "samples" / "ke-hoach-mau.txt"

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass
class TaskChange:
    code: str
    fields: list[str]  # of: number, content, timeframe, lead, coordinating, responsible
    before_code: str | None = None  # when renumbered


@dataclass
class PlanChanges:
    plan_fields: list[str] = field(default_factory=list)  # of: issued, title, year
    deadlines_before: list[str] | None = None  # set only when the deadlines changed
    deadlines_after: list[str] | None = None
    sections_added: list[str] = field(default_factory=list)
    sections_removed: list[str] = field(default_factory=list)
    sections_changed: list[str] = field(default_factory=list)
    tasks_added: list[str] = field(default_factory=list)
    tasks_removed: list[str] = field(default_factory=list)
    tasks_changed: list[TaskChange] = field(default_factory=list)
    # Progress updates of the removed tasks, kept with them in the archive.
    updates_kept: int = 0

    def __bool__(self) -> bool:
        return bool(
            self.plan_fields
            or self.deadlines_after is not None
            or self.sections_added
            or self.sections_removed
            or self.sections_changed
            or self.tasks_added
            or self.tasks_removed
            or self.tasks_changed
        )


@dataclass
class ImportReport:
    plan_id: int
    number: str
    title: str
    year: int
    status: str  # CREATED, UPDATED or UNCHANGED
    sections: int
    tasks: int
    agencies: list[str]  # every agency the plan links, in order of first mention
    new_agencies: list[str]  # registered by this import
    # New agencies the built-in table does not know: worth a look for a misspelling.
    unknown_agencies: list[str]
    warnings: list[Notice]
    changes: PlanChanges
    reporting_deadlines: list[str]
    source_name: str = ""
    issuer: str = ""
    end_year: int | None = None


async def import_plan_file(
    session: AsyncSession, path: str | Path, *, default_issuer: str = "", now: dt.datetime | None = None
) -> ImportReport:
    """Parse and import one file. Raises PlanFormatError, before writing anything, for a bad file."""
    return await import_parsed_plan(session, parse_plan_file(path), default_issuer=default_issuer, now=now)


def issuer_key(issuer: str) -> str:
    """The issuing body folded for matching: "Ủy ban nhân dân TP. Hà Nội" = "UBND thành phố Hà Nội"."""
    key = f" {fold(issuer)} "
    for long, short in ((" uy ban nhan dan ", " ubnd "), (" tp ", " thanh pho ")):
        key = key.replace(long, short)
    return key.strip()


# --- Agencies -----------------------------------------------------------------------------------


class _Agencies:
    """Each spelling met in the plan, resolved once to the registry row its tasks are linked to.

    Names resolve through the registry's history as of the plan's date: a plan issued after a merge
    or rename that still writes the old name is linked to the successor, and the import notes say
    so. The database's history comes first; the shipped table's (Nghị định 45/2025 and the end of the
    district level) covers names this deployment has not recorded a change for."""

    def __init__(self, session: AsyncSession, plan_day: dt.date, warnings: list[Notice]):
        self.session = session
        self.plan_day = plan_day
        self.warnings = warnings
        self.by_spelling: dict[str, Agency | None] = {}
        self.new: list[Agency] = []
        self.unknown: list[Agency] = []
        self._noted: set[int] = set()
        self._groups: dict[int, bool] = {}
        self._generic: dict[str, Agency | None] = {}
        self._cells: dict[str, list[Agency]] = {}

    def _note(self, agency: Agency, notice: Notice) -> None:
        # Once per agency and import, however many cells name it.
        if agency.id not in self._noted:
            self._noted.add(agency.id)
            self.warnings.append(notice)

    def _day(self, day: dt.date) -> str:
        return f"{day.day}/{day.month}/{day.year}"

    async def _ensure(self, spelling: str) -> Agency | None:
        agency, created = await ensure_agency(self.session, spelling)
        if created and agency is not None:
            self.new.append(agency)
            if known_agency(spelling) is None:
                self.unknown.append(agency)
        return agency

    async def _successor_of(self, agency: Agency | None, spelling: str, depth: int = 0) -> Agency | None:
        if agency is None or depth > 10:
            return agency
        if agency.status in (MERGED, RENAMED) and agency.successor_id is not None:
            if agency.status_since is None or self.plan_day >= agency.status_since:
                successor = await registry_current(self.session, agency)
                self._note(
                    agency,
                    Notice(
                        N_('"{old}" became {new} on {date}: its tasks in this plan are linked to {new}'),
                        {"old": agency.name, "new": successor.name, "date": self._day(agency.status_since)},
                    )
                    if agency.status_since
                    else Notice(
                        N_('"{old}" became {new}: its tasks in this plan are linked to {new}'),
                        {"old": agency.name, "new": successor.name},
                    ),
                )
                return successor
            return agency
        entry = known_agency(spelling) or known_agency(agency.name)
        if (
            agency.status == ACTIVE
            and entry is not None
            and entry.since is not None
            and self.plan_day >= entry.since
            and fold(entry.name) == agency.key
        ):
            if entry.successor:
                successor = await self._successor_of(
                    await self._ensure(entry.successor), entry.successor, depth + 1
                )
                if successor is not None:
                    self._note(
                        agency,
                        Notice(
                            N_(
                                '"{old}" was merged into {new} on {date} (Nghị định 45/2025 and after): its tasks '
                                "in this plan are linked to {new}. To move its focal points and open work too: "
                                'nhacviec agencies merge "{old}" --into "{new}" --from {iso}'
                            ),
                            {
                                "old": agency.name,
                                "new": successor.name,
                                "date": self._day(entry.since),
                                "iso": entry.since.isoformat(),
                            },
                        ),
                    )
                    return successor
        if agency.status == DISSOLVED and agency.status_since and self.plan_day >= agency.status_since:
            self._note(
                agency,
                Notice(
                    N_(
                        "{name} was dissolved on {date}: its tasks in this plan have nobody to report on them"
                    ),
                    {"name": agency.name, "date": self._day(agency.status_since)},
                ),
            )
        return agency

    async def resolve(self, spelling: str) -> Agency | None:
        if spelling not in self.by_spelling:
            existing = await resolve_agency(self.session, spelling)
            entry = known_agency(spelling)
            if existing is None and entry is not None and entry.since and self.plan_day >= entry.since:
                # A name that had changed before this plan was issued: recorded as the predecessor it is.
                old = await self._ensure(spelling)
                if old is not None and entry.successor:
                    successor = await self._successor_of(await self._ensure(entry.successor), entry.successor)
                    old.status, old.status_since, old.successor_id = entry.status, entry.since, successor.id
                elif old is not None:
                    old.status, old.status_since = entry.status, entry.since
                await self.session.flush()
                existing = old
            agency = await self._successor_of(existing or await self._ensure(spelling), spelling)
            self.by_spelling[spelling] = agency
            if agency is not None:
                await self._warn_if_empty_group(agency)
        return self.by_spelling[spelling]

    async def _warn_if_empty_group(self, agency: Agency) -> None:
        if not agency.is_group or agency.id in self._groups:
            return
        members = await members_of_groups(self.session, [agency.id])
        self._groups[agency.id] = bool(members)
        if not members:
            self._note(
                agency,
                Notice(
                    N_(
                        "{name} is a group with no members defined yet: it is followed as one agency. To have each "
                        'member report for itself: nhacviec agencies group "{name}" --members-file FILE'
                    ),
                    {"name": agency.name},
                ),
            )

    async def _group_named(self, spelling: str) -> Agency | None:
        # "Các Sở, ban, ngành" is nobody in particular, unless this deployment listed its members.
        # Asked once per spelling and import: a large plan repeats the phrase in every row.
        if spelling not in self._generic:
            group = await resolve_agency(self.session, spelling)
            if group is not None and group.is_group and await members_of_groups(self.session, [group.id]):
                self._generic[spelling] = group
            else:
                self._generic[spelling] = None
        return self._generic[spelling]

    async def cell(self, text: str) -> list[Agency]:
        # A large plan repeats its cells ("Sở Tài chính và các cơ quan liên quan") row after row;
        # splitting one is most of an import's work before it writes, so each is split once.
        if text not in self._cells:
            self._cells[text] = await self._split_cell(text)
        return list(self._cells[text])

    async def _split_cell(self, text: str) -> list[Agency]:
        found: list[Agency] = []
        for spelling, generic in split_cell(text):
            if generic:
                agency = await self._group_named(spelling)
                if agency is None:
                    continue
            else:
                spelling = _name_in(spelling)
                agency = await self.resolve(spelling)
            if agency is not None and agency not in found:
                found.append(agency)
        return found


def _name_in(piece: str) -> str:
    """The agency a piece names, as split_agencies() would give it ("X, thuộc Y" names X)."""
    names = split_agencies(piece)
    return names[0] if names else piece


@dataclass
class _WantedTask:
    parsed: ParsedTask
    code: str
    links: list[tuple[int, str]]  # (agency id, role) in order

    def values(self) -> dict[str, object]:
        t = self.parsed
        return {
            "number": t.number,
            "code": self.code,
            "content": t.content,
            "timeframe_text": t.timeframe.text,
            "start_on": t.timeframe.start,
            "end_on": t.timeframe.end,
            "lead_text": t.lead_text,
            "coordinating_text": t.coordinating_text,
            "responsible": t.responsible,
        }


@dataclass
class _WantedSection:
    parsed: ParsedSection
    position: int
    agency: Agency | None
    tasks: list[_WantedTask]


async def _wanted(parsed: ParsedPlan, agencies: _Agencies, warnings: list[Notice]) -> list[_WantedSection]:
    # Task cells first: they spell names in mixed case, which is what a new agency should be called,
    # while section headings are in capitals.
    cells: dict[tuple[str, int], tuple[list[Agency], list[Agency]]] = {}
    for section, task in parsed.tasks:
        cells[(section.numeral, task.number)] = (
            await agencies.cell(task.lead_text),
            await agencies.cell(task.coordinating_text),
        )
    wanted = []
    for position, section in enumerate(parsed.sections):
        section_agency = await agencies.resolve(section.heading)
        tasks = []
        for task in section.tasks:
            code = task.code(section.numeral)
            leads, coordinating = cells[(section.numeral, task.number)]
            if not leads and section_agency is not None:
                leads = [section_agency]
                if not task.lead_text:
                    warnings.append(
                        Notice(
                            N_(
                                "{code}: no lead agency given; the section's agency, {agency}, is taken as lead"
                            ),
                            {"code": code, "agency": section_agency.name},
                        )
                    )
                else:
                    warnings.append(
                        Notice(
                            N_(
                                '{code}: the lead cell "{text}" names no particular agency; the section\'s '
                                "agency, {agency}, is taken as lead"
                            ),
                            {"code": code, "text": task.lead_text, "agency": section_agency.name},
                        )
                    )
            links = [(a.id, LEAD) for a in leads] + [(a.id, COORDINATING) for a in coordinating]
            tasks.append(_WantedTask(task, code, links))
        wanted.append(_WantedSection(section, position, section_agency, tasks))
    return wanted


# --- Writing ------------------------------------------------------------------------------------


def _new_task(plan_id: int, section: Section, wanted: _WantedTask) -> Task:
    task = Task(plan_id=plan_id, section=section, **wanted.values())
    task.links = [
        TaskAgency(agency_id=agency_id, role=role, position=position)
        for position, (agency_id, role) in enumerate(wanted.links)
    ]
    return task


def _following(links: list[tuple[int, str]], stored: set[tuple[int, str]], successors: dict[int, list[int]]):
    """`links` with each one a registry change moved on (merge, rename) kept where it was moved to:
    re-importing a plan does not hand its open work back to a name that no longer exists."""
    out = []
    for agency_id, role in links:
        if (agency_id, role) not in stored:
            agency_id = next((s for s in successors.get(agency_id, ()) if (s, role) in stored), agency_id)
        out.append((agency_id, role))
    return out


def _link_changes(task: Task, links: list[tuple[int, str]], successors: dict[int, list[int]]) -> set[str]:
    links = _following(links, {(link.agency_id, link.role) for link in task.links}, successors)
    current = [(link.agency_id, link.role) for link in sorted(task.links, key=lambda x: x.position)]
    if current == links:
        return set()
    changed = {
        role
        for role in (LEAD, COORDINATING)
        if [x for x in current if x[1] == role] != [x for x in links if x[1] == role]
    }
    existing = {(link.agency_id, link.role): link for link in task.links}
    for link in list(task.links):
        if (link.agency_id, link.role) not in links:
            task.links.remove(link)  # delete-orphan removes the row
    for position, key in enumerate(links):
        link = existing.get(key)
        if link is None:
            task.links.append(TaskAgency(agency_id=key[0], role=key[1], position=position))
        elif link.position != position:
            link.position = position
    return changed or {LEAD}


_FIELD_OF = {
    "number": "number",
    "content": "content",
    "timeframe_text": "timeframe",
    "start_on": "timeframe",
    "end_on": "timeframe",
    "lead_text": "lead",
    "coordinating_text": "coordinating",
    "responsible": "responsible",
}
_FIELD_ORDER = ["number", "content", "timeframe", "lead", "coordinating", "responsible"]


def _pair(
    old: list[Task], new: list[_WantedTask]
) -> tuple[list[tuple[Task, _WantedTask]], list[Task], list[_WantedTask]]:
    """Match the stored tasks of a section to the file's: same number and content, then same
    content (renumbered), then same number (reworded). What is left was removed or added."""
    pairs: list[tuple[Task, _WantedTask]] = []
    old_left, new_left = list(old), list(new)

    def take(match) -> None:
        for wanted in list(new_left):
            for task in old_left:
                if match(task, wanted):
                    pairs.append((task, wanted))
                    old_left.remove(task)
                    new_left.remove(wanted)
                    break

    take(lambda t, w: t.number == w.parsed.number and t.content == w.parsed.content)
    take(lambda t, w: t.content == w.parsed.content)
    take(lambda t, w: t.number == w.parsed.number)
    return pairs, old_left, new_left


def _live(tasks: Iterable[Task]) -> list[Task]:
    return [task for task in tasks if task.archived_at is None]


async def _count_updates(session: AsyncSession, task_ids: Iterable[int]) -> int:
    ids = list(task_ids)
    if not ids:
        return 0
    return (
        await session.scalar(select(func.count(ProgressUpdate.id)).where(ProgressUpdate.task_id.in_(ids)))
        or 0
    )


async def _successors(session: AsyncSession, wanted: list[_WantedSection]) -> dict[int, list[int]]:
    """Agency id → the agencies that carry it on (its successor chain), for the agencies linked."""
    ids = {w.agency.id for w in wanted if w.agency} | {
        a for w in wanted for t in w.tasks for a, _r in t.links
    }
    found: dict[int, list[int]] = {}
    for agency in (await session.scalars(select(Agency).where(Agency.id.in_(sorted(ids))))).unique():
        chain = []
        step = agency
        while step.successor_id is not None and step.successor_id not in chain and len(chain) < 10:
            chain.append(step.successor_id)
            step = await session.get(Agency, step.successor_id)
            if step is None:
                break
        if chain:
            found[agency.id] = chain
    return found


async def _update_plan(
    session: AsyncSession,
    plan: Plan,
    parsed: ParsedPlan,
    wanted: list[_WantedSection],
    changes: PlanChanges,
    now: dt.datetime,
    flush,
) -> None:
    successors = await _successors(session, wanted)
    if parsed.issued is not None and plan.issued != parsed.issued:
        plan.issued = parsed.issued
        changes.plan_fields.append("issued")
    if parsed.title and plan.title != parsed.title:
        plan.title = parsed.title
        changes.plan_fields.append("title")
    if plan.year != parsed.year:
        plan.year = parsed.year
        changes.plan_fields.append("year")
    if (plan.start_year, plan.end_year) != (parsed.year, parsed.last_year):
        if plan.start_year is not None and "year" not in changes.plan_fields:
            changes.plan_fields.append("years")
        plan.start_year, plan.end_year = parsed.year, parsed.last_year
    if parsed.reporting_deadlines is not None:
        after = [d.isoformat() for d in parsed.reporting_deadlines]
        if list(plan.reporting_deadlines or []) != after:
            changes.deadlines_before = list(plan.reporting_deadlines or [])
            changes.deadlines_after = after
            plan.reporting_deadlines = after

    stored = {section.numeral: section for section in plan.sections}
    removed_tasks: list[Task] = []
    for numeral, section in stored.items():
        if numeral not in {w.parsed.numeral for w in wanted} and section.archived_at is None:
            changes.sections_removed.append(numeral)
            live = _live(section.tasks)
            changes.tasks_removed += [t.code for t in sorted(live, key=lambda t: t.number)]
            removed_tasks += live
    work: list[tuple[Section, list[tuple[Task, _WantedTask]], list[Task], list[_WantedTask]]] = []
    for w in wanted:
        section = stored.get(w.parsed.numeral)
        agency_id = w.agency.id if w.agency else None
        if section is None:
            section = Section(
                plan_id=plan.id,
                numeral=w.parsed.numeral,
                position=w.position,
                heading=w.parsed.heading,
                agency_id=agency_id,
            )
            plan.sections.append(section)
            changes.sections_added.append(w.parsed.numeral)
            changes.tasks_added += [t.code for t in w.tasks]
            work.append((section, [], [], w.tasks))
            continue
        if section.archived_at is not None:
            # A section dropped by an earlier revision is back: it is a section of the plan again.
            section.archived_at = None
            changes.sections_added.append(w.parsed.numeral)
        if agency_id is not None and section.agency_id in successors.get(agency_id, ()):
            agency_id = section.agency_id
        if section.heading != w.parsed.heading or section.agency_id != agency_id:
            section.heading = w.parsed.heading
            section.agency_id = agency_id
            changes.sections_changed.append(w.parsed.numeral)
        if section.position != w.position:
            section.position = w.position
        pairs, old_left, new_left = _pair(_live(section.tasks), w.tasks)
        changes.tasks_removed += [t.code for t in sorted(old_left, key=lambda t: t.number)]
        changes.tasks_added += [t.code for t in new_left]
        removed_tasks += old_left
        work.append((section, pairs, old_left, new_left))

    changes.updates_kept = await _count_updates(session, (t.id for t in removed_tasks))
    for numeral in changes.sections_removed:
        stored[numeral].archived_at = now
    for task in removed_tasks:
        # Archived, not deleted: the task keeps its updates for the reports of its past cycles. Its
        # number is parked out of the way so that a new task may take it in the section.
        task.archived_at = now
        task.number = -task.id
    await flush()

    # Numbers are unique within a section: park renumbered tasks out of the way first.
    moved = [(task, w) for _s, pairs, _o, _n in work for task, w in pairs if task.number != w.parsed.number]
    for task, _w in moved:
        # Negative and apart from the archived tasks' -id.
        task.number = -task.id - 2**30
    if moved:
        await flush()
    for section, pairs, _old, new_left in work:
        for task, w in pairs:
            before_code = task.code
            fields: set[str] = set()
            for attribute, value in w.values().items():
                if attribute == "number" and (task, w) in moved:
                    fields.add("number")
                    task.number = value
                elif getattr(task, attribute) != value:
                    setattr(task, attribute, value)
                    if attribute in _FIELD_OF:
                        fields.add(_FIELD_OF[attribute])
            fields |= _link_changes(task, w.links, successors)
            if fields:
                changes.tasks_changed.append(
                    TaskChange(
                        w.code,
                        [f for f in _FIELD_ORDER if f in fields],
                        before_code if before_code != w.code else None,
                    )
                )
        for w in new_left:
            session.add(_new_task(plan.id, section, w))
    changes.tasks_changed.sort(key=lambda c: _code_key(c.code))
    await flush()


def _code_key(code: str) -> tuple[str, int]:
    numeral, _, number = code.partition(".")
    return numeral, int(number) if number.isdigit() else 0


async def _find_plan(session: AsyncSession, issuer: str, number: str, year: int) -> Plan | None:
    """The stored plan with this identity. A plan stored before issuers were recorded (issuer
    unknown) is taken for the same plan when its number and year match: importing its file again
    fills in the issuer instead of making a second copy."""
    query = select(Plan).options(selectinload(Plan.sections).selectinload(Section.tasks))
    pid = await find_plan_id(session, issuer, number, year)
    return None if pid is None else await session.scalar(query.where(Plan.id == pid))


async def find_plan_id(session: AsyncSession, issuer: str, number: str, year: int) -> int | None:
    """The id of `_find_plan`'s plan, without loading it."""
    rows = (
        await session.execute(
            select(Plan.id, Plan.issuer_key, Plan.number).where(Plan.year == year, visible())
        )
    ).all()
    same_number = [(pid, key) for pid, key, stored in rows if fold(stored) == fold(number)]
    wanted = issuer_key(issuer)
    for pid, key in same_number:
        if key == wanted:
            return pid
    for pid, key in same_number:
        if not key or not wanted:
            return pid
    return None


# PostgreSQL refuses a value longer than its column (SQLite stores it anyway): a file whose cell
# would not fit is refused here, with its line, instead of failing half-way through the writes.
_INT_MAX = 2**31 - 1


def _limit(column) -> int:
    return column.type.length


def _check_fits(parsed: ParsedPlan) -> None:
    def shown(value: str) -> str:
        return value if len(value) <= 40 else value[:40] + "…"

    number_limit = _limit(Plan.__table__.c.number)
    if len(parsed.number) > number_limit:
        raise PlanFormatError(
            N_(
                'the plan number "{number}" is {length} characters long, more than the {limit} that fit; '
                "nothing was imported"
            ),
            number=shown(parsed.number),
            length=len(parsed.number),
            limit=number_limit,
        )
    numeral_limit = _limit(Section.__table__.c.numeral)
    timeframe_limit = _limit(Task.__table__.c.timeframe_text)
    for section in parsed.sections:
        if len(section.numeral) > numeral_limit:
            raise PlanFormatError(
                N_(
                    'line {line}: the section number "{numeral}" is {length} characters long, more than the '
                    "{limit} that fit; nothing was imported"
                ),
                line=section.line,
                numeral=shown(section.numeral),
                length=len(section.numeral),
                limit=numeral_limit,
            )
        for task in section.tasks:
            code = task.code(section.numeral)
            if task.number > _INT_MAX or len(code) > _limit(Task.__table__.c.code):
                raise PlanFormatError(
                    N_("line {line}: the task number {code} is too large; nothing was imported"),
                    line=task.line,
                    code=shown(code),
                )
            if len(task.timeframe.text) > timeframe_limit:
                raise PlanFormatError(
                    N_(
                        "line {line}: the timeframe of task {code} is {length} characters long, more than the "
                        "{limit} that fit; nothing was imported"
                    ),
                    line=task.line,
                    code=code,
                    length=len(task.timeframe.text),
                    limit=timeframe_limit,
                )


def _last_deadline(plan: Plan, tasks: Iterable[Task | _WantedTask]) -> dt.date:
    ends = [t.end_on if isinstance(t, Task) else t.parsed.timeframe.end for t in tasks]
    days = [*plan.deadline_dates, *(end for end in ends if end is not None)]
    return max(days, default=dt.date(plan.end_year, 12, 31))


def _refuse_other_year(plan: Plan | None, parsed: ParsedPlan) -> None:
    if plan is not None and plan.issued and parsed.issued and plan.issued.year != parsed.issued.year:
        # Numbers restart every year: a file issued in another year is another plan, even when its
        # title names the same year; it is not a revision of the stored one.
        raise PlanFormatError(
            N_(
                "plan {number} of {stored} is already imported, and this file is a different plan with the "
                "same number and year (issued {issued}); nothing was imported"
            ),
            number=plan.number,
            stored=f"{plan.issued.day}/{plan.issued.month}/{plan.issued.year}",
            issued=f"{parsed.issued.day}/{parsed.issued.month}/{parsed.issued.year}",
        )


@dataclass
class Resolved:
    """A parsed plan with its agencies resolved (and registered): what to write, not yet written."""

    parsed: ParsedPlan
    issuer: str
    warnings: list[Notice]
    agencies: _Agencies
    wanted: list[_WantedSection]

    @property
    def all_tasks(self) -> list[_WantedTask]:
        return [t for w in self.wanted for t in w.tasks]


async def resolve_plan_agencies(
    session: AsyncSession, parsed: ParsedPlan, *, default_issuer: str = ""
) -> Resolved:
    """Resolve (registering the new ones) the agencies the plan names. Writes agencies only."""
    warnings = list(parsed.warnings)
    agencies = _Agencies(session, parsed.issued or dt.date(parsed.year, 1, 1), warnings)
    wanted = await _wanted(parsed, agencies, warnings)
    return Resolved(parsed, parsed.issuer or default_issuer, warnings, agencies, wanted)


def new_plan(resolved: Resolved) -> Plan:
    """The plan row of a first import (its sections and tasks come from `new_sections`)."""
    parsed, issuer = resolved.parsed, resolved.issuer
    plan = Plan(
        number=parsed.number,
        issuer=issuer,
        issuer_key=issuer_key(issuer),
        issued=parsed.issued,
        title=parsed.title,
        year=parsed.year,
        start_year=parsed.year,
        end_year=parsed.last_year,
        reporting_deadlines=[d.isoformat() for d in parsed.reporting_deadlines or []],
        source_name=parsed.source_name or None,
        source_sha256=parsed.source_sha256 or None,
    )
    plan.last_deadline = _last_deadline(plan, resolved.all_tasks)
    return plan


def new_section(plan_id: int, w: _WantedSection) -> Section:
    return Section(
        plan_id=plan_id,
        numeral=w.parsed.numeral,
        position=w.position,
        heading=w.parsed.heading,
        agency_id=w.agency.id if w.agency else None,
    )


async def revise_plan(
    session: AsyncSession, plan: Plan, resolved: Resolved, now: dt.datetime, flush=None
) -> tuple[str, PlanChanges]:
    """Bring a stored plan (loaded whole) in line with the file: UPDATED or UNCHANGED, and what
    changed. `flush` (the session's by default) is where the unique task numbers must hold; a
    caller computing the revision in memory, to write it elsewhere, passes one that does nothing."""
    flush = flush or session.flush
    parsed, issuer = resolved.parsed, resolved.issuer
    changes = PlanChanges()
    if issuer and not plan.issuer:
        plan.issuer, plan.issuer_key = issuer, issuer_key(issuer)
        changes.plan_fields.append("issuer")
    await _update_plan(session, plan, parsed, resolved.wanted, changes, now, flush)
    plan.last_deadline = _last_deadline(plan, resolved.all_tasks)
    if not changes:
        return UNCHANGED, changes
    plan.source_name = parsed.source_name or None
    plan.source_sha256 = parsed.source_sha256 or None
    plan.imported_at = utcnow()
    plan.revision = (plan.revision or 0) + 1
    await flush()
    return UPDATED, changes


def import_report(resolved: Resolved, plan: Plan, status: str, changes: PlanChanges) -> ImportReport:
    agencies = resolved.agencies
    names = {a.id: a.name for a in agencies.by_spelling.values() if a is not None}
    linked: list[str] = []
    for w in resolved.wanted:
        ids = [w.agency.id] if w.agency else []
        ids += [agency_id for t in w.tasks for agency_id, _role in t.links]
        for agency_id in ids:
            if names[agency_id] not in linked:
                linked.append(names[agency_id])
    return ImportReport(
        plan_id=plan.id,
        number=plan.number,
        title=plan.title,
        year=plan.year,
        status=status,
        sections=len(resolved.wanted),
        tasks=len(resolved.all_tasks),
        agencies=linked,
        new_agencies=[a.name for a in agencies.new],
        unknown_agencies=[a.name for a in agencies.unknown],
        warnings=resolved.warnings,
        changes=changes,
        reporting_deadlines=list(plan.reporting_deadlines or []),
        source_name=resolved.parsed.source_name,
        issuer=plan.issuer,
        end_year=plan.end_year,
    )


async def import_parsed_plan(
    session: AsyncSession, parsed: ParsedPlan, *, default_issuer: str = "", now: dt.datetime | None = None
) -> ImportReport:
    """Write a parsed plan in the caller's unit of work: create it, update it in place, or leave it
    as it is. A large file is better imported with `storage.plans.staging.import_staged`, which
    does the same in short transactions.

    `default_issuer` (the configured `[plan] issuer`) names the issuing body of a file that names
    none; `now` (from the clock) stamps what a revision archives."""
    now = now or utcnow()
    _check_fits(parsed)
    plan = await _find_plan(session, parsed.issuer or default_issuer, parsed.number, parsed.year)
    _refuse_other_year(plan, parsed)
    resolved = await resolve_plan_agencies(session, parsed, default_issuer=default_issuer)
    if plan is None:
        plan = new_plan(resolved)
        session.add(plan)
        await session.flush()
        for w in resolved.wanted:
            section = new_section(plan.id, w)
            session.add(section)
            for task in w.tasks:
                session.add(_new_task(plan.id, section, task))
        await session.flush()
        return import_report(resolved, plan, CREATED, PlanChanges())
    status, changes = await revise_plan(session, plan, resolved, now)
    return import_report(resolved, plan, status, changes)


__all__ = [
    "CREATED",
    "SAMPLE_PLAN",
    "UNCHANGED",
    "UPDATED",
    "ImportReport",
    "PlanChanges",
    "TaskChange",
    "import_parsed_plan",
    "import_plan_file",
    "issuer_key",
]
