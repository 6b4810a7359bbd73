"""A stand-in for a chat platform: it records what it is asked to send, when (by the test's clock),
and fails the way the real platforms do when a test tells it to."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque
from dataclasses import dataclass, field

from bot.core.messages import Reply
from bot.transports.base import Recipient
from scheduler.clock import Clock


@dataclass(frozen=True)
class SentMessage:
    at: dt.datetime
    platform: str
    chat_id: str
    language: str
    text: str
    buttons: tuple[tuple[str, str], ...]  # (label, data)


class Crash(BaseException):
    """The process dies (BaseException, like SystemExit: nothing in the engine catches it)."""


@dataclass
class RecordingTransport:
    clock: Clock
    platform: str = "console"
    max_text_length: int = 4096
    sent: list[SentMessage] = field(default_factory=list)
    # chat id -> errors to raise, one per send to that chat, before anything is recorded.
    failures: dict[str, deque] = field(default_factory=dict)
    # chat ids whose next send is recorded (it reached the platform) and then the process dies.
    crash_after_send: set[str] = field(default_factory=set)
    # When set: refuse (as Telegram does, with retry_after) a send that would make more than this
    # many in any one second.
    enforce_per_second: int | None = None
    rejected: int = 0

    def fail(self, chat_id: str, *errors: BaseException) -> None:
        self.failures.setdefault(chat_id, deque()).extend(errors)

    async def send(self, recipient: Recipient, reply: Reply) -> str:
        # The moment the request leaves; then control goes back to the event loop, as a real request
        # would, so concurrent senders interleave.
        now = self.clock.now()
        await asyncio.sleep(0)
        queue = self.failures.get(recipient.chat_id)
        if queue:
            raise queue.popleft()
        if self.enforce_per_second is not None:
            window_start = now - dt.timedelta(seconds=1)
            recent = sum(1 for m in self.sent if m.at > window_start)
            if recent >= self.enforce_per_second:
                from scheduler.delivery import DeliveryError

                self.rejected += 1
                raise DeliveryError("Too Many Requests", permanent=False, retry_after=1)
        buttons = tuple((b.label, b.data) for row in reply.buttons for b in row)
        self.sent.append(
            SentMessage(now, self.platform, recipient.chat_id, recipient.language, reply.text, buttons)
        )
        if recipient.chat_id in self.crash_after_send:
            self.crash_after_send.discard(recipient.chat_id)
            raise Crash(f"process died after sending to {recipient.chat_id}")
        return str(len(self.sent))

    def to(self, chat_id: str) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]
