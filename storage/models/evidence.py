"""Evidence files: what a focal point sent along with an update, kept by content on disk.

The bytes live in a content-addressed store (bot.evidence); a row says which update a file backs,
what it is, and whether it has been fetched yet. A row is written with the update, in the same unit
of work, as "pending": the download happens after the commit and may fail, and the update never
depends on it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime

PENDING = "pending"
STORED = "stored"
FAILED = "failed"  # given up: too large, over the agency's allowance, an executable, or retries spent
EVIDENCE_STATES = (PENDING, STORED, FAILED)


class EvidenceFile(Base):
    __tablename__ = "evidence_file"
    __table_args__ = (Index("ix_evidence_file_state", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("progress_update.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    # Where to get it: "<platform>:<file id>" as the update's evidence says (a Zalo URL, a local path).
    source: Mapped[str] = mapped_column(Text)
    # The name the sender gave, for display only: never a path on disk.
    original_name: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(10), default=PENDING)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    size: Mapped[int | None] = mapped_column(Integer)
    mime_type: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
