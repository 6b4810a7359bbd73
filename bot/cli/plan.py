"""`nhacviec plan import FILE | show [--plan NUMBER] [--json] | list [--json]`

Output is in the configured language (`[i18n] default_language`); the JSON is language-free.
"""

from __future__ import annotations

import json
import textwrap

from bot.cli import CommandError
from bot.i18n import _, format_short_day, use_language
from storage.plans.importer import CREATED, UNCHANGED, ImportReport, import_parsed_plan
from storage.plans.notices import N_, Notice, PlanFormatError
from storage.plans.parser import parse_plan_file
from storage.plans.repository import (
    AmbiguousPlan,
    coordinating_agencies,
    get_plan,
    lead_agencies,
    list_plans,
    plan_document,
    reporting_deadlines,
)

WIDTH = 100
# Names of the task fields a revision can change, as the import report shows them.
FIELD_NAMES = {
    "number": N_("number"),
    "content": N_("content"),
    "timeframe": N_("timeframe"),
    "lead": N_("lead agency"),
    "coordinating": N_("coordinating agencies"),
    "responsible": N_("responsible"),
    "issued": N_("issue date"),
    "title": N_("title"),
    "year": N_("year"),
}


def register(subparsers) -> None:
    parser = subparsers.add_parser("plan", help="import and show plans")
    actions = parser.add_subparsers(dest="action", required=True)

    imp = actions.add_parser("import", help="import a plan (.txt, .docx, .xlsx or .csv), or apply a revision")
    imp.add_argument("file", help="the plan file")
    imp.set_defaults(handler=_import)

    show = actions.add_parser("show", help="show a plan's sections and tasks")
    show.add_argument(
        "--plan", metavar="NUMBER", help="plan number, such as 87/KH-UBND or 87 (default: the latest)"
    )
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(handler=_show)

    listing = actions.add_parser("list", help="list the imported plans")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)


def translate(notice: Notice) -> str:
    return _(notice.template).format(**notice.params)


def _days(isos: list[str]) -> str:
    import datetime as dt

    return ", ".join(format_short_day(dt.date.fromisoformat(d)) for d in isos) or _("none")


def _codes(codes: list[str]) -> str:
    return ", ".join(codes)


def render_report(report: ImportReport) -> str:
    """The import report a coordinator reads after `plan import`."""
    lines = []
    if report.status == CREATED:
        lines.append(_("Imported plan {number}: {title}").format(number=report.number, title=report.title))
    elif report.status == UNCHANGED:
        lines.append(
            _("Plan {number} is unchanged: this file holds nothing new.").format(number=report.number)
        )
    else:
        lines.append(_("Updated plan {number}: {title}").format(number=report.number, title=report.title))
    lines.append(
        _("  Sections: {sections} · tasks: {tasks} · agencies: {agencies}").format(
            sections=report.sections, tasks=report.tasks, agencies=len(report.agencies)
        )
    )
    lines.append(_("  Reporting deadlines: {days}").format(days=_days(report.reporting_deadlines)))
    changes = report.changes
    if changes.plan_fields:
        names = ", ".join(_(FIELD_NAMES[f]) for f in changes.plan_fields)
        lines.append(_("  Changed in the plan's header: {fields}").format(fields=names))
    if changes.deadlines_after is not None:
        lines.append(
            _("  Reporting deadlines changed: {before} → {after}").format(
                before=_days(changes.deadlines_before or []), after=_days(changes.deadlines_after)
            )
        )
    if changes.sections_added:
        lines.append(_("  Sections added: {codes}").format(codes=_codes(changes.sections_added)))
    if changes.sections_removed:
        lines.append(_("  Sections removed: {codes}").format(codes=_codes(changes.sections_removed)))
    if changes.sections_changed:
        lines.append(_("  Sections renamed: {codes}").format(codes=_codes(changes.sections_changed)))
    if changes.tasks_added:
        lines.append(_("  Tasks added: {codes}").format(codes=_codes(changes.tasks_added)))
    if changes.tasks_removed:
        lines.append(_("  Tasks removed: {codes}").format(codes=_codes(changes.tasks_removed)))
    if changes.tasks_changed:
        lines.append(_("  Tasks changed:"))
        for change in changes.tasks_changed:
            fields = ", ".join(_(FIELD_NAMES[f]) for f in change.fields)
            if change.before_code:
                lines.append(
                    _("    {code} (was {before}): {fields}").format(
                        code=change.code, before=change.before_code, fields=fields
                    )
                )
            else:
                lines.append(_("    {code}: {fields}").format(code=change.code, fields=fields))
    if changes.updates_deleted:
        lines.append(
            _("  {count} progress update(s) of the removed tasks were deleted with them.").format(
                count=changes.updates_deleted
            )
        )
    if report.new_agencies:
        lines.append(_("  Agencies registered: {names}").format(names="; ".join(report.new_agencies)))
    if report.unknown_agencies:
        lines.append(
            _("  Not in the built-in list of agencies (check the spelling): {names}").format(
                names="; ".join(report.unknown_agencies)
            )
        )
    if report.warnings:
        lines.append(_("Warnings ({count}):").format(count=len(report.warnings)))
        lines += [f"  - {translate(w)}" for w in report.warnings]
    return "\n".join(lines)


