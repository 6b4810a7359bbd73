"""`nhacviec invite create|list|revoke`: invites from the command line.

The very first coordinator comes from here: `nhacviec invite create --role coordinator` prints a code
that registers whoever sends `/start CODE` to the bot first (and, when a Telegram bot is configured,
its deep link).

`--agency` is required for a focal point and optional for the other roles: a coordinator or admin
invited with an agency keeps it as the department they work in (shown beside their role); their
rights still cover every agency.
"""

from __future__ import annotations

import datetime as dt

from bot.cli import CommandError
from bot.core import registration
from bot.core.handlers.access import role_label
from bot.core.parsing import parse_duration
from bot.i18n import N_, _, ngettext
from bot.transports.registry import configured_platforms
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
        raise CommandError(_("--uses must be at least 1"))
    if args.expires is None:
        valid_for = dt.timedelta(days=app.config.chat.invite_days)
    else:
        valid_for = parse_duration(args.expires)
        if valid_for is None:
            raise CommandError(
                _("--expires {value!r}: give a duration such as 7d, 48h or 2w").format(value=args.expires)
            )
    if args.role == FOCAL and not args.agency:
        raise CommandError(_("a focal point invite needs --agency NAME"))
    now = app.clock.now()
    async with app.db.transaction() as session:
        agency = None
        if args.agency:
            agency = await resolve_current_agency(session, args.agency)
            if agency is None:
                close = await find_agencies(session, args.agency, limit=5)
                message = _("no agency named {name!r}.").format(name=args.agency)
                if close:
                    message += " " + _("Did you mean: {names}?").format(
                        names=", ".join(a.name for a in close)
                    )
                raise CommandError(message + " " + _("(`nhacviec agencies list` shows them)"))
        issued = await registration.issue_invite(
            session, role=args.role, agency=agency, now=now, valid_for=valid_for, uses=args.uses
        )
        expires = issued.invite.expires_at.astimezone(app.config.tz)
        role = role_label(args.role)
        who = _("{role} for {agency}").format(role=role, agency=agency.name) if agency else role
    print(
        ngettext(
            "Invite #{id}: {who}, {uses} use, valid until {expires}",
            "Invite #{id}: {who}, {uses} uses, valid until {expires}",
            args.uses,
        ).format(id=issued.invite.id, who=who, uses=args.uses, expires=f"{expires:%Y-%m-%d %H:%M %Z}")
    )
    print(_("Code:      {code}").format(code=issued.token))
    if "telegram" in configured_platforms(app.config):
        # Only a bot someone configured has a link worth opening.
        link = registration.deep_link(app.config.telegram.bot_username, issued.token)
        print(_("Telegram:  {link}").format(link=link))
    print(_("Any chat:  /start {code}").format(code=issued.token))
    print(_("The code is shown only now; only its hash is stored."))
    return 0


INVITE_STATES = {
    "active": N_("usable"),
    registration.EXPIRED: N_("expired"),
    registration.USED: N_("used"),
    registration.REVOKED: N_("revoked"),
    registration.UNKNOWN: N_("unknown"),
}


def _state(invite, now) -> str:
    return _(INVITE_STATES[registration.invite_state(invite, now) or "active"])


async def _list(app, args) -> int:
    now = app.clock.now()
    async with app.db.snapshot() as session:
        invites = await people.list_invites(session, now=now, include_inactive=args.all)
        rows = [
            (
                invite.id,
                role_label(invite.role),
                invite.agency.name if invite.agency else "-",
                invite.uses_left,
                invite.expires_at.astimezone(app.config.tz).strftime("%Y-%m-%d %H:%M"),
                _state(invite, now),
            )
            for invite in invites
        ]
    if not rows:
        print(_("No usable invites.") if not args.all else _("No invites."))
        return 0
    # Translated first: the extractor does not look inside f-strings.
    role, uses, expires, state, agency = _("role"), _("uses"), _("expires"), _("state"), _("agency")
    print(f"{'#':>4}  {role:<16} {uses:>4}  {expires:<16}  {state:<10} {agency}")
    for number, role, agency, uses, expires, state in rows:
        print(f"{number:>4}  {role:<16} {uses:>4}  {expires:<16}  {state:<10} {agency}")
    return 0


async def _revoke(app, args) -> int:
    async with app.db.transaction() as session:
        invite = await people.revoke_invite(session, args.id, now=app.clock.now())
        if invite is None:
            raise CommandError(_("no invite #{id}").format(id=args.id))
    print(_("Invite #{id} revoked.").format(id=args.id))
    return 0
