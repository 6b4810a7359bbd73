"""The dashboard's pages (GET). Each reads what it shows through the storage and summary functions
chat uses, checks the viewer may see it, and renders a template."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import gc
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from aiohttp import web
from sqlalchemy import func, select

from bot.core.handlers.access import role_label
from bot.core.handlers.plans import plan_label, status_label
from bot.evidence import open_store
from bot.i18n import N_
from bot.render.bundle import safe_name
from bot.render.exports import letterhead_from_config, render_summary
from bot.render.text import percent_text, reported_label, timing_label
from bot.web.paging import Page
from bot.web.rendering import local_time
from bot.web.server import Dashboard, Viewer, as_id, dashboard_of, path_id, viewer_of
from bot.web.svg import completion_chart
from scheduler.outbox import status_by_deadline
from storage import evidence as evidence_rows
from storage import people
from storage.agencies import match_rank
from storage.assignments import helps_with_plan, plans_with_a_part
from storage.cycles import reporting_deadlines
from storage.models import Agency, Member, Plan, Reminder, Task
from storage.models.evidence import STORED as EVIDENCE_STORED
from storage.models.evidence import EvidenceFile
from storage.models.people import FOCAL
from storage.models.plan import visible
from storage.models.reminders import PENDING as REMINDER_PENDING
from storage.plans import lifecycle
from storage.plans.repository import plan_by_id
from storage.progress_rules import OVERDUE, REPORTED, TIMINGS
from storage.summary import (
    ALL,
    ATTENTION,
    AgencySummary,
    Pick,
    SectionSummary,
    Summary,
    TaskRef,
    build_summary,
    counts_only,
    of_agency,
    task_summary,
)
from storage.text import fold

EXPORT_FORMATS = ("docx", "xlsx", "zip")
KIND_LABELS = {
    "report": N_("reporting deadline"),
    "quarter": N_("quarter end"),
    "task": N_("task due date"),
}
TASKS_PER_PAGE = 100
# Agencies the overview's picker lists; past that, the search chooses which.
AGENCY_PICKER_LIMIT = 200
# Agencies named under "Not reported yet"; the agency table lists them all, a page at a time.
MISSING_LISTED = 30
# Above this many tasks the overview details only what needs attention (and one chosen agency).
LARGE_PLAN_TASKS = 2000
# The words the plan, agency and task pages print for a line's timing, report state and share.
_STATUS_TEXTS = {"timing_label": timing_label, "reported_label": reported_label, "percent_text": percent_text}


def _today(request: web.Request) -> dt.date:
    app = dashboard_of(request).app
    return app.clock.now().astimezone(app.config.tz).date()


def _local_time(dashboard: Dashboard):
    """The pages' clock format: a moment in the configured time zone."""
    return lambda moment: local_time(moment, dashboard.app.config.tz)


async def _plan_or_404(session, request: web.Request) -> Plan:
    plan_id = path_id(request, "plan_id")
    plan = await plan_by_id(session, plan_id)
    if plan is None:
        raise web.HTTPNotFound(text="no such plan")
    return plan


def _extra_deadlines(request: web.Request, plan: Plan) -> list[dt.date]:
    config = dashboard_of(request).app.config
    return [
        dt.date.fromisoformat(f"{year}-{md}")
        for year in plan.years
        for md in config.plan.extra_reporting_deadlines
    ]


def _status(request: web.Request, plan: Plan) -> str:
    config = dashboard_of(request).app.config
    return lifecycle.plan_status(
        plan, _today(request), grace_days=config.plan.grace_days, extra=_extra_deadlines(request, plan)
    )


def _judging_day(request: web.Request, plan: Plan) -> dt.date:
    """Today while the plan is followed; for an ended or closed plan the day it ended, as chat does."""
    config = dashboard_of(request).app.config
    return lifecycle.judging_day(
        plan,
        _today(request),
        grace_days=config.plan.grace_days,
        extra=_extra_deadlines(request, plan),
        tz=config.tz,
    )