async def _import(app, args) -> int:
    with use_language(app.config.i18n.default_language):
        # Parse before opening the unit of work: a bad file never gets as far as the database, and
        # SQLite's write lock is not held while a large workbook is read.
        try:
            parsed = parse_plan_file(args.file)
        except PlanFormatError as exc:
            raise CommandError(
                _("{reason}\nNothing was imported; the database is unchanged.").format(
                    reason=translate(exc.notice)
                )
            ) from exc
        try:
            async with app.db.transaction() as session:
                report = await import_parsed_plan(session, parsed)
        except PlanFormatError as exc:
            raise CommandError(translate(exc.notice)) from exc
        print(render_report(report))
    return 0


async def _load(session, number: str | None):
    try:
        plan = await get_plan(session, number)
    except AmbiguousPlan as exc:
        raise CommandError(
            _("{number} matches several plans: {plans}. Give the full number.").format(
                number=exc.number, plans=", ".join(exc.candidates)
            )
        ) from exc
    if plan is None:
        if number is None:
            raise CommandError(_("No plan imported yet: run `nhacviec plan import FILE` first."))
        raise CommandError(
            _("No plan numbered {number}; `nhacviec plan list` shows them.").format(number=number)
        )
    return plan


def _when(start, end) -> str:
    if start and end and start != end:
        return f"{format_short_day(start)} – {format_short_day(end)}"
    if end and not start:
        return _("by {day}").format(day=format_short_day(end))
    if end:
        return format_short_day(end)
    return _("no dates")


def render_plan(plan, extra_deadlines) -> str:
    out = []
    issued = format_short_day(plan.issued) if plan.issued else "?"
    out.append(
        _("Plan {number} of {issued}: {title}").format(number=plan.number, issued=issued, title=plan.title)
    )
    days = [format_short_day(d) for d in reporting_deadlines(plan, extra_deadlines)]
    out.append(
        _("Year {year} · reporting deadlines: {days}").format(
            year=plan.year, days=", ".join(days) or _("none")
        )
    )
    indent = " " * 8
    for section in sorted(plan.sections, key=lambda s: s.position):
        agency = section.agency.name if section.agency else section.heading
        out.append("")
        out.append(f"{section.numeral}. {agency}")
        for task in sorted(section.tasks, key=lambda t: t.number):
            wrapped = textwrap.wrap(task.content, WIDTH - len(indent)) or [""]
            out.append(f"  {task.code:<6}{wrapped[0]}")
            out += [indent + line for line in wrapped[1:]]
            out.append(
                indent
                + _("Timeframe: {text} ({dates})").format(
                    text=task.timeframe_text or "-", dates=_when(task.start_on, task.end_on)
                )
            )
            leads = ", ".join(a.name for a in lead_agencies(task)) or "-"
            out.append(indent + _("Lead: {names}").format(names=leads))
            coordinating = ", ".join(a.name for a in coordinating_agencies(task))
            if coordinating or task.coordinating_text:
                out.append(
                    indent + _("Coordinating: {names}").format(names=coordinating or task.coordinating_text)
                )
            if task.responsible:
                out.append(indent + _("Responsible: {text}").format(text=task.responsible))
    return "\n".join(out)


async def _show(app, args) -> int:
    extra = app.config.plan.extra_reporting_deadlines
    with use_language(app.config.i18n.default_language):
        async with app.db.snapshot() as session:
            plan = await _load(session, args.plan)
            text = (
                json.dumps(plan_document(plan, extra), ensure_ascii=False, indent=2)
                if args.json
                else render_plan(plan, extra)
            )
        print(text)
    return 0


async def _list(app, args) -> int:
    with use_language(app.config.i18n.default_language):
        async with app.db.snapshot() as session:
            plans = await list_plans(session)
        if args.json:
            rows = [
                {
                    "number": p.number,
                    "issued": p.issued.isoformat() if p.issued else None,
                    "title": p.title,
                    "year": p.year,
                    "sections": p.sections,
                    "tasks": p.tasks,
                }
                for p in plans
            ]
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return 0
        if not plans:
            print(_("No plan imported yet: run `nhacviec plan import FILE` first."))
            return 0
        for p in plans:
            issued = format_short_day(p.issued) if p.issued else "?"
            print(
                _("{number} ({issued}) · {sections} sections, {tasks} tasks · {title}").format(
                    number=p.number, issued=issued, sections=p.sections, tasks=p.tasks, title=p.title
                )
            )
    return 0
