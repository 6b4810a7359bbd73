"""Numbered menus: on platforms without buttons (console, Zalo) a bare number answers the last
numbered choices a person was shown. The core records them for its own replies; code that sends
buttons outside an update (the reminder engine) records them with `remember_menu`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.messages import Reply
from storage import people


def menu_keys(reply: Reply) -> list[str]:
    """The button keys of `reply` in the order with_numbered_choices numbers them."""
    return [button.data for row in reply.buttons for button in row]


async def remember_menu(
    session: AsyncSession, *, platform: str, chat_id: str, user_id: str, reply: Reply, now: dt.datetime
) -> bool:
    """Make `reply`'s buttons the numbered choices of that person; False (nothing changed) when they
    are in the middle of a flow, whose questions their numbers keep answering."""
    if not reply.buttons:
        return False
    state = await people.load_state(session, platform=platform, chat_id=chat_id, user_id=user_id)
    if state is not None and state.flow and state.expires_at > now:
        return False
    data = dict(state.data) if state is not None else {}
    data["menu"] = menu_keys(reply)
    data["menu_at"] = now.isoformat()
    await people.save_state(
        session,
        platform=platform,
        chat_id=chat_id,
        user_id=user_id,
        flow="",
        step="",
        data=data,
        now=now,
        expires_at=now,
    )
    return True
