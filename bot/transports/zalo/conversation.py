"""From an Incoming to the core and back: per-chat ordering, and replies to whichever chat they name."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot import groups
from bot.app import App
from bot.core.messages import Incoming
from bot.transports.replies import ReplyCourier

log = logging.getLogger(__name__)


class ChatQueue:
    """Handles updates concurrently across chats, strictly in order within a chat, `limit` at once."""

    def __init__(self, limit: int = 16):
        self._slots = asyncio.Semaphore(limit)
        self._tails: dict[str, asyncio.Task] = {}
        self._tasks: set[asyncio.Task] = set()
        # Updates taken so far: with `in_flight`, tells "handled" from "not arrived yet".
        self.accepted = 0

    def submit(self, chat_key: str, job: Callable[[], Awaitable[None]]) -> asyncio.Task:
        self.accepted += 1
        previous = self._tails.get(chat_key)

        async def run() -> None:
            if previous is not None:
                # The chat's earlier update first; its failure is its own (logged there).
                await asyncio.gather(previous, return_exceptions=True)
            async with self._slots:
                try:
                    await job()
                except Exception:
                    log.exception("handling an update from chat %s failed", chat_key)

        task = asyncio.create_task(run())
        self._tails[chat_key] = task
        self._tasks.add(task)

        def forget(done: asyncio.Task) -> None:
            self._tasks.discard(done)
            if self._tails.get(chat_key) is done:
                del self._tails[chat_key]

        task.add_done_callback(forget)
        return task

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for every accepted update to be handled (the caller bounds how long)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class Conversation:
    """Runs the core on one Incoming and delivers its replies."""

    def __init__(self, app: App, core, courier: ReplyCourier, bot_name: str = ""):
        self.app = app
        self.core = core
        self.courier = courier
        # The bot's account name, for "write to … in a private chat" (set once Zalo has said it).
        self.bot_name = bot_name

    async def handle(self, incoming: Incoming) -> None:
        # Groups follow the same rules on every platform (bot.groups): linking commands, and in a
        # group only its agency's focal points and the coordinators reach the core.
        verdict = await groups.screen(self.app, incoming, bot_username=self.bot_name)
        replies = list(verdict.replies)
        if verdict.admit:
            replies += await self.core.handle(incoming)
        for reply in replies:
            if reply.to_chat_id is not None:
                # Another chat, perhaps on another platform: the process's registry has its transport.
                await self.courier.deliver(reply.to_platform or incoming.platform, reply.to_chat_id, reply)
                continue
            # An OA answers the follower's message itself: every reply quotes it, which is what makes
            # it a free reply rather than a paid message (see docs/zalo.md).
            reply_to = incoming.message_id if incoming.platform == "zalo_oa" else None
            await self.courier.deliver(incoming.platform, incoming.chat_id, reply, reply_to=reply_to)
