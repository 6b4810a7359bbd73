"""The one interface every transport implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.core.messages import Reply
from scheduler.delivery import DeliveryError

__all__ = ["DeliveryError", "Recipient", "SetupError", "Transport", "split_text"]


class SetupError(Exception):
    """A platform's settings cannot work; the message says which and why."""


@dataclass(frozen=True)
class Recipient:
    platform: str
    chat_id: str
    language: str = "vi"


class Transport(Protocol):
    platform: str
    max_text_length: int

    async def send(self, recipient: Recipient, reply: Reply) -> str:
        """Deliver `reply`; return the platform's id of the (first) message sent.

        Raises DeliveryError, whose `permanent` says whether retrying could help.
        """
        ...


def split_text(text: str, limit: int) -> list[str]:
    """Split at line boundaries into chunks of at most `limit` characters.

    A single line longer than the limit is cut at the last space before it, or hard at the limit.
    """
    if limit <= 0:
        raise ValueError("limit must be positive")
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            head, line = line[:cut], line[cut:].lstrip(" ")
            if current:
                chunks.append(current)
                current = ""
            chunks.append(head)
        candidate = line if not current else current + "\n" + line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks
