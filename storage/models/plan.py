"""The plan as issued: agencies, plans, sections and tasks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    FetchedValue,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, UTCDateTime, utcnow

LEAD = "lead"
COORDINATING = "coordinating"

# Agency status: what the body is today. A merged or renamed agency names its successor; its rows
# (past updates, plan texts) keep it, while current work moved to the successor.
ACTIVE = "active"
MERGED = "merged"
RENAMED = "renamed"
DISSOLVED = "dissolved"
AGENCY_STATUSES = (ACTIVE, MERGED, RENAMED, DISSOLVED)


class Agency(Base):
    """One body in the registry; every spelling of its name resolves here through `key` or aliases."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str | None] = mapped_column(String(100))
    # Folded form of `name` (lower case, no diacritics or punctuation): the identity used by matching.
    key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE, server_default=ACTIVE)
    # The day the status took effect (local date, as the decision that changed it names it).
    status_since: Mapped[dt.date | None] = mapped_column(Date)
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="SET NULL"))
    # A phrase such as "UBND các xã, phường": when it has members, each member reports for itself.
    is_group: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    aliases: Mapped[list[AgencyAlias]] = relationship(
        back_populates="agency", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


class AgencyGroupMember(Base):
    """One member of a group agency, in the order the group was defined."""

    __tablename__ = "agency_group_member"
    __table_args__ = (UniqueConstraint("group_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class AgencyEvent(Base):
    """One change to the registry, kept as history: what happened to which agency, from when."""

    __tablename__ = "agency_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # added | renamed | merged | dissolved | alias | group
    effective_on: Mapped[dt.date | None] = mapped_column(Date)
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="SET NULL"))
    # What else the change said (the old name, the aliases or members added), for `agencies show`.
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgencyAlias(Base):
    __tablename__ = "agency_alias"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(300))
    key: Mapped[str] = mapped_column(String(300), unique=True)

    agency: Mapped[Agency] = relationship(back_populates="aliases")


# How a plan's lifecycle is decided (storage.plans.lifecycle reads it with the clock and the grace).
AUTO = "auto"  # active until its last deadline plus the grace, then ended
CLOSED = "closed"  # closed by a coordinator
KEPT_OPEN = "open"  # reopened by a coordinator after it had ended: active until closed again
LIFECYCLES = (AUTO, CLOSED, KEPT_OPEN)


def _same_as_year(context) -> int:
    return context.get_current_parameters()["year"]


class Plan(Base):
    """One plan, identified by who issued it, its number and its year: numbers restart every year,
    so Hanoi's "87/KH-UBND" of 2020 and of 2026 are two plans."""

    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("issuer_key", "number", "year"),)
    # The columns the database fills in are read when needed, not returned by every insert: a plan
    # written at an earlier schema revision (a migration's test data) has none of them.
    __mapper_args__ = {"eager_defaults": False}

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(100))  # "87/KH-UBND"
    # The issuing body as the header names it ("UBND thành phố Hà Nội"), and folded for matching.
    issuer: Mapped[str] = mapped_column(String(300), default="")
    issuer_key: Mapped[str] = mapped_column(String(300), default="")
    issued: Mapped[dt.date | None] = mapped_column(Date)
    title: Mapped[str] = mapped_column(Text, default="")
    # The plan's (first) year: part of its identity, and the year a date without one falls in.
    year: Mapped[int] = mapped_column(Integer)
    # The years it covers, both inclusive ("giai đoạn 2021 - 2025"); equal to `year` for most plans.
    start_year: Mapped[int] = mapped_column(Integer, default=_same_as_year)
    end_year: Mapped[int] = mapped_column(Integer, default=_same_as_year)
    # The last day anything falls due (a reporting deadline or a task's end), set on import: the
    # plan ends on its own this many grace days later.
    last_deadline: Mapped[dt.date | None] = mapped_column(Date)
    lifecycle: Mapped[str] = mapped_column(String(20), default=AUTO)
    lifecycle_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lifecycle_changed_by: Mapped[str | None] = mapped_column(String(300))
    # ISO dates ("2020-06-20") of the reporting deadlines named in the plan's body.
    reporting_deadlines: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_name: Mapped[str | None] = mapped_column(String(500))
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Bumped by every import that changes the plan: an import staged against one revision is swapped
    # in only if the plan is still at it (storage.plans.staging), else another import won the race.
    # Filled in by the database (server default): rows written before the column existed count too.
    revision: Mapped[int] = mapped_column(Integer, server_default="0")
    # Set while an import is writing this plan in chunks: the importing process ("host:pid:nonce"),
    # its last sign of life and the agencies it registered. Such a row, its sections and tasks are
    # invisible (every query of plans has `visible()`) until the import swaps them in.
    # FetchedValue: an insert that does not set them leaves them out (the database's NULL), so code
    # and tests writing plans at an earlier schema revision still work.
    staged_by: Mapped[str | None] = mapped_column(String(200), index=True, server_default=FetchedValue())
    staged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, server_default=FetchedValue())
    staged_agencies: Mapped[list[int] | None] = mapped_column(JSON)

    sections: Mapped[list[Section]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="Section.position"
    )

    @property
    def deadline_dates(self) -> list[dt.date]:
        return [dt.date.fromisoformat(d) for d in self.reporting_deadlines or []]

    @property
    def years(self) -> range:
        first = self.start_year or self.year
        return range(first, max(self.end_year or first, first) + 1)


