"""Attempts counted against a limit (code guesses, registration requests), kept in the database so
that every instance of the bot counts the same ones."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class Attempt(Base):
    __tablename__ = "attempt"
    __table_args__ = (Index("ix_attempt_kind_subject_created", "kind", "subject", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # what was tried: "code_guess", "registration"
    subject: Mapped[str] = mapped_column(String(200))  # who or where: "person:telegram:42", "chat:…"
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
