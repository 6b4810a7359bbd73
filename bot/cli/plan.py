"""`nhacviec plan import FILE | show [--plan PLAN [--year YYYY]] [--json] | list [--json]
| close PLAN [--year YYYY] | reopen PLAN [--year YYYY]`

A plan is named by its number when that is unambiguous ("87" or "87/KH-UBND"), by its number and
year (`--plan 87 --year 2026`), or by its id from `plan list`. Output is in the configured language
(`[i18n] default_language`); the JSON is language-free.
"""

from __future__ import annotations

import json
import textwrap

from bot.cli import CommandError
from bot.cli.plan_choice import add_plan_arguments, chosen_plan, listings_now, status_label
from bot.i18n import _, format_short_day, use_language
from storage.models.plan import Plan
from storage.plans import lifecycle
from storage.plans.importer import CREATED, UNCHANGED, ImportReport
from storage.plans.notices import N_, Notice, PlanFormatError
from storage.plans.parser import parse_plan_file
from storage.plans.repository import (
    coordinating_agencies,
    lead_agencies,
    load_plan,
    plan_document,
    reporting_deadlines,
)
from storage.plans.staging import import_staged

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
    "years": N_("years covered"),
    "issuer": N_("issuing body"),
}


def register(subparsers) -> None:
    parser = subparsers.add_parser("plan", help="import and show plans")
    actions = parser.add_subparsers(dest="action", required=True)

    imp = actions.add_parser(
        "import", help="import a plan (.pdf, .docx, .xlsx, .csv or .txt), or apply a revision"
    )
    imp.add_argument("file", help="the plan file")
    imp.set_defaults(handler=_import)

    show = actions.add_parser("show", help="show a plan's sections and tasks")
    add_plan_arguments(show)
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(handler=_show)

    listing = actions.add_parser("list", help="list the imported plans with their status")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)

    for name, handler, text in (
        ("close", _close, "close a plan: no more reminders; it stays readable and exportable"),
        ("reopen", _reopen, "make a closed or ended plan active again"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("plan", metavar="PLAN", help="plan number (87 or 87/KH-UBND) or id")
        action.add_argument(
            "--year", type=int, metavar="YYYY", help="the plan's year, when several share a number"
        )
        action.set_defaults(handler=handler)


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
    years = (
        str(report.year)
        if (report.end_year or report.year) == report.year
        else f"{report.year}–{report.end_year}"
    )
    lines.append(
        _("  Issued by: {issuer} · year(s): {years}").format(
            issuer=report.issuer or _("not named"), years=years
        )
    )
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
    if changes.tasks_removed:
        lines.append(
            _(
                "  Removed tasks are archived with their {count} progress update(s): reports of the cycles "
                "they were part of still show them, marked as removed from the plan."
            ).format(count=changes.updates_kept)
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
            parsed = parse_plan_file(args.file, app.config.plan.limits)
        except PlanFormatError as exc:
            raise CommandError(
                _("{reason}\nNothing was imported; the database is unchanged.").format(
                    reason=translate(exc.notice)
                )
            ) from exc
        config = app.config
        now = app.clock.now()
        try:
            # Staged in short transactions and swapped in at once: chat writes meanwhile wait for one
            # chunk at most, and nobody sees half a plan.
            report = await import_staged(
                app.db,
                parsed,
                default_issuer=config.plan.issuer,
                now=now,
                chunk=config.plan.import_chunk_tasks,
            )
        except PlanFormatError as exc:
            raise CommandError(translate(exc.notice)) from exc
        async with app.db.snapshot() as session:
            plan = await session.get(Plan, report.plan_id)
            status = lifecycle.plan_status(
                plan, now.astimezone(config.tz).date(), grace_days=config.plan.grace_days
            )
            ended_on = lifecycle.ends_on(plan, config.plan.grace_days)
        print(render_report(report))
        if status != lifecycle.ACTIVE:
            print(
                _(
                    "This plan ended on {day} (its last deadline plus {grace} days): it sends no reminders, "
                    "and stays readable and exportable. `nhacviec plan reopen` makes it active again."
                ).format(day=format_short_day(ended_on), grace=config.plan.grace_days)
            )
    return 0


async def _load(app, session, args):
    listing = await chosen_plan(app, session, args)
    return await load_plan(session, listing.id)


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
    if plan.issuer:
        out.append(_("Issued by {issuer}").format(issuer=plan.issuer))
    days = [format_short_day(d) for d in reporting_deadlines(plan, extra_deadlines)]
    out.append(
        _("Year {year} · reporting deadlines: {days}").format(
            year=plan.year, days=", ".join(days) or _("none")
        )
    )
    indent = " " * 8
    for section in sorted(plan.sections, key=lambda s: s.position):
        if section.archived_at is not None:
            continue
        agency = section.agency.name if section.agency else section.heading
        out.append("")
        out.append(f"{section.numeral}. {agency}")
        for task in sorted(section.tasks, key=lambda t: t.number):
            if task.archived_at is not None:
                continue
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
            plan = await _load(app, session, args)
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
            plans = await listings_now(app, session)
        if args.json:
            print(json.dumps([p.as_json() for p in plans], ensure_ascii=False, indent=2))
            return 0
        if not plans:
            print(_("No plan imported yet: run `nhacviec plan import FILE` first."))
            return 0
        for p in plans:
            issued = format_short_day(p.issued) if p.issued else "?"
            print(
                _("#{id} {number} ({years}) · {status} · {issuer} · issued {issued}").format(
                    id=p.id,
                    number=p.number,
                    years=p.years,
                    status=status_label(p.status),
                    issuer=p.issuer or _("issuer not named"),
                    issued=issued,
                )
            )
            print(
                "    "
                + _("{tasks} tasks, {agencies} agencies · {title}").format(
                    tasks=p.tasks, agencies=p.agencies, title=p.title
                )
            )
    return 0


async def _change_lifecycle(app, args, change) -> int:
    config = app.config
    now = app.clock.now()
    today = now.astimezone(config.tz).date()
    with use_language(config.i18n.default_language):
        async with app.db.transaction() as session:
            listing = await chosen_plan(app, session, args)
            plan = await session.get(Plan, listing.id)
            result = change(plan, today=today, now=now, by="nhacviec CLI", grace_days=config.plan.grace_days)
        label = listing.label
        if result.before == result.after:
            print(
                _("Plan {plan} is already {status}; nothing changed.").format(
                    plan=label, status=status_label(result.after)
                )
            )
        elif result.after == lifecycle.CLOSED:
            print(
                _("Closed plan {plan}: it sends no more reminders and stays readable and exportable.").format(
                    plan=label
                )
            )
        elif result.lifecycle == lifecycle.KEPT_OPEN:
            print(
                _(
                    "Reopened plan {plan}: it had ended, so it now stays active until it is closed again."
                ).format(plan=label)
            )
        else:
            print(
                _(
                    "Reopened plan {plan}: active again until {day}, its last deadline plus {grace} days."
                ).format(
                    plan=label,
                    day=format_short_day(lifecycle.ends_on(plan, config.plan.grace_days)),
                    grace=config.plan.grace_days,
                )
            )
    return 0


async def _close(app, args) -> int:
    return await _change_lifecycle(app, args, lifecycle.close)


async def _reopen(app, args) -> int:
    return await _change_lifecycle(app, args, lifecycle.reopen)
