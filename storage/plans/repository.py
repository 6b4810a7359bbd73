"""Plans in the database: finding them, reading them whole, and their reporting deadlines.

Functions take a session and never commit; the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import Plan, Section, Task
from storage.models.plan import COORDINATING, LEAD, TaskAgency, visible
from storage.plans.lifecycle import ACTIVE, DEFAULT_GRACE_DAYS, ends_on, last_deadline, plan_status
from storage.text import fold


class AmbiguousPlan(LookupError):
    """A plan reference matches several plans; the caller must say which (`candidates`)."""

    def __init__(self, reference: str, candidates: list[PlanListing]):
        self.reference = reference
        self.candidates = candidates
        super().__init__(f"{reference} matches several plans: {', '.join(c.label for c in candidates)}")

    @property
    def number(self) -> str:  # the name callers used before plans had a year
        return self.reference


class UnknownPlan(LookupError):
    """No plan matches the reference; `candidates` are the plans there are."""

    def __init__(self, reference: str, candidates: list[PlanListing]):
        self.reference = reference
        self.candidates = candidates
        super().__init__(f"no plan matches {reference}")


def _whole_plan():
    # Sections, tasks, task links and their agencies in a fixed number of queries: async sessions
    # cannot lazy-load, and callers read the whole tree.
    return select(Plan).options(selectinload(Plan.sections).selectinload(Section.tasks))


@dataclass(frozen=True)
class PlanListing:
    id: int
    number: str
    issued: dt.date | None
    title: str
    year: int
    sections: int
    tasks: int
    imported_at: dt.datetime
    issuer: str = ""
    start_year: int = 0
    end_year: int = 0
    status: str = ACTIVE
    agencies: int = 0
    last_deadline: dt.date | None = None
    ends_on: dt.date | None = None  # the day it ends on its own (last deadline + grace)

    @property
    def years(self) -> str:
        """ "2020", or "2021–2025" for a multi-year plan."""
        first, last = self.start_year or self.year, self.end_year or self.year
        return str(first) if last <= first else f"{first}–{last}"

    @property
    def label(self) -> str:
        """How a person tells plans apart: "87/KH-UBND (2020)"."""
        return f"{self.number} ({self.years})"

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "issuer": self.issuer or None,
            "number": self.number,
            "year": self.year,
            "start_year": self.start_year or self.year,
            "end_year": self.end_year or self.year,
            "title": self.title,
            "status": self.status,
            "issued": self.issued.isoformat() if self.issued else None,
            "last_deadline": self.last_deadline.isoformat() if self.last_deadline else None,
            "ends_on": self.ends_on.isoformat() if self.ends_on else None,
            "sections": self.sections,
            "tasks": self.tasks,
            "agencies": self.agencies,
        }


async def list_plans(
    session: AsyncSession,
    *,
    today: dt.date | None = None,
    grace_days: int = DEFAULT_GRACE_DAYS,
    extra: Iterable[str] = (),
) -> list[PlanListing]:
    """Every plan, newest year first, with its counts and (given `today`) its status."""
    live_sections = select(Section.plan_id, func.count(Section.id).label("n")).where(
        Section.archived_at.is_(None)
    )
    sections = live_sections.group_by(Section.plan_id).subquery()
    tasks = (
        select(Task.plan_id, func.count(Task.id).label("n"))
        .where(Task.archived_at.is_(None))
        .group_by(Task.plan_id)
        .subquery()
    )
    linked = union(
        select(Task.plan_id.label("plan_id"), TaskAgency.agency_id.label("agency_id"))
        .join(TaskAgency, TaskAgency.task_id == Task.id)
        .where(Task.archived_at.is_(None)),
        select(Section.plan_id.label("plan_id"), Section.agency_id.label("agency_id")).where(
            Section.agency_id.is_not(None), Section.archived_at.is_(None)
        ),
    ).subquery()
    agencies = (
        select(linked.c.plan_id, func.count(linked.c.agency_id).label("n"))
        .group_by(linked.c.plan_id)
        .subquery()
    )
    query = (
        select(
            Plan, func.coalesce(sections.c.n, 0), func.coalesce(tasks.c.n, 0), func.coalesce(agencies.c.n, 0)
        )
        .outerjoin(sections, sections.c.plan_id == Plan.id)
        .outerjoin(tasks, tasks.c.plan_id == Plan.id)
        .outerjoin(agencies, agencies.c.plan_id == Plan.id)
        .where(visible())
        .order_by(Plan.year.desc(), Plan.number, Plan.id)
    )
    listings = []
    for p, n_sections, n_tasks, n_agencies in (await session.execute(query)).all():
        extra_days = extra_deadline_dates(p.years, extra)
        listings.append(
            PlanListing(
                p.id,
                p.number,
                p.issued,
                p.title,
                p.year,
                n_sections,
                n_tasks,
                p.imported_at,
                issuer=p.issuer or "",
                start_year=p.start_year or p.year,
                end_year=p.end_year or p.year,
                status=plan_status(p, today, grace_days=grace_days, extra=extra_days) if today else ACTIVE,
                agencies=n_agencies,
                last_deadline=last_deadline(p, extra_days),
                ends_on=ends_on(p, grace_days, extra_days),
            )
        )
    return listings


# "87-2026", "87/2026", "87 2026", "87/KH-UBND 2026": a number followed by the plan's year.
_WITH_YEAR = re.compile(r"^(?P<number>.+?)[\s/(-]+(?P<year>(?:19|20)\d{2})\)?$")


def _number_matches(stored: str, wanted: str) -> bool:
    """ "87/KH-UBND" is named by itself, spelt loosely ("87/kh-ubnd"), or by its digits ("87")."""
    folded = fold(stored)
    return folded == wanted or folded.split(" ")[0] == wanted


def match_plans(listings: list[PlanListing], reference: str, year: int | None = None) -> list[PlanListing]:
    """The plans a reference names: "#3" (an id), a number ("87", "87/KH-UBND"), a number with its
    year ("87-2026", or `year`), or a bare id when no number matches it."""
    reference = reference.strip()
    if reference.startswith("#") and reference[1:].isdigit():
        return [p for p in listings if p.id == int(reference[1:])]
    wanted = fold(reference)
    found = [p for p in listings if _number_matches(p.number, wanted)]
    if not found and year is None and (m := _WITH_YEAR.match(reference)):
        year = int(m["year"])
        wanted = fold(m["number"])
        found = [p for p in listings if _number_matches(p.number, wanted)]
    if year is not None:
        found = [
            p for p in found if p.year == year or (p.start_year or p.year) <= year <= (p.end_year or p.year)
        ]
    if not found and reference.isdigit():
        found = [p for p in listings if p.id == int(reference)]
    return found


async def resolve_plan(
    session: AsyncSession,
    reference: str | None,
    *,
    year: int | None = None,
    listings: list[PlanListing] | None = None,
    prefer: str | None = None,
) -> PlanListing:
    """The one plan `reference` names, or raises AmbiguousPlan / UnknownPlan with the candidates.

    Without a reference: the only active plan, or the only plan (statuses need `listings` built
    with `today`). `prefer` (a status) settles a reference matching several plans when exactly one
    of them has that status: in chat "87" means the 87 being followed now.
    """
    listings = listings if listings is not None else await list_plans(session)
    if reference is None or not reference.strip():
        candidates = [p for p in listings if year is None or p.year == year]
        if len(candidates) == 1:
            return candidates[0]
        active = [p for p in candidates if p.status == ACTIVE]
        if len(active) == 1:
            return active[0]
        if not candidates:
            raise UnknownPlan(str(year or ""), listings)
        raise AmbiguousPlan("", active or candidates)
    found = match_plans(listings, reference, year)
    if len(found) > 1 and prefer is not None:
        preferred = [p for p in found if p.status == prefer]
        if len(preferred) == 1:
            return preferred[0]
    if len(found) == 1:
        return found[0]
    if found:
        raise AmbiguousPlan(reference, found)
    raise UnknownPlan(reference, listings)


def as_plan_id(value) -> int | None:
    """`value` if it can be a plan's id, else None: only what an id column holds is looked up
    (PostgreSQL refuses a larger number outright), and True is not the plan numbered 1."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
        return None
    return value


