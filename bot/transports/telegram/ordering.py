"""Concurrent update handling that keeps each chat's updates in order.

PTB handles updates one at a time by default, which caps the bot at one database round trip per
update for everyone. Handling several at once is safe across chats but not within one: a button
tap must not overtake the message that started its flow. So updates run concurrently, and those of
one chat queue behind each other in the order Telegram sent them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.transports.telegram.updates import ChatMessage


class ChatOrderedUpdates(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int):
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if isinstance(update, ChatMessage):
            chat = update.chat
        else:
            effective = update.effective_chat if isinstance(update, Update) else None
            chat = effective.id if effective is not None else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat, asyncio.Lock())
        self._users[chat] = self._users.get(chat, 0) + 1
        try:
            # asyncio.Lock wakes waiters first come, first served: arrival order is kept.
            async with lock:
                await coroutine
        finally:
            self._users[chat] -= 1
            if not self._users[chat]:
                del self._users[chat]
                del self._locks[chat]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