def visible():
    """The condition every query of plans carries: not a plan an import is still staging."""
    return Plan.staged_by.is_(None)


class Section(Base):
    __tablename__ = "section"
    __table_args__ = (UniqueConstraint("plan_id", "numeral"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    numeral: Mapped[str] = mapped_column(String(20))  # "IV"
    position: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text)  # the agency as the plan writes it
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="SET NULL"))
    # Set when a revision of the plan no longer has the section; its tasks are archived with it.
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    plan: Mapped[Plan] = relationship(back_populates="sections")
    agency: Mapped[Agency | None] = relationship(lazy="joined")
    tasks: Mapped[list[Task]] = relationship(
        back_populates="section", cascade="all, delete-orphan", order_by="Task.number"
    )


class Task(Base):
    __tablename__ = "task"
    __table_args__ = (UniqueConstraint("section_id", "number"),)
    # As for plans: `lead`, which the database fills in, is not returned by every insert.
    __mapper_args__ = {"eager_defaults": False}

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("section.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # TT within the section
    code: Mapped[str] = mapped_column(String(30))  # plan numbering, "IV.3"
    content: Mapped[str] = mapped_column(Text)
    timeframe_text: Mapped[str] = mapped_column(String(300), default="")
    start_on: Mapped[dt.date | None] = mapped_column(Date)
    end_on: Mapped[dt.date | None] = mapped_column(Date)
    # The cells as written, kept verbatim next to the agency links parsed from them.
    lead_text: Mapped[str] = mapped_column(Text, default="")
    coordinating_text: Mapped[str] = mapped_column(Text, default="")
    responsible: Mapped[str] = mapped_column(Text, default="")
    # Set when a revision of the plan dropped the task: it is kept, with its progress updates, for
    # the reports of the cycles it was part of. An archived task's `number` is parked at -id, so that
    # a new task may take its place in the section; `code` keeps the numbering it had.
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Who leads it, kept by the database's triggers on task_agency (migration 0021), never written
    # here: the lead agency's id, 0 for none, -1 when several agencies lead. Read by the overview's
    # counting statement; deferred, so that loading or adding a task never names it.
    lead: Mapped[int] = mapped_column(Integer, server_default=text("0"), deferred=True)

    section: Mapped[Section] = relationship(back_populates="tasks")
    links: Mapped[list[TaskAgency]] = relationship(
        back_populates="task", cascade="all, delete-orphan", lazy="selectin", order_by="TaskAgency.position"
    )


class TaskAgency(Base):
    __tablename__ = "task_agency"
    __table_args__ = (UniqueConstraint("task_id", "agency_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # LEAD | COORDINATING
    position: Mapped[int] = mapped_column(Integer, default=0)

    task: Mapped[Task] = relationship(back_populates="links")
    agency: Mapped[Agency] = relationship(lazy="joined")
