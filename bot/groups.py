"""Group chats: a coordinator links a group to an agency, and then the group acts for that agency.

In a linked group, the agency's focal points and the coordinators use the bot as in a private
chat (so what a focal point reports there counts for the group's agency); anyone else is told
who may, instead of being let in. In a group not linked yet only coordinators are let in. The
linking commands are `/lienketnhom <agency>` (`/linkgroup`) and `/huylienketnhom` (`/unlinkgroup`),
typed in the group by a coordinator.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from bot.app import App
from bot.core.messages import Incoming, Reply
from bot.core.registration import add_to_group_link
from bot.i18n import _, normalize_language, use_language
from storage import group_links, people
from storage.agencies import find_agencies, resolve_current_agency, successor_of
from storage.models.people import ACTIVE, ADMIN, COORDINATOR, Member
from storage.models.plan import DISSOLVED, Agency
from storage.text import fold

log = logging.getLogger(__name__)

LINK_WORDS = frozenset({"lienketnhom", "linkgroup"})
# "/start lk12", sent in a group by Telegram when a coordinator adds the bot with the link given for
# agency 12 (bot.core.registration.add_to_group_link); "lk" alone: no agency chosen yet. Whoever
# sends it must be a coordinator, so the link itself is no secret.
_ADDED_WITH_LINK = re.compile(r"lk(\d*)")
UNLINK_WORDS = frozenset({"huylienketnhom", "unlinkgroup"})
STAFF = frozenset({COORDINATOR, ADMIN})


@dataclass
class GroupVerdict:
    """Whether the core should see the update, and what to answer in the meantime."""

    admit: bool
    replies: list[Reply] = field(default_factory=list)


def command_word(text: str) -> str:
    """'lienketnhom' for '/lienketnhom@nhacviec_bot Sở Du lịch'; '' when no command."""
    return _command(text)[0]


def _command(text: str) -> tuple[str, str]:
    """('lienketnhom', 'Sở Du lịch') for '/lienketnhom Sở Du lịch'; ('', '') when no command."""
    stripped = text.strip()
    if not stripped.startswith("/"):
        return "", ""
    word, _sep, rest = stripped[1:].partition(" ")
    return fold(word.split("@")[0]).replace(" ", ""), rest.strip()


async def _language(session, member: Member | None, incoming: Incoming, app: App) -> str:
    # The same choice as the core's (bot.core.service, Core._open), so that one person is never
    # answered in two languages: an active member's own; else one chosen in this chat before
    # registering; else the one a pending or retired member chose; else the platform's hint.
    if member is not None and member.status == ACTIVE:
        return member.language
    state = await people.load_state(
        session, platform=incoming.platform, chat_id=incoming.chat_id, user_id=incoming.user_id
    )
    if state is not None and state.data.get("language"):
        return state.data["language"]
    if member is not None:
        return member.language
    if incoming.language_hint:
        return normalize_language(incoming.language_hint)
    return app.config.i18n.default_language


def _is_staff(member: Member | None) -> bool:
    return member is not None and member.status == ACTIVE and member.role in STAFF


async def screen(app: App, incoming: Incoming, *, bot_username: str) -> GroupVerdict:
    """Handle the linking commands anywhere, and decide whether a group update reaches the core."""
    word, args = _command(incoming.text) if incoming.callback_data is None else ("", "")
    if word == "start" and incoming.is_group and (added := _ADDED_WITH_LINK.fullmatch(args)):
        word, args = "lienketnhom", f"#{added.group(1)}" if added.group(1) else ""
    if word not in LINK_WORDS | UNLINK_WORDS and not incoming.is_group:
        return GroupVerdict(admit=True)
    if word in LINK_WORDS | UNLINK_WORDS:
        async with app.db.transaction() as session:
            member = await people.member_by_identity(session, incoming.platform, incoming.user_id)
            with use_language(await _language(session, member, incoming, app)):
                reply = await _link_command(app, session, incoming, member, word, args, bot_username)
                return GroupVerdict(False, [reply])
    async with app.db.snapshot() as session:
        member = await people.member_by_identity(session, incoming.platform, incoming.user_id)
        with use_language(await _language(session, member, incoming, app)):
            agency = await group_links.group_agency(session, incoming.platform, incoming.chat_id)
            if agency is None:
                if _is_staff(member):
                    return GroupVerdict(admit=True)
                return GroupVerdict(
                    False,
                    [
                        Reply(
                            _(
                                "This group is not linked to an agency yet. A coordinator can link it with "
                                "/lienketnhom followed by the agency's name."
                            )
                        )
                    ],
                )
            if _is_staff(member) or (
                member is not None and member.status == ACTIVE and member.agency_id == agency.id
            ):
                return GroupVerdict(admit=True)
            return GroupVerdict(
                False,
                [
                    Reply(
                        _(
                            "In this group only the focal points of {agency} and the coordinators can use the bot. "
                            "To register, write to @{bot} in a private chat."
                        ).format(agency=agency.name, bot=bot_username.lstrip("@"))
                    )
                ],
            )


async def _agency_named(session, args: str) -> tuple[Agency | None, str]:
    """The agency `args` names ("#12": by id, from a link), or None and why not."""
    if args.startswith("#"):
        agency = await session.get(Agency, int(args[1:]))
        # A link given before a merge or a rename leads to the agency that carries the work on.
        agency = await successor_of(session, agency) if agency is not None else None
        if agency is None or agency.status == DISSOLVED:
            return None, _(
                "The agency in this link no longer exists. Send /lienketnhom followed by the agency's name."
            )
        return agency, ""
    agency = await resolve_current_agency(session, args)
    if agency is None:
        # People type part of the name ("du lich"); one agency matching it is the one they mean.
        close = await find_agencies(session, args, limit=5)
        if len(close) == 1:
            return close[0], ""
        reply = _("No agency matches “{name}”.").format(name=args)
        if close:
            reply += "\n" + _("Did you mean: {choices}?").format(choices="; ".join(a.name for a in close))
        return None, reply
    return agency, ""


async def _link_from_private_chat(session, incoming: Incoming, member: Member | None, args: str,
                                  bot_username: str) -> Reply:  # fmt: skip
    if not _is_staff(member) or incoming.platform != "telegram" or not bot_username:
        return Reply(_("Type this command in the group you want to link, not in a private chat."))
    if not args:
        link = add_to_group_link(bot_username, "lk")
        return Reply(
            _(
                "Type this command in the group you want to link, not in a private chat. To add me to a "
                "group first, open {link} and choose the group. To link it to an agency at the same time, "
                "send /lienketnhom followed by the agency's name here."
            ).format(link=link)
        )
    agency, why_not = await _agency_named(session, args)
    if agency is None:
        return Reply(why_not)
    link = add_to_group_link(bot_username, f"lk{agency.id}")
    return Reply(
        _(
            "To link a group to {agency}, open {link} and choose the group: I join it and link it. "
            "For a group I am already in, type /lienketnhom {agency} there."
        ).format(agency=agency.name, link=link)
    )


async def _link_command(
    app: App, session, incoming: Incoming, member: Member | None, word: str, args: str, bot_username: str = ""
) -> Reply:
    if not incoming.is_group:
        if word in LINK_WORDS:
            return await _link_from_private_chat(session, incoming, member, args, bot_username)
        return Reply(_("Type this command in the group you want to link, not in a private chat."))
    if not _is_staff(member):
        return Reply(_("Only a coordinator can link this group to an agency."))
    if word in UNLINK_WORDS:
        if await group_links.unlink_group(session, platform=incoming.platform, chat_id=incoming.chat_id):
            return Reply(_("This group is no longer linked to an agency."))
        return Reply(_("This group was not linked to an agency."))
    if not args:
        return Reply(_("Tell me which agency, for example: /lienketnhom Sở Du lịch"))
    agency, why_not = await _agency_named(session, args)
    if agency is None:
        return Reply(why_not)
    await group_links.link_group(
        session,
        platform=incoming.platform,
        chat_id=incoming.chat_id,
        agency=agency,
        linked_by_id=member.id,
        now=app.clock.now(),
    )
    return Reply(
        _(
            "This group is now linked to {agency}: what its focal points report here counts for {agency}."
        ).format(agency=agency.name)
    )


async def follow_migration(app: App, *, platform: str, chat_id: str, new_chat_id: str) -> None:
    """Keep a group's link when the platform moves the group to a new id."""
    async with app.db.transaction() as session:
        if await group_links.move_group(session, platform=platform, chat_id=chat_id, new_chat_id=new_chat_id):
            log.info("group %s/%s is now %s; its agency link follows", platform, chat_id, new_chat_id)