async def plan_by_id(session: AsyncSession, plan_id) -> Plan | None:
    """The plan row with this id, unless an import is still staging it (`visible`); None for
    anything that is not a plan's id. A plan this session has already read costs no query."""
    plan_id = as_plan_id(plan_id)
    if plan_id is None:
        return None
    plan = await session.get(Plan, plan_id)
    return plan if plan is not None and plan.staged_by is None else None


async def load_plan(session: AsyncSession, plan_id: int) -> Plan | None:
    """A plan with its sections, tasks and agency links loaded."""
    return await session.scalar(_whole_plan().where(Plan.id == plan_id, visible()))


async def get_plan(
    session: AsyncSession, number: str | None = None, *, year: int | None = None
) -> Plan | None:
    """A plan with its sections, tasks and agency links loaded, by reference (see `resolve_plan`);
    None when no plan matches. Raises AmbiguousPlan when the reference matches several."""
    try:
        listing = await resolve_plan(session, number, year=year)
    except UnknownPlan:
        return None
    return await load_plan(session, listing.id)


def extra_deadline_dates(years: int | Iterable[int], extra: Iterable[str | dt.date]) -> list[dt.date]:
    """Configured extra deadlines ("MM-DD", as in `[plan] extra_reporting_deadlines`) in each of
    `years` (a plan's `years`, or one year)."""
    years = [years] if isinstance(years, int) else list(years)
    days = []
    for value in extra:
        if isinstance(value, dt.date):
            days.append(value)
        else:
            month, day = (int(part) for part in value.split("-"))
            days += [dt.date(year, month, day) for year in years]
    return days


