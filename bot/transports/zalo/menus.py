"""Numbered choices shown outside a chat update (a reminder's "1. Update II.1"), remembered so that a
bare number typed next answers them, as the core remembers the choices of its own replies."""

from __future__ import annotations

from bot.core.messages import Reply
from scheduler.clock import Clock
from storage import people
from storage.db import Database


class MenuMemory:
    def __init__(self, db: Database, clock: Clock):
        self._db = db
        self._clock = clock

    async def shown(self, platform: str, chat_id: str, reply: Reply) -> None:
        """`reply` was delivered to a private chat (where the chat is the user)."""
        keys = [button.data for row in reply.buttons for button in row]
        if not keys:
            return
        now = self._clock.now()
        async with self._db.transaction() as session:
            state = await people.load_state(session, platform=platform, chat_id=chat_id, user_id=chat_id)
            if state is not None and state.flow and state.expires_at > now:
                return  # in the middle of a flow: their numbers keep answering it (the core's rule)
            data = dict(state.data) if state is not None else {}
            data["menu"] = keys
            await people.save_state(
                session,
                platform=platform,
                chat_id=chat_id,
                user_id=chat_id,
                flow="",
                step="",
                data=data,
                now=now,
                expires_at=now,
            )
