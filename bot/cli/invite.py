"""`nhacviec invite create|list|revoke`: invites from the command line.

The very first coordinator comes from here: `nhacviec invite create --role coordinator` prints a code
(and a Telegram deep link) that registers whoever sends `/start CODE` to the bot first.

`--agency` is required for a focal point and optional for the other roles: a coordinator or admin
invited with an agency keeps it as the department they work in (shown beside their role); their
rights still cover every agency.
"""

from __future__ import annotations

import datetime as dt

from bot.cli import CommandError
from bot.core import registration
from bot.core.parsing import parse_duration
from storage import people
from storage.agencies import find_agencies, resolve_current_agency
from storage.models.people import ADMIN, COORDINATOR, FOCAL

ROLES = (FOCAL, COORDINATOR, ADMIN)


def register(subparsers) -> None:
    parser = subparsers.add_parser("invite", help="create, list or revoke invites")
    actions = parser.add_subparsers(dest="action", required=True)

    create = actions.add_parser("create", help="create an invite and print its code and Telegram link")
    create.add_argument("--agency", help="the agency (any spelling: 'Sở Du lịch', 'so du lich', 'Sở TTTT')")
    create.add_argument("--role", choices=ROLES, default=FOCAL, help="focal (default), coordinator or admin")
    create.add_argument(
        "--uses", type=int, default=1, help="how many people may register with it (default 1)"
    )
    create.add_argument(
        "--expires", default=None, help="validity, such as 7d, 48h, 2w (default: [chat] invite_days)"
    )
    create.set_defaults(handler=_create)

    listing = actions.add_parser("list", help="invites still usable (--all: also used, expired, revoked)")
    listing.add_argument("--all", action="store_true")
    listing.set_defaults(handler=_list)

    revoke = actions.add_parser("revoke", help="withdraw an invite by its number (from `invite list`)")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(handler=_revoke)


async def _create(app, args) -> int:
    if args.uses < 1:
        raise CommandError("--uses must be at least 1")
    if args.expires is None:
        valid_for = dt.timedelta(days=app.config.chat.invite_days)
    else:
        valid_for = parse_duration(args.expires)
        if valid_for is None:
            raise CommandError(f"--expires {args.expires!r}: give a duration such as 7d, 48h or 2w")
    if args.role == FOCAL and not args.agency:
        raise CommandError("a focal point invite needs --agency NAME")
    now = app.clock.now()
    async with app.db.transaction() as session:
        agency = None
        if args.agency:
            agency = await resolve_current_agency(session, args.agency)
            if agency is None:
                close = await find_agencies(session, args.agency, limit=5)
                hint = f" Did you mean: {', '.join(a.name for a in close)}?" if close else ""
                raise CommandError(
                    f"no agency named {args.agency!r}.{hint} (`nhacviec agencies list` shows them)"
                )
        issued = await registration.issue_invite(
            session, role=args.role, agency=agency, now=now, valid_for=valid_for, uses=args.uses
        )
        expires = issued.invite.expires_at.astimezone(app.config.tz)
        who = f"{args.role} for {agency.name}" if agency else args.role
    print(f"Invite #{issued.invite.id}: {who}, {args.uses} use(s), valid until {expires:%Y-%m-%d %H:%M %Z}")
    print(f"Code:      {issued.token}")
    print(f"Telegram:  {registration.deep_link(app.config.telegram.bot_username, issued.token)}")
    print(f"Any chat:  /start {issued.token}")
    print("The code is shown only now; only its hash is stored.")
    return 0


def _state(invite, now) -> str:
    return registration.invite_state(invite, now) or "active"


async def _list(app, args) -> int:
    now = app.clock.now()
    async with app.db.snapshot() as session:
        invites = await people.list_invites(session, now=now, include_inactive=args.all)
        rows = [
            (
                invite.id,
                invite.role,
                invite.agency.name if invite.agency else "-",
                invite.uses_left,
                invite.expires_at.astimezone(app.config.tz).strftime("%Y-%m-%d %H:%M"),
                _state(invite, now),
            )
            for invite in invites
        ]
    if not rows:
        print("No usable invites." if not args.all else "No invites.")
        return 0
    print(f"{'#':>4}  {'role':<12} {'uses':>4}  {'expires':<16}  {'state':<8} agency")
    for number, role, agency, uses, expires, state in rows:
        print(f"{number:>4}  {role:<12} {uses:>4}  {expires:<16}  {state:<8} {agency}")
    return 0


async def _revoke(app, args) -> int:
    async with app.db.transaction() as session:
        invite = await people.revoke_invite(session, args.id, now=app.clock.now())
        if invite is None:
            raise CommandError(f"no invite #{args.id}")
    print(f"Invite #{args.id} revoked.")
    return 0
