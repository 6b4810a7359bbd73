"""Group chats linked to an agency: what is said there is said for that agency.

A chat id may name one topic of a group ("<group>/<topic>", a Telegram forum topic): such a topic
can be linked on its own, and a topic not linked on its own acts for the group's agency, if any.

Every function takes the caller's session and never commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.collation import vi_sort_key
from storage.models.people import GroupLink
from storage.models.plan import Agency

TOPIC = "/"


def whole_group(chat_id: str) -> str:
    """The group a topic belongs to ("-1001/45" → "-1001"); a group's own id unchanged."""
    return chat_id.split(TOPIC, 1)[0]


async def group_agency(session: AsyncSession, platform: str, chat_id: str) -> Agency | None:
    """The agency a group chat (or topic: its own link, else its group's) is linked to, or None."""
    for candidate in dict.fromkeys((chat_id, whole_group(chat_id))):
        stmt = (
            select(Agency)
            .join(GroupLink, GroupLink.agency_id == Agency.id)
            .where(GroupLink.platform == platform, GroupLink.chat_id == candidate)
        )
        agency = (await session.execute(stmt)).scalar_one_or_none()
        if agency is not None:
            return agency
    return None


async def link_group(
    session: AsyncSession,
    *,
    platform: str,
    chat_id: str,
    agency: Agency,
    linked_by_id: int | None,
    now: dt.datetime,
) -> GroupLink:
    """Link the group to `agency`, replacing any earlier link of that group."""
    stmt = select(GroupLink).where(GroupLink.platform == platform, GroupLink.chat_id == chat_id)
    link = (await session.execute(stmt)).scalar_one_or_none()
    if link is None:
        link = GroupLink(platform=platform, chat_id=chat_id)
        session.add(link)
    link.agency_id = agency.id
    link.linked_by_id = linked_by_id
    link.created_at = now
    await session.flush()
    return link


async def move_group(session: AsyncSession, *, platform: str, chat_id: str, new_chat_id: str) -> bool:
    """The group now lives under another id (a Telegram group upgraded to a supergroup)."""
    result = await session.execute(
        update(GroupLink)
        .where(GroupLink.platform == platform, GroupLink.chat_id == chat_id)
        .values(chat_id=new_chat_id)
    )
    return bool(result.rowcount)


async def unlink_group(
    session: AsyncSession, *, platform: str, chat_id: str, with_topics: bool = False
) -> bool:
    """Remove the link of the group (or topic); `with_topics`: its topics' links as well (the bot
    left the group)."""
    where = GroupLink.chat_id == chat_id
    if with_topics:
        where = or_(where, GroupLink.chat_id.startswith(chat_id + TOPIC, autoescape=True))
    result = await session.execute(delete(GroupLink).where(GroupLink.platform == platform, where))
    return bool(result.rowcount)


async def list_group_links(
    session: AsyncSession, platform: str | None = None
) -> list[tuple[GroupLink, Agency]]:
    stmt = select(GroupLink, Agency).join(Agency, GroupLink.agency_id == Agency.id).order_by(GroupLink.id)
    if platform is not None:
        stmt = stmt.where(GroupLink.platform == platform)
    rows = [(link, agency) for link, agency in (await session.execute(stmt)).all()]
    return sorted(rows, key=lambda row: vi_sort_key(row[1].name))
