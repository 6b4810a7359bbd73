"""`nhacviec groups list|link|unlink`: group chats linked to an agency, from the command line.

In chat, a coordinator types `/lienketnhom <agency>` in the group itself (see bot/groups.py); this
is for operators, and for groups whose id is known (Telegram group ids are negative numbers).
"""

from __future__ import annotations

from bot.cli import CommandError
from bot.i18n import _
from storage import group_links
from storage.agencies import find_agencies, resolve_current_agency


def register(subparsers) -> None:
    parser = subparsers.add_parser("groups", help="list, link or unlink agency group chats")
    actions = parser.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", help="linked group chats and their agencies")
    listing.set_defaults(handler=_list)

    link = actions.add_parser("link", help="link a group chat to an agency")
    link.add_argument("--chat-id", required=True, help="the group's chat id (Telegram: a negative number)")
    link.add_argument("--agency", required=True, help="the agency (any spelling: 'Sở Du lịch', 'so du lich')")
    link.add_argument("--platform", default="telegram", choices=("telegram", "zalo"))
    link.set_defaults(handler=_link)

    unlink = actions.add_parser("unlink", help="unlink a group chat")
    unlink.add_argument("--chat-id", required=True)
    unlink.add_argument("--platform", default="telegram", choices=("telegram", "zalo"))
    unlink.set_defaults(handler=_unlink)


async def _list(app, args) -> int:
    async with app.db.snapshot() as session:
        rows = [
            (link.platform, link.chat_id, agency.name)
            for link, agency in await group_links.list_group_links(session)
        ]
    if not rows:
        print(_("No group chat is linked to an agency."))
    for platform, chat_id, agency in rows:
        print(f"{platform:<9} {chat_id:<16} {agency}")
    return 0


async def _link(app, args) -> int:
    async with app.db.transaction() as session:
        agency = await resolve_current_agency(session, args.agency)
        if agency is None:
            close = await find_agencies(session, args.agency, limit=5)
            message = _("no agency named {name!r}.").format(name=args.agency)
            if close:
                message += " " + _("Did you mean: {names}?").format(names=", ".join(a.name for a in close))
            raise CommandError(message)
        await group_links.link_group(
            session,
            platform=args.platform,
            chat_id=args.chat_id,
            agency=agency,
            linked_by_id=None,
            now=app.clock.now(),
        )
        name = agency.name
    print(
        _("{platform} group {chat_id} now acts for {agency}.").format(
            platform=args.platform, chat_id=args.chat_id, agency=name
        )
    )
    return 0


async def _unlink(app, args) -> int:
    async with app.db.transaction() as session:
        removed = await group_links.unlink_group(session, platform=args.platform, chat_id=args.chat_id)
    if not removed:
        raise CommandError(
            _("{platform} group {chat_id} was not linked").format(
                platform=args.platform, chat_id=args.chat_id
            )
        )
    print(
        _("{platform} group {chat_id} is no longer linked.").format(
            platform=args.platform, chat_id=args.chat_id
        )
    )
    return 0
