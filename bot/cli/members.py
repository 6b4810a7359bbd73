"""`nhacviec members list [--all] [--json]`: who is registered, for which agency, on which platforms.
`nhacviec members role ID ROLE`: change a member's role, as /vaitro does in chat (same rules).
`nhacviec members phone ID NUMBER --consent-given` / `--clear`: the phone number Zalo Notification
Service messages go to, recorded by an admin who collected it with the member's consent."""

from __future__ import annotations

import json

from bot.cli import CommandError
from bot.core import phone as phones
from bot.core import registration
from bot.core.handlers.access import describe_member, role_label
from bot.i18n import N_, _, use_language
from storage import people
from storage.models.people import ACTIVE, PENDING, REJECTED, RETIRED, ROLES

# The JSON keeps the stored codes; the table shows them in words.
MEMBER_STATES = {
    ACTIVE: N_("registered"),
    PENDING: N_("pending"),
    RETIRED: N_("retired"),
    REJECTED: N_("rejected"),
}


def register(subparsers) -> None:
    parser = subparsers.add_parser("members", help="registered members")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="active and pending members (--all: also retired and rejected)")
    listing.add_argument("--all", action="store_true")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    phone = actions.add_parser(
        "phone", help="record a member's phone number for ZNS reminders (with their consent), or clear it"
    )
    phone.add_argument("member_id", type=int)
    phone.add_argument("number", nargs="?", help="0912345678, +84912345678 or 84912345678")
    phone.add_argument(
        "--consent-given",
        action="store_true",
        help="the member agreed that reminders may reach them by ZNS at this number",
    )
    phone.add_argument("--clear", action="store_true", help="forget the number")
    phone.set_defaults(handler=_phone)
    role = actions.add_parser(
        "role",
        help="change a member's role (focal, coordinator, admin); Telegram menus follow within "
        "[telegram] menu_check_seconds",
    )
    role.add_argument("member_id", type=int)
    role.add_argument("role", choices=ROLES)
    role.set_defaults(handler=_role)


async def _phone(app, args) -> int:
    if args.clear == bool(args.number):
        raise CommandError("give either a phone number (with --consent-given) or --clear")
    number = None
    if args.number:
        number = phones.normalise_phone(args.number)
        if number is None:
            raise CommandError(f"{args.number!r} is not a Vietnamese mobile number (e.g. 0912345678)")
        if not args.consent_given:
            raise CommandError("record a number only with the member's consent: add --consent-given")
    async with app.db.transaction() as session:
        member = await people.get_member(session, args.member_id)
        if member is None:
            raise CommandError(f"no member #{args.member_id}")
        if number:
            phones.record(member, number, now=app.clock.now())
        else:
            phones.withdraw(member)
        name = member.name
    print(f"{name}: ZNS number {number}" if number else f"{name}: phone number cleared")
    return 0


# What the operator is told when a change is refused (the chat words its own, bot.core.handlers.roles).
ROLE_REFUSALS = {
    registration.NOT_ACTIVE: "member #{id} is not an active member",
    registration.SAME_ROLE: "member #{id} already has that role",
    registration.LAST_ADMIN: "member #{id} is the only administrator: make someone else one first",
    registration.NO_AGENCY: "member #{id} belongs to no agency, so cannot be its focal point: invite them",
}


async def _role(app, args) -> int:
    async with app.db.transaction() as session:
        member = await people.get_member(session, args.member_id)
        if member is None:
            raise CommandError(f"no member #{args.member_id}")
        try:
            change = await registration.change_role(
                session, member.id, args.role, by=None, now=app.clock.now()
            )
        except registration.RoleRefused as refused:
            raise CommandError(ROLE_REFUSALS[refused.reason].format(id=args.member_id)) from None
        except registration.FocalPointConflict:
            raise CommandError("the agency got another focal point at the same moment; try again") from None
        name, before, after = change.member.name, role_label(change.before), describe_member(change.member)
        retired = [previous.name for previous in change.replaced]
        notices = _role_notices(change)
    print(f"{name}: {before} → {after}")
    if retired:
        print(_("Retired (hand-over): {names}").format(names=", ".join(retired)))
    if notices:
        # As /vaitro does in chat: the member hears of it, and so does a focal point it retired.
        from bot.cli.agencies import tell_in_chat

        await tell_in_chat(app, notices)
    return 0


def _role_notices(change: registration.RoleChange) -> list:
    # Loaded here, not with the command line: only a role change needs them.
    from bot.core.handlers.onboarding import handed_over_text
    from bot.core.messages import Reply

    notices = []
    member = change.member
    identity = people.identity_for(member)
    if identity is not None:
        with use_language(member.language):
            text = _(
                "An administrator changed your role from {before} to {after}. Send /trogiup to see what "
                "you can do now."
            ).format(before=role_label(change.before), after=describe_member(member))
        notices.append(Reply(text, to_platform=identity.platform, to_chat_id=identity.chat_id))
    for previous in change.replaced:
        identity = people.identity_for(previous)
        if identity is None:
            continue
        text = handed_over_text(previous, member)
        notices.append(Reply(text, to_platform=identity.platform, to_chat_id=identity.chat_id))
    return notices


async def _list(app, args) -> int:
    async with app.db.snapshot() as session:
        members = await people.list_members(session, include_retired=args.all)
        rows = [
            {
                "id": member.id,
                "name": member.name,
                "role": member.role,
                "agency": member.agency.name if member.agency else None,
                "status": member.status,
                "language": member.language,
                "platforms": sorted({identity.platform for identity in member.identities}),
                "reachable": member.reachable,
            }
            for member in members
        ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print(
            _(
                "No members yet. Create the first coordinator with `nhacviec invite create --role coordinator`."
            )
        )
        return 0
    # Translated first: the extractor does not look inside f-strings.
    name, role, status, platforms, agency = _("name"), _("role"), _("status"), _("platforms"), _("agency")
    print(f"{'#':>4}  {name:<24} {role:<16} {status:<12} {platforms:<16} {agency}")
    for row in rows:
        platforms = ",".join(row["platforms"]) or "-"
        status = _(MEMBER_STATES[row["status"]]) if row["status"] in MEMBER_STATES else row["status"]
        print(
            f"{row['id']:>4}  {row['name'][:24]:<24} {role_label(row['role']):<16} {status:<12} "
            f"{platforms:<16} {row['agency'] or '-'}"
        )
    return 0
