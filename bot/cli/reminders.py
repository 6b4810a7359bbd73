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
import re

from bot.cli import CommandError
from bot.cli.plan_choice import add_plan_arguments, chosen_plan
from bot.reminders import calendar_from_config, policy_from_config
from scheduler import outbox
from scheduler.calendar import extra_deadlines
from scheduler.planner import Planner, preview
from scheduler.policy import offset_label
from storage.models.plan import Plan
from storage.plans import lifecycle

DEFAULT_PREVIEW_DAYS = 30
STATUS_COLUMNS = ("pending", "sent", "failed", "unreachable", "cancelled", "superseded", "expired")


def _date(text: str) -> dt.date:
    """YYYY-MM-DD, or the Vietnamese D/M/YYYY."""
    value = text.strip()
    try:
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", value):
            day, month, year = (int(part) for part in value.split("/"))
            return dt.date(year, month, day)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{text!r} is not a date: write 2020-06-20 or 20/6/2020") from None


def register(subparsers) -> None:
    parser = subparsers.add_parser("reminders", help="reminder schedule and outbox")
    actions = parser.add_subparsers(dest="action", required=True)

    show = actions.add_parser("preview", help="what would be sent, when, to which agency")
    add_plan_arguments(show)
    show.add_argument("--from", dest="first", metavar="DATE", help="first day (default: today)")
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
    first = _date(args.first) if args.first else app.clock.now().astimezone(tz).date()
    last = _date(args.last) if args.last else first + dt.timedelta(days=DEFAULT_PREVIEW_DAYS)
    if last < first:
        raise CommandError("--to is before --from")
    async with app.db.snapshot() as session:
        plan = await _find_plan(app, session, args)
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
    print(f"Plan {label}: {len(rows)} reminders from {first.isoformat()} to {last.isoformat()}")
    if status == lifecycle.CLOSED:
        print("The plan is closed: it sends no reminders (`nhacviec plan reopen` makes it active again).")
    elif last_active is not None and last_active < last:
        verb = "ended" if status == lifecycle.ENDED else "ends"
        print(
            f"The plan {verb} on {last_active.isoformat()} (its last deadline plus {grace} days): "
            "it sends nothing after that day."
        )
    for row in rows:
        who = row.agency or "coordinators (digest)"
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
            f"Plan {number}: no reminders planned yet (the running bot plans them; or `nhacviec reminders run-once`)"
        )
        return 0
    print(f"Plan {number}")
    header = f"{'deadline':<11} {'kind':<8} " + " ".join(f"{c:>11}" for c in STATUS_COLUMNS)
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
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(report.planned.items())) or "nothing new"
    print(f"planned {report.total} reminders ({kinds}); the running bot sends them when due")
    return 0
