"""What command menus each chat scope was last given on a platform (table chat_menu)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.menus import ChatMenu


async def shown(session: AsyncSession, platform: str) -> dict[str, dict[str, str]]:
    """{scope: {language_code: commands}} as last set on `platform`."""
    rows = await session.scalars(select(ChatMenu).where(ChatMenu.platform == platform))
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        found.setdefault(row.scope, {})[row.language_code] = row.commands
    return found


async def record(
    session: AsyncSession, platform: str, scope: str, menus: dict[str, str], *, now: dt.datetime
) -> None:
    """`scope` now shows exactly `menus` ({language_code: commands}); none when empty."""
    await session.execute(delete(ChatMenu).where(ChatMenu.platform == platform, ChatMenu.scope == scope))
    session.add_all(
        ChatMenu(platform=platform, scope=scope, language_code=code, commands=commands, set_at=now)
        for code, commands in menus.items()
    )
