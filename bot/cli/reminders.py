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

from sqlalchemy import select

from bot.cli import CommandError
from bot.reminders import calendar_from_config, policy_from_config
from scheduler import outbox
from scheduler.planner import Planner, preview
from scheduler.policy import offset_label
from storage.models.plan import Plan

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
    show.add_argument("--plan", metavar="NUMBER", help='plan number, e.g. "87/KH-UBND" (or just 87)')
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
    status.add_argument("--plan", metavar="NUMBER")
    status.add_argument("--json", action="store_true", help="print JSON rows")
    status.set_defaults(handler=_status)

    once = actions.add_parser("run-once", help="plan the reminders of the horizon now")
    once.set_defaults(handler=_run_once)


async def _find_plan(session, number: str | None) -> Plan | None:
    """The plan named by `number` ("87/KH-UBND" or "87"); with no number, the only plan there is."""
    plans = list((await session.execute(select(Plan).order_by(Plan.id))).scalars())
    if not plans:
        raise CommandError("no plan is loaded: import one with `nhacviec plan import FILE`")
    if number is None:
        if len(plans) > 1:
            numbers = ", ".join(p.number for p in plans)
            raise CommandError(f"several plans are loaded ({numbers}): choose one with --plan")
        return plans[0]
    wanted = number.strip().upper()
    exact = [p for p in plans if p.number.upper() == wanted]
    by_number = [p for p in plans if p.number.split("/")[0].strip().upper() == wanted]
    found = exact or by_number
    if len(found) != 1:
        numbers = ", ".join(p.number for p in plans)
        raise CommandError(f"no plan {number!r} (plans: {numbers})")
    return found[0]


async def _preview(app, args) -> int:
    tz = app.config.tz
    first = _date(args.first) if args.first else app.clock.now().astimezone(tz).date()
    last = _date(args.last) if args.last else first + dt.timedelta(days=DEFAULT_PREVIEW_DAYS)
    if last < first:
        raise CommandError("--to is before --from")
    async with app.db.snapshot() as session:
        plan = await _find_plan(session, args.plan)
        rows = await preview(
            session,
            policy_from_config(app.config),
            calendar_from_config(app.config),
            first_day=first,
            last_day=last,
            plan_ids=[plan.id],
            extra_reporting=app.config.plan.extra_reporting_deadlines,
        )
        number = plan.number
    if args.json:
        print(json.dumps([row.as_json() for row in rows], ensure_ascii=False, indent=2))
        return 0
    print(f"Plan {number}: {len(rows)} reminders from {first.isoformat()} to {last.isoformat()}")
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
        plan = await _find_plan(session, args.plan)
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
    )
    report = await planner.tick(app.clock.now())
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(report.planned.items())) or "nothing new"
    print(f"planned {report.total} reminders ({kinds}); the running bot sends them when due")
    return 0
