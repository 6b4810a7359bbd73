"""What command menus each chat scope was last given on a platform (table chat_menu)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import upsert_for
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
    """`scope` now shows exactly `menus` ({language_code: commands}); none when empty.

    Instances started together bring the same menus up to date at the same moment: each row is
    written with an upsert, so the second writer overwrites the first's equal row instead of
    failing on its key (a delete-then-insert did, and the instance stopped)."""
    stale = delete(ChatMenu).where(ChatMenu.platform == platform, ChatMenu.scope == scope)
    if menus:
        stale = stale.where(ChatMenu.language_code.not_in(list(menus)))
    await session.execute(stale)
    if not menus:
        return
    insert = upsert_for(session.bind.dialect.name)
    statement = insert(ChatMenu).values(
        [
            {"platform": platform, "scope": scope, "language_code": code, "commands": commands, "set_at": now}
            for code, commands in menus.items()
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ChatMenu.platform, ChatMenu.scope, ChatMenu.language_code],
            set_={"commands": statement.excluded.commands, "set_at": statement.excluded.set_at},
        )
    )