def reporting_deadlines(plan: Plan, extra: Iterable[str | dt.date] = ()) -> list[dt.date]:
    """The deadlines the plan names plus the configured extra ones, in order, without repeats.

    Call it with `config.plan.extra_reporting_deadlines` wherever deadlines are read, so that a
    deadline added by configuration counts everywhere the plan's own ones do.
    """
    return sorted({*plan.deadline_dates, *extra_deadline_dates(plan.years, extra)})


def lead_agencies(task: Task) -> list:
    return [link.agency for link in task.links if link.role == LEAD]


def coordinating_agencies(task: Task) -> list:
    return [link.agency for link in task.links if link.role == COORDINATING]


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def plan_document(plan: Plan, extra_deadlines: Iterable[str | dt.date] = ()) -> dict:
    """The plan as plain data, the shape `nhacviec plan show --json` prints."""
    return {
        "number": plan.number,
        "issued": _iso(plan.issued),
        "title": plan.title,
        "year": plan.year,
        "reporting_deadlines": [d.isoformat() for d in reporting_deadlines(plan, extra_deadlines)],
        "sections": [
            {
                "numeral": section.numeral,
                "agency": section.agency.name if section.agency else section.heading,
                "tasks": [
                    {
                        "number": task.number,
                        "content": task.content,
                        "timeframe": {
                            "text": task.timeframe_text,
                            "start": _iso(task.start_on),
                            "end": _iso(task.end_on),
                        },
                        "lead": [agency.name for agency in lead_agencies(task)],
                        "coordinating": [agency.name for agency in coordinating_agencies(task)],
                        "responsible": task.responsible or None,
                    }
                    for task in sorted(section.tasks, key=lambda t: t.number)
                    if task.archived_at is None
                ],
            }
            for section in sorted(plan.sections, key=lambda s: s.position)
            if section.archived_at is None
        ],
    }
