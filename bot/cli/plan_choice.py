"""`--plan NUMBER [--year YYYY]` (or the plan's id from `plan list`) for every command that names a
plan, resolved in one place: an ambiguous or unknown reference stops the command with the candidates."""

from __future__ import annotations

from bot.cli import CommandError
from bot.i18n import _
from storage.plans.repository import AmbiguousPlan, PlanListing, UnknownPlan, list_plans, resolve_plan


def add_plan_arguments(parser, *, default_help: str | None = None) -> None:
    parser.add_argument(
        "--plan",
        metavar="PLAN",
        help=default_help
        or "plan number (87/KH-UBND or 87), or its id from `plan list` (default: the only active plan)",
    )
    parser.add_argument(
        "--year", type=int, metavar="YYYY", help="the plan's year, when several share a number"
    )


def _candidates(listings: list[PlanListing]) -> str:
    return "\n".join(
        "  "
        + _("#{id} {label} · {status} · {title}").format(
            id=p.id, label=p.label, status=status_label(p.status), title=p.title
        )
        for p in listings
    )


def status_label(status: str) -> str:
    return {"active": _("active"), "ended": _("ended"), "closed": _("closed")}.get(status, status)


async def listings_now(app, session) -> list[PlanListing]:
    config = app.config
    return await list_plans(
        session,
        today=app.clock.now().astimezone(config.tz).date(),
        grace_days=config.plan.grace_days,
        extra=config.plan.extra_reporting_deadlines,
    )


async def chosen_plan(app, session, args) -> PlanListing:
    """The plan `--plan`/`--year` name; without `--plan`, the only active plan (or the only plan)."""
    listings = await listings_now(app, session)
    if not listings:
        raise CommandError(_("No plan imported yet: run `nhacviec plan import FILE` first."))
    reference = getattr(args, "plan", None)
    try:
        return await resolve_plan(session, reference, year=getattr(args, "year", None), listings=listings)
    except AmbiguousPlan as exc:
        if not reference:
            intro = _("Several plans could be meant; choose one with --plan (and --year):")
        else:
            intro = _("“{reference}” matches several plans; add --year, or give the plan's id:").format(
                reference=exc.reference
            )
        raise CommandError(intro + "\n" + _candidates(exc.candidates)) from exc
    except UnknownPlan as exc:
        raise CommandError(
            _("No plan matches “{reference}”. The plans are:").format(reference=exc.reference or "")
            + "\n"
            + _candidates(exc.candidates)
        ) from exc