async def _summary(
    request: web.Request,
    session,
    plan: Plan,
    *,
    detail: str = ALL,
    agency_id: int | None = None,
    pick: Pick | None = None,
) -> Summary:
    app = dashboard_of(request).app
    return await build_summary(
        session,
        plan.id,
        today=_judging_day(request, plan),
        tz=app.config.tz,
        extra_deadlines=_extra_deadlines(request, plan),
        detail=detail,
        agency_id=agency_id,
        pick=pick,
        # As chat judges it: a co-led task is done when all its leads, or any, say so (config).
        co_lead_rule=app.config.report.co_lead_done,
    )


async def _task_count(session, plan: Plan) -> int:
    return await session.scalar(select(func.count()).select_from(Task).where(Task.plan_id == plan.id)) or 0


def _collector_paused(handler):
    """Pause the cyclic garbage collector for a page that reads a summary, until it is rendered.

    The summary is built with the collector paused (storage.summary): its hundreds of thousands of
    objects are all young when the collector comes back, and the next collection would walk every
    one of them while the page is rendered, only to find them all alive (a twentieth of the
    overview's time). Kept paused until the page is rendered and the summary let go, they are
    freed by reference counting and the collector finds nothing new to walk."""

    @functools.wraps(handler)
    async def paused(request: web.Request) -> web.StreamResponse:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return await handler(request)
        finally:
            if was_enabled:
                gc.enable()

    return paused


def _forbidden(request: web.Request) -> web.Response:
    return dashboard_of(request).render(
        request, "error.html", status=403, message=N_("You may not see this page.")
    )


def _page_number(request: web.Request, name: str = "page") -> int:
    try:
        return max(1, int(request.query.get(name, "1")))
    except ValueError:
        return 1


# ---------------------------------------------------------------- plans


# Earlier (ended or closed) plans per page of the Plans list.
EARLIER_SHOWN = 20