async def bot_removed(app: App, *, platform: str, chat_id: str, title: str) -> list[Reply]:
    """The bot was removed from a group: the group's agency link goes, and the coordinators are told,
    each in their language, since reports from that group no longer reach the bot."""
    async with app.db.transaction() as session:
        agency = await group_links.group_agency(session, platform, chat_id)
        if agency is None:
            # Only some of its topics may have been linked.
            links = [
                (link, linked)
                for link, linked in await group_links.list_group_links(session, platform)
                if group_links.whole_group(link.chat_id) == chat_id
            ]
            agency = links[0][1] if links else None
        if agency is None or not await group_links.unlink_group(
            session, platform=platform, chat_id=chat_id, with_topics=True
        ):
            return []
        agency_name = agency.name
        staff = await people.coordinators(session)
        recipients = []
        for member in staff:
            identity = next(
                (i for i in member.identities if i.reachable and i.platform == member.preferred_platform),
                next((i for i in member.identities if i.reachable), None),
            )
            if identity is not None:
                recipients.append((identity.platform, identity.chat_id, member.language))
    log.info("removed from group %s/%s: its link to %s is gone", platform, chat_id, agency_name)
    replies = []
    for to_platform, to_chat, language in recipients:
        with use_language(language):
            text = _(
                "The bot was removed from the group “{group}”, which reported for {agency}: the group is "
                "no longer linked. To link it again, add the bot back and send /lienketnhom <agency> there."
            ).format(group=title or chat_id, agency=agency_name)
        replies.append(Reply(text, to_platform=to_platform, to_chat_id=to_chat))
    return replies
