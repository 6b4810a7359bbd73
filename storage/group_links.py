"""Group chats linked to an agency: what is said there is said for that agency.

Every function takes the caller's session and never commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.collation import vi_sort_key
from storage.models.people import GroupLink
from storage.models.plan import Agency


async def group_agency(session: AsyncSession, platform: str, chat_id: str) -> Agency | None:
    """The agency a group chat is linked to, or None."""
    stmt = (
        select(Agency)
        .join(GroupLink, GroupLink.agency_id == Agency.id)
        .where(GroupLink.platform == platform, GroupLink.chat_id == chat_id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


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


async def unlink_group(session: AsyncSession, *, platform: str, chat_id: str) -> bool:
    result = await session.execute(
        delete(GroupLink).where(GroupLink.platform == platform, GroupLink.chat_id == chat_id)
    )
    return bool(result.rowcount)


async def list_group_links(
    session: AsyncSession, platform: str | None = None
) -> list[tuple[GroupLink, Agency]]:
    stmt = select(GroupLink, Agency).join(Agency, GroupLink.agency_id == Agency.id).order_by(GroupLink.id)
    if platform is not None:
        stmt = stmt.where(GroupLink.platform == platform)
    rows = [(link, agency) for link, agency in (await session.execute(stmt)).all()]
    return sorted(rows, key=lambda row: vi_sort_key(row[1].name))
