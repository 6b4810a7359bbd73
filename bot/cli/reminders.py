"""`nhacviec reminders preview|status|run-once`

- preview: what would be sent, when, to which agency, for which deadline and offset — by agency, so
  it works before anyone has registered. `--json` prints a list of rows
  `{"send_at", "deadline", "kind", "offset_days", "agency", "task"}` (a digest to coordinators has
  agency and task null).
- status: the outbox per deadline: pending, sent, failed, unreachable (and cancelled, superseded,
  expired).
- run-once: one planner tick now (what the running bot does every few minutes), then the counts.
"""

from __future__ import annotations

import datetime as dt
import json

from bot.cli import CommandError
from bot.cli.dates import day_option
from bot.cli.plan_choice import add_plan_arguments, chosen_plan
from bot.i18n import _
from bot.reminders import calendar_from_config, policy_from_config
from scheduler import outbox
from scheduler.calendar import extra_deadlines
from scheduler.planner import Planner, preview
from scheduler.policy import offset_label
from storage.models.plan import Plan
from storage.plans import lifecycle

DEFAULT_PREVIEW_DAYS = 30
STATUS_COLUMNS = ("pending", "sent", "failed", "unreachable", "cancelled", "superseded", "expired")


def register(subparsers) -> None:
    parser = subparsers.add_parser("reminders", help="reminder schedule and outbox")
    actions = parser.add_subparsers(dest="action", required=True)

    show = actions.add_parser("preview", help="what would be sent, when, to which agency")
    add_plan_arguments(show)
    show.add_argument(
        "--from",
        dest="first",
        metavar="DATE",
        help="first day: 20/6, 20/6/2020 or 2020-06-20 (default: today)",
    )
    show.add_argument(
        "--to",
        dest="last",
        metavar="DATE",
        help=f"last day (default: {DEFAULT_PREVIEW_DAYS} days after --from)",
    )
    show.add_argument("--json", action="store_true", help="print JSON rows")
    show.set_defaults(handler=_preview)

    status = actions.add_parser("status", help="pending, sent, failed and unreachable reminders per deadline")
    add_plan_arguments(status)
    status.add_argument("--json", action="store_true", help="print JSON rows")
    status.set_defaults(handler=_status)

    once = actions.add_parser("run-once", help="plan the reminders of the horizon now")
    once.set_defaults(handler=_run_once)


async def _find_plan(app, session, args) -> Plan:
    listing = await chosen_plan(app, session, args)
    return await session.get(Plan, listing.id)


async def _preview(app, args) -> int:
    tz = app.config.tz
    async with app.db.snapshot() as session:
        plan = await _find_plan(app, session, args)
        # Days without a year ("20/6") fall in the plan's year, as in the chat.
        first = day_option(args.first, "--from", year=plan.year) or app.clock.now().astimezone(tz).date()
        last = day_option(args.last, "--to", year=plan.year) or first + dt.timedelta(
            days=DEFAULT_PREVIEW_DAYS
        )
        if last < first:
            raise CommandError(_("--to is before --from"))
        rows = await preview(
            session,
            policy_from_config(app.config),
            calendar_from_config(app.config),
            first_day=first,
            last_day=last,
            plan_ids=[plan.id],
            extra_reporting=app.config.plan.extra_reporting_deadlines,
            grace_days=app.config.plan.grace_days,
        )
        number = plan.number
        today = app.clock.now().astimezone(tz).date()
        grace = app.config.plan.grace_days
        extra = extra_deadlines(plan.years, app.config.plan.extra_reporting_deadlines)
        status = lifecycle.plan_status(plan, today, grace_days=grace, extra=extra)
        last_active = lifecycle.active_through(plan, grace, extra)
    if args.json:
        print(json.dumps([row.as_json() for row in rows], ensure_ascii=False, indent=2))
        return 0
    label = (
        f"{number} ({plan.start_year}–{plan.end_year})"
        if plan.end_year != plan.start_year
        else f"{number} ({plan.year})"
    )
    print(
        _("Plan {number}: {count} reminders from {first} to {last}").format(
            number=label, count=len(rows), first=first.isoformat(), last=last.isoformat()
        )
    )
    if status == lifecycle.CLOSED:
        print(_("The plan is closed: it sends no reminders (`nhacviec plan reopen` makes it active again)."))
    elif last_active is not None and last_active < last:
        message = (
            _(
                "The plan ended on {day} (its last deadline plus {grace} days): it sends nothing after that day."
            )
            if status == lifecycle.ENDED
            else _(
                "The plan ends on {day} (its last deadline plus {grace} days): it sends nothing after that day."
            )
        )
        print(message.format(day=last_active.isoformat(), grace=grace))
    digest = _("coordinators (digest)")
    for row in rows:
        who = row.agency or digest
        task = f" {row.task}" if row.task else ""
        print(
            f"{row.send_at:%Y-%m-%d %H:%M}  {row.kind:<10} {row.deadline.isoformat()} "
            f"{offset_label(row.offset_days):<4} {who}{task}"
        )
    return 0


async def _status(app, args) -> int:
    async with app.db.snapshot() as session:
        plan = await _find_plan(app, session, args)
        lines = await outbox.status_by_deadline(session, plan_id=plan.id)
        number = plan.number
    rows = [
        {
            "deadline": line.deadline.isoformat(),
            "kind": line.deadline_kind,
            **{
                column: (line.pending if column == "pending" else line.counts[column])
                for column in STATUS_COLUMNS
            },
        }
        for line in lines
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print(
            _(
                "Plan {number}: no reminders planned yet (the running bot plans them; or "
                "`nhacviec reminders run-once`)"
            ).format(number=number)
        )
        return 0
    print(_("Plan {number}").format(number=number))
    deadline, kind = _("deadline"), _("kind")  # outside the f-string, where the extractor sees them
    header = f"{deadline:<11} {kind:<8} " + " ".join(f"{c:>11}" for c in STATUS_COLUMNS)
    print(header)
    for row in rows:
        print(f"{row['deadline']:<11} {row['kind']:<8} " + " ".join(f"{row[c]:>11}" for c in STATUS_COLUMNS))
    return 0


async def _run_once(app, args) -> int:
    config = app.config
    planner = Planner(
        app.db,
        policy_from_config(config),
        calendar_from_config(config),
        horizon=dt.timedelta(days=config.reminders.horizon_days),
        extra_reporting=config.plan.extra_reporting_deadlines,
        grace_days=config.plan.grace_days,
    )
    report = await planner.tick(app.clock.now())
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(report.planned.items())) or _("nothing new")
    print(
        _("planned {count} reminders ({kinds}); the running bot sends them when due").format(
            count=report.total, kinds=kinds
        )
    )
    return 0