@_collector_paused
async def plans(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    rows = []
    offset = as_id(request.query.get("earlier")) or 0
    async with dashboard_of(request).app.db.snapshot() as session:
        every = (
            await session.scalars(select(Plan).where(visible()).order_by(Plan.year.desc(), Plan.id.desc()))
        ).all()
        if not viewer.is_staff:
            # Only the plans their agency may have a part in are paged: years of other agencies'
            # plans would otherwise fill the focal point's pages with nothing of theirs.
            theirs = await plans_with_a_part(session, viewer.member.agency_id)
            every = [plan for plan in every if plan.id in theirs]
        followed, earlier = lifecycle.followed_first(every, lambda plan: _status(request, plan))
        # The plans followed, then a page of earlier ones: a department keeps years of plans, and
        # each listed costs a summary.
        shown = earlier[offset : offset + EARLIER_SHOWN]
        for plan in [*(followed if not offset else ()), *shown]:
            # The list shows counts only: every task counted, none detailed (a province's plans
            # would otherwise be judged task by task, each of them, each visit).
            summary = await _summary(request, session, plan, detail=ATTENTION, pick=counts_only)
            own = summary.agency(viewer.member.agency_id) if not viewer.is_staff else None
            if not viewer.is_staff and own is None:
                # Its page lists the tasks it helps with: a plan where it only helps is its too.
                if not await helps_with_plan(session, plan.id, viewer.member.agency_id):
                    continue
                own = AgencySummary(viewer.member.agency_id, "", None)  # it answers for none
            rows.append((plan, summary, own, _status(request, plan)))
    return dashboard_of(request).render(
        request,
        "plans.html",
        rows=rows,
        status_label=status_label,
        plan_label=plan_label,
        active=lifecycle.ACTIVE,
        offset=offset,
        shown=len(shown),
        left=max(len(earlier) - offset - len(shown), 0),
    )


@dataclass
class Filters:
    agency: int | None
    reported: str | None  # what was reported
    timing: str | None
    section: int | None
    overdue_only: bool
    query: str = ""  # part of an agency's name: narrows the agency table and the picker
    missing_only: bool = False  # the agency table lists only agencies that have not reported

    @classmethod
    def from_query(cls, query) -> Filters:
        def number(name: str) -> int | None:
            return as_id(query.get(name))

        reported = query.get("reported") or None
        timing = query.get("timing") or None
        return cls(
            agency=number("agency"),
            reported=reported if reported in REPORTED else None,
            timing=timing if timing in TIMINGS else None,
            section=number("section"),
            overdue_only=query.get("overdue") == "1",
            query=" ".join(query.get("q", "").split())[:100],
            missing_only=query.get("missing") == "1",
        )

    @property
    def narrow_tasks(self) -> bool:
        return bool(self.overdue_only or self.reported or self.timing or self.section or self.agency)

    def keep(self, task) -> bool:
        if self.overdue_only and task.timing != OVERDUE:
            return False
        if self.reported and task.reported != self.reported:
            return False
        if self.timing and task.timing != self.timing:
            return False
        if self.section and task.section_id != self.section:
            return False
        if self.agency and not task.involves(self.agency):
            return False
        return True

    def agencies(self, agencies: list[AgencySummary]) -> list[AgencySummary]:
        """The agency table's rows: the one chosen, those whose name matches the search (best
        first, as chat's agency search ranks them), those that have not reported."""
        if self.agency:
            agencies = [agency for agency in agencies if agency.id == self.agency]
        if self.missing_only:
            agencies = [agency for agency in agencies if not agency.reported]
        return matching_agencies(agencies, self.query) if self.query else agencies


def matching_agencies(agencies: list[AgencySummary], query: str) -> list[AgencySummary]:
    """Agencies whose name or short name matches `query` without regard to case or diacritics,
    best match first, in their given order within a rank."""
    wanted = fold(query)
    if not wanted:
        return list(agencies)
    ranked = []
    for agency in agencies:
        spellings = (agency.name, agency.short_name) if agency.short_name else (agency.name,)
        ranks = [rank for rank in (match_rank(wanted, fold(text)) for text in spellings) if rank is not None]
        if ranks:
            ranked.append((min(ranks), agency))
    ranked.sort(key=lambda pair: pair[0])
    return [agency for _rank, agency in ranked]


def _picker(summary: Summary, filters: Filters) -> tuple[list[AgencySummary], bool]:
    """The agency picker's choices, and whether some agencies were left out of it: every agency
    while they are few; past that the first of those the search finds, so a province's picker does
    not list thousands of names on every page. The chosen agency is always among them."""
    choices = (
        matching_agencies(summary.expected_agencies, filters.query)
        if filters.query
        else summary.expected_agencies
    )
    shown = choices[:AGENCY_PICKER_LIMIT]
    chosen = summary.agency(filters.agency) if filters.agency else None
    if chosen is not None and all(agency.id != chosen.id for agency in shown):
        shown = [chosen, *shown]
    return shown, len(choices) > AGENCY_PICKER_LIMIT


def _section_picker(summary: Summary, filters: Filters) -> tuple[list[SectionSummary], bool]:
    """The section picker's choices, as the agency picker's: a province's plan has a section per
    agency, headed with its name, so the same search finds them."""
    choices = summary.sections
    if filters.query and len(choices) > AGENCY_PICKER_LIMIT:
        wanted = fold(filters.query)
        choices = [section for section in choices if match_rank(wanted, fold(section.heading)) is not None]
    shown = choices[:AGENCY_PICKER_LIMIT]
    chosen = next((section for section in summary.sections if section.id == filters.section), None)
    if chosen is not None and all(section.id != chosen.id for section in shown):
        shown = [chosen, *shown]
    return shown, len(choices) > AGENCY_PICKER_LIMIT


@dataclass
class _Layout:
    """What the overview lists, a page of each: its tasks (those the filters keep) and its agencies.

    Worked out from `TaskRef`s and counted agencies before a large plan's tasks are read, so that
    only the tasks on the page, and those of the agencies on the page, are detailed."""

    filters: Filters
    task_page_asked: int
    agency_page_asked: int
    agencies_per_page: int
    tasks: list = field(default_factory=list)  # every task kept, TaskRef or TaskSummary
    agencies: list[AgencySummary] = field(default_factory=list)  # every agency kept
    task_page: Page | None = None
    agency_page: Page | None = None

    def lay_out(self, tasks: list, agencies: list[AgencySummary]) -> None:
        # Unfiltered, every task is shown: no need to test (or remember) each of thousands.
        self.tasks = (
            [task for task in tasks if self.filters.keep(task)] if self.filters.narrow_tasks else tasks
        )
        self.agencies = self.filters.agencies(agencies)
        self.task_page = Page.of(self.task_page_asked, TASKS_PER_PAGE, len(self.tasks))
        self.agency_page = Page.of(self.agency_page_asked, self.agencies_per_page, len(self.agencies))

    def pick(self, refs: list[TaskRef], agencies: list[AgencySummary]) -> set[int]:
        """The tasks to detail: those on the page of tasks, and the kept tasks of the agencies on
        the page of agencies (their chips)."""
        self.lay_out(refs, agencies)
        chosen = {ref.id for ref in self.task_page.slice(self.tasks)}
        shown = {agency.id for agency in self.agency_page.slice(self.agencies)}
        chosen.update(ref.id for ref in self.tasks if not shown.isdisjoint(ref.answering))
        return chosen

    @property
    def shown_ids(self) -> set[int] | None:
        return {task.id for task in self.tasks} if self.filters.narrow_tasks else None


@_collector_paused
async def overview(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    dashboard = dashboard_of(request)
    filters = Filters.from_query(request.query)
    layout = _Layout(
        filters,
        _page_number(request, "page"),
        _page_number(request, "apage"),
        dashboard.app.config.web.agencies_per_page,
    )
    async with dashboard.app.db.snapshot() as session:
        plan = await _plan_or_404(session, request)
        if not viewer.is_staff:
            raise web.HTTPFound(f"/plans/{plan.id}/agencies/{viewer.member.agency_id}")
        # A city's plan is read whole; a province's (tens of thousands of tasks) is counted whole and
        # detailed only where the page shows it: the tasks on it, and the agencies' on it.
        large = await _task_count(session, plan) > LARGE_PLAN_TASKS
        if large:
            summary = await _summary(
                request, session, plan, detail=ATTENTION, agency_id=filters.agency, pick=layout.pick
            )
            shown_tasks = [
                summary.task_by_id[ref.id]
                for ref in layout.task_page.slice(layout.tasks)
                if ref.id in summary.task_by_id
            ]
        else:
            summary = await _summary(request, session, plan)
            layout.lay_out(summary.tasks, summary.expected_agencies)
            shown_tasks = layout.task_page.slice(layout.tasks)
    today = _today(request)
    upcoming = [day for day in reporting_deadlines(plan, _extra_deadlines(request, plan)) if day >= today]
    # Page links keep the filters and change only their own page number.
    kept = urlencode([(k, v) for k, v in request.query.items() if k not in ("page", "apage")])
    picker, picker_cut = _picker(summary, filters)
    section_picker, section_picker_cut = _section_picker(summary, filters)
    missing = summary.missing_agencies
    return dashboard.render(
        request,
        "overview.html",
        plan=plan,
        summary=summary,
        filters=filters,
        tasks=shown_tasks,
        task_page=layout.task_page,
        agencies=layout.agency_page.slice(layout.agencies),
        agency_page=layout.agency_page,
        picker=picker,
        picker_cut=picker_cut or section_picker_cut,
        section_picker=section_picker,
        picker_limit=AGENCY_PICKER_LIMIT,
        missing=missing[:MISSING_LISTED],
        missing_more=max(0, len(missing) - MISSING_LISTED),
        shown_ids=layout.shown_ids,
        query_prefix=f"{kept}&" if kept else "",
        reported_statuses=REPORTED,
        timings=TIMINGS,
        upcoming=upcoming[:3],
        chart=completion_chart(summary.expected_agencies),
        **_STATUS_TEXTS,
        export_formats=EXPORT_FORMATS,
        large=large,
        plan_status=_status(request, plan),
        status_label=status_label,
        active=lifecycle.ACTIVE,
    )


async def agency_page(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    dashboard = dashboard_of(request)
    async with dashboard.app.db.snapshot() as session:
        plan = await _plan_or_404(session, request)
        agency_id = path_id(request, "agency_id")
        if agency_id is None:
            raise web.HTTPNotFound(text="no such agency")
        if not viewer.may_see_agency(agency_id):
            return _forbidden(request)
        agency = await session.get(Agency, agency_id)
        if agency is None:
            raise web.HTTPNotFound(text="no such agency")
        # A province's plan: counted whole, detailed for this agency's tasks only (those it answers
        # for and those it helps with), not judged task by task.
        large = await _task_count(session, plan) > LARGE_PLAN_TASKS
        summary = await _summary(
            request,
            session,
            plan,
            detail=ATTENTION if large else ALL,
            agency_id=agency_id,
            pick=of_agency(agency_id) if large else None,
        )
        focal_points = await people.active_focal_points(session, agency_id)
    return dashboard.render(
        request,
        "agency.html",
        plan=plan,
        agency=agency,
        line=summary.agency(agency_id),
        focal_points=focal_points,
        local_time=_local_time(dashboard),
        **_STATUS_TEXTS,
    )


async def task_page(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    dashboard = dashboard_of(request)
    async with dashboard.app.db.snapshot() as session:
        plan = await _plan_or_404(session, request)
        task_id = path_id(request, "task_id")
        if task_id is None:
            raise web.HTTPNotFound(text="no such task")
        # The task alone, judged as the plan's summary judges it: not a province's plan whole.
        task = await task_summary(
            session,
            plan.id,
            task_id,
            today=_judging_day(request, plan),
            tz=dashboard.app.config.tz,
            extra_deadlines=_extra_deadlines(request, plan),
            co_lead_rule=dashboard.app.config.report.co_lead_done,
        )
        if task is None:
            raise web.HTTPNotFound(text="no such task")
        involved = {*task.lead_ids, *task.coordinating_ids}
        if not viewer.is_staff and viewer.member.agency_id not in involved:
            return _forbidden(request)
        history = await people.update_history(session, task.id)
        revisions = {update.id: await people.revisions_of(session, update.id) for update in history}
        files = await evidence_rows.of_updates(session, [update.id for update in history])
        authors = {
            member.id: member
            for member in (
                await session.scalars(
                    select(Member).where(Member.id.in_({u.member_id for u in history if u.member_id}))
                )
            ).unique()
        }
    return dashboard.render(
        request,
        "task.html",
        plan=plan,
        task=task,
        history=list(reversed(history)),
        revisions=revisions,
        files=files,
        authors=authors,
        local_time=_local_time(dashboard),
        **_STATUS_TEXTS,
    )


async def reminders(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    dashboard = dashboard_of(request)
    if not viewer.is_staff:
        return _forbidden(request)
    async with dashboard.app.db.snapshot() as session:
        plan = await _plan_or_404(session, request)
        lines = await status_by_deadline(session, plan_id=plan.id)
        upcoming = (
            await session.scalars(
                select(Reminder)
                .where(Reminder.plan_id == plan.id, Reminder.status == REMINDER_PENDING)
                .order_by(Reminder.due_at, Reminder.id)
                .limit(20)
            )
        ).all()
        names = {
            member.id: member
            for member in (
                await session.scalars(select(Member).where(Member.id.in_({r.member_id for r in upcoming})))
            ).unique()
        }
        unreachable = [m for m in await people.list_members(session) if not m.reachable]
    return dashboard.render(
        request,
        "reminders.html",
        plan=plan,
        lines=lines,
        upcoming=upcoming,
        names=names,
        unreachable=unreachable,
        kind_labels=KIND_LABELS,
        local_time=_local_time(dashboard),
    )


async def people_page(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    dashboard = dashboard_of(request)
    if not viewer.is_staff:
        return _forbidden(request)
    now = dashboard.app.clock.now()
    async with dashboard.app.db.snapshot() as session:
        members = await people.list_members(session)
        waiting = await people.pending_members(session)
        invites = await people.list_invites(session, now=now)
        agencies = (await session.scalars(select(Agency).order_by(Agency.name))).all()
        holders = await people.active_focal_points_by_agency(session)
    return dashboard.render(
        request,
        "people.html",
        members=members,
        waiting=waiting,
        invites=invites,
        agencies=agencies,
        holders=holders,
        role_label=role_label,
        focal=FOCAL,
        local_time=_local_time(dashboard),
        notice=request.query.get("done"),
    )


async def export(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    dashboard = dashboard_of(request)
    if not viewer.is_staff:
        return _forbidden(request)
    fmt = request.match_info["fmt"]
    if fmt not in EXPORT_FORMATS:
        raise web.HTTPNotFound(text="no such format")
    async with dashboard.app.db.snapshot() as session:
        plan = await _plan_or_404(session, request)
        summary = await _summary(request, session, plan)
    # Drawing a report takes a few hundred milliseconds of CPU: off the event loop, so the bot and
    # the other pages keep answering meanwhile.
    document = await asyncio.to_thread(
        render_summary,
        summary,
        fmt,
        language=viewer.language,
        tz=dashboard.app.config.tz,
        letterhead=letterhead_from_config(dashboard.app.config),
        evidence_store=open_store(dashboard.app.config),
    )
    return web.Response(
        body=document.content,
        content_type=document.mime_type,
        headers={"Content-Disposition": f'attachment; filename="{document.filename}"'},
    )


async def evidence_file(request: web.Request) -> web.StreamResponse:
    """One evidence file, to whoever may see an agency that sent it (a coordinator, or that agency's
    focal point). Served as an attachment under the name it was sent with, never rendered."""
    viewer = viewer_of(request)
    dashboard = dashboard_of(request)
    sha256 = request.match_info["sha256"]
    store = open_store(dashboard.app.config)
    async with dashboard.app.db.snapshot() as session:
        rows = (
            await session.scalars(
                select(EvidenceFile).where(
                    EvidenceFile.sha256 == sha256, EvidenceFile.state == EVIDENCE_STORED
                )
            )
        ).all()
    allowed = [row for row in rows if viewer.may_see_agency(row.agency_id)]
    if not allowed:
        return (
            _forbidden(request)
            if rows
            else dashboard.render(
                request, "error.html", status=404, message=N_("That file is not kept here.")
            )
        )
    try:
        path = store.path(sha256) if store is not None else None
    except ValueError:
        path = None
    if path is None or not path.is_file():
        return dashboard.render(request, "error.html", status=404, message=N_("That file is not kept here."))
    name = safe_name(allowed[0].original_name or "", sha256[:12])
    return web.FileResponse(
        path,
        headers={
            "Content-Type": allowed[0].mime_type or "application/octet-stream",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        },
    )


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", plans)
    router.add_get("/plans/{plan_id}", overview)
    router.add_get("/plans/{plan_id}/agencies/{agency_id}", agency_page)
    router.add_get("/plans/{plan_id}/tasks/{task_id}", task_page)
    router.add_get("/plans/{plan_id}/reminders", reminders)
    router.add_get("/plans/{plan_id}/export/{fmt}", export)
    router.add_get("/people", people_page)
    router.add_get("/evidence/{sha256}", evidence_file)


__all__ = ["Viewer", "add_routes"]
