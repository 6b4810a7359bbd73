"""Chat replies a platform would not take for a while, kept until it does."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime


class ParkedReply(Base):
    """A reply to a chat that failed past the inline retries (the platform rate-limited us, answered
    5xx or timed out). Rows of one chat go out in id order; a delivered row is deleted.

    `payload` is the reply as the bot layer serialised it (JSON); storage does not read it.
    `claimed_until` is a short lease so that two instances never send the same row at once.
    """

    __tablename__ = "parked_reply"
    __table_args__ = (Index("ix_parked_reply_chat", "platform", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    # The platform message the reply answers (a Zalo OA reply quotes it).
    reply_to: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    # The language the reply was written in, for the note that says it comes late.
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
