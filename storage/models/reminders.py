"""The durable outbox of reminders: planned rows, claimed with a lease, acknowledged one by one."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, UTCDateTime, utcnow
from storage.models.people import Member
from storage.models.plan import Agency

# Reminder kinds, as the preview and the JSON output name them.
REPORT = "report"
QUARTER = "quarter"
TASK = "task"
OVERDUE = "overdue"
ESCALATION = "escalation"
KINDS = (REPORT, QUARTER, TASK, OVERDUE, ESCALATION)
# The kinds of deadline a reminder can be about (an overdue reminder or a digest is about one of these).
DEADLINE_KINDS = (REPORT, QUARTER, TASK)

# Outbox lifecycle.
PENDING = "pending"
CLAIMED = "claimed"
SENT = "sent"
FAILED = "failed"  # retries exhausted, or an error nobody can act on
UNREACHABLE = "unreachable"  # the platform said the recipient cannot be written to (blocked, gone)
CANCELLED = "cancelled"  # the agency reported before it went out, or the recipient left
SUPERSEDED = "superseded"  # a later reminder for the same deadline covers it
EXPIRED = "expired"  # no longer useful
STATUSES = (PENDING, CLAIMED, SENT, FAILED, UNREACHABLE, CANCELLED, SUPERSEDED, EXPIRED)


class Reminder(Base):
    __tablename__ = "reminder"
    # Few indexes on purpose: planning writes hundreds of thousands of rows a tick at province scale
    # and every index is paid on each of them. Claims use (status, available_at); a person's rows
    # (supersession within a chain, an agency's reminders when it reports) are found through member_id.
    __table_args__ = (Index("ix_reminder_status_available", "status", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Idempotency key: deadline, kind, offset and recipient. Planning the same horizon twice inserts
    # nothing new because this column is unique.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    # The reminders one recipient gets about one deadline, before and after it: when several of a
    # chain are due at once (after downtime), only the latest is sent.
    chain: Mapped[str] = mapped_column(String(200))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    # What the deadline is (report | quarter | task); `kind` says what this reminder does about it.
    deadline_kind: Mapped[str] = mapped_column(String(20))
    deadline: Mapped[dt.date] = mapped_column(Date)
    # Calendar days before the deadline; negative: working days after it (overdue, escalation).
    offset_days: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    # Which progress updates settle it: those of the agency counted for `cycle` (when set), created
    # at or after `counts_since` (when set), and on `task_id` (when set).
    cycle: Mapped[dt.date | None] = mapped_column(Date)
    counts_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # When a sender may next try it: `due_at` at first, later after a retry's backoff.
    available_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Past this instant the reminder is no longer worth sending.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    platform: Mapped[str | None] = mapped_column(String(20))
    message_id: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[Member] = relationship(lazy="joined")
    agency: Mapped[Agency | None] = relationship(lazy="joined")


class RateBudget(Base):
    """A token bucket shared by every instance on the same database (one row per platform)."""

    __tablename__ = "rate_budget"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
