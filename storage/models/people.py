"""Who takes part and what they said: members, identities, invites, progress updates, chat state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    event,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.dialects import ByDialect
from storage.models.base import Base, UTCDateTime, utcnow
from storage.models.plan import Agency, Task

# Roles
FOCAL = "focal"
COORDINATOR = "coordinator"
ADMIN = "admin"
ROLES = (FOCAL, COORDINATOR, ADMIN)

# Member lifecycle: pending (asked with /dangky) → active; active → retired on hand-over.
PENDING = "pending"
ACTIVE = "active"
REJECTED = "rejected"
RETIRED = "retired"

# Progress statuses as a focal point reports them (the derived task status is computed, not stored).
NOT_STARTED = "not_started"  # chưa triển khai
IN_PROGRESS = "in_progress"  # đang thực hiện
DONE = "done"  # hoàn thành
BLOCKED = "blocked"  # gặp vướng mắc
UPDATE_STATUSES = (NOT_STARTED, IN_PROGRESS, DONE, BLOCKED)

NOTE_MAX_CHARS = 1000


# One active focal point per agency, enforced by the database: two registrations racing on two
# instances cannot both win. A partial index, so retired and pending members are not counted.
ACTIVE_FOCAL_WHERE = "role = 'focal' AND status = 'active'"


class Member(Base):
    __tablename__ = "member"
    # Its partial unique index (one active focal point per agency) is declared by
    # `declare_dialect_indexes`, for the tools that compare or create the schema.

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    language: Mapped[str] = mapped_column(String(10), default="vi")
    preferred_platform: Mapped[str | None] = mapped_column(String(20))
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    unreachable_reason: Mapped[str | None] = mapped_column(Text)
    unreachable_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A phone number for Zalo Notification Service messages, kept only with the member's consent
    # (given at registration, or recorded by an admin who collected it): E.164 digits, "84912345678".
    phone: Mapped[str | None] = mapped_column(String(20))
    phone_consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set when a coordinator approves a /dangky request or an invite registers the member.
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    agency: Mapped[Agency | None] = relationship(lazy="joined")
    identities: Mapped[list[Identity]] = relationship(
        back_populates="member", cascade="all, delete-orphan", lazy="selectin"
    )


class Identity(Base):
    """A member's address on one platform: the user id there and the chat to write to."""

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(20))  # telegram | zalo | zalo_oa | console
    external_id: Mapped[str] = mapped_column(String(100))
    chat_id: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str | None] = mapped_column(String(200))
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[Member] = relationship(back_populates="identities")


class Invite(Base):
    """A single-use (unless told otherwise), expiring invite; only the token's hash is kept."""

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    uses_left: Mapped[int] = mapped_column(Integer, default=1)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    agency: Mapped[Agency | None] = relationship(lazy="joined")


class ProgressUpdate(Base):
    """One report on one task by one agency, counted towards one reporting cycle."""

    __tablename__ = "progress_update"
    __table_args__ = (
        Index("ix_progress_update_cycle_agency", "cycle", "agency_id"),
        Index("ix_progress_update_task_created", "task_id", "created_at"),
        # The summary finds each task's latest update with one seek and reads its status from the
        # index alone; and whether an agency reported in a date range with one probe.
        Index("ix_progress_update_task_cycle", "task_id", "cycle", "id", "status", "created_at"),
        Index("ix_progress_update_agency_created", "agency_id", "created_at"),
        # Each agency's latest update on a task, with one seek per (task, agency) and one more to
        # step to the next agency that reported on the task (storage.summary).
        Index("ix_progress_update_task_agency", "task_id", "agency_id", "cycle", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    percent: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str | None] = mapped_column(Text)  # a link, or "<platform>:<file id>"
    # The reporting deadline (cycle end) this update counts towards.
    cycle: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Where it came from, so that an edit of that chat message finds this row.
    source_platform: Mapped[str | None] = mapped_column(String(20))
    source_chat_id: Mapped[str | None] = mapped_column(String(100))
    source_message_id: Mapped[str | None] = mapped_column(String(100))

    task: Mapped[Task] = relationship(lazy="joined")
    member: Mapped[Member | None] = relationship(lazy="joined")
    revisions: Mapped[list[UpdateRevision]] = relationship(
        back_populates="update", cascade="all, delete-orphan", order_by="UpdateRevision.id"
    )


class LatestInCycle(Base):
    """Each agency's newest update on a task among those counted towards one cycle, with what the
    rules read of it: the summary reads these rows instead of walking every update
    (storage.latest_updates, storage.summary_sql). Written with each update and each edit, in the
    same flush (`_keep_latest`, `_keep_latest_edited`)."""

    __tablename__ = "progress_latest"
    __table_args__ = (
        # A task's newest word of all, for a cycle: one seek (storage.summary_sql).
        Index("ix_progress_latest_task_cycle", "task_id", "cycle", "update_id"),
        # An agency's newest kept word: read from the newest back, a step or two (storage.summary_sql).
        Index("ix_progress_latest_agency_created", "agency_id", "created_at"),
    )

    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True)
    cycle: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("progress_update.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    percent: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class TaskLatest(Base):
    """Each task's newest word of anyone: the newest of its kept rows (`LatestInCycle`), latest cycle
    first. A cycle overview reads it by the task's key instead of seeking through the kept rows of
    every task (storage.summary_sql); for an earlier cycle it still seeks where this row is newer.
    Written with each update and each edit, in the same flush."""

    __tablename__ = "task_latest"

    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), primary_key=True)
    cycle: Mapped[dt.date] = mapped_column(Date)
    update_id: Mapped[int] = mapped_column(ForeignKey("progress_update.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    percent: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def _newest_upsert(table, insert, keys: tuple[str, ...], newer):
    """Insert a kept row, or overwrite the one with the same `keys` when `newer(kept, excluded)`
    says the new update supersedes it. Every column is bound as `p_<column>`."""
    statement = insert(table).values(
        {column.name: bindparam(f"p_{column.name}", type_=column.type) for column in table.c}
    )
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[table.c[key] for key in keys],
        set_={column.name: excluded[column.name] for column in table.c if column.name not in keys},
        where=newer(table.c, excluded),
    )


def _kept_upserts(insert) -> list:
    """What each stored update writes beside it: the newest per (task, agency, cycle), the newest
    update id winning; and the newest per task, the latest cycle first, then the newest id."""
    return [
        _newest_upsert(
            LatestInCycle.__table__,
            insert,
            ("task_id", "agency_id", "cycle"),
            lambda kept, new: kept.update_id < new.update_id,
        ),
        _newest_upsert(
            TaskLatest.__table__,
            insert,
            ("task_id",),
            lambda kept, new: or_(
                kept.cycle < new.cycle, and_(kept.cycle == new.cycle, kept.update_id < new.update_id)
            ),
        ),
    ]


def declare_dialect_indexes() -> None:
    """Add to the models' metadata the indexes whose options name a dialect.

    Such an option makes SQLAlchemy import that dialect to check it, and the PostgreSQL dialect
    costs a bot on SQLite 2 MB it never uses. The migrations create these indexes; only what
    compares the models with a database or creates tables from them (Alembic's autogenerate, the
    schema tests) needs them in the metadata, and calls this first."""
    table = Member.__table__
    if any(index.name == "uq_member_active_focal" for index in table.indexes):
        return
    Index(
        "uq_member_active_focal",
        table.c.agency_id,
        unique=True,
        sqlite_where=text(ACTIVE_FOCAL_WHERE),
        postgresql_where=text(ACTIVE_FOCAL_WHERE),
    )


# Built once per dialect: building the upserts for every stored update cost more than running them.
_KEPT_UPSERTS = ByDialect(_kept_upserts)


def keep_latest(connection, row: ProgressUpdate) -> None:
    """Point the kept rows at the new update `row` (its id set) unless a newer one is already
    there. Every way an update is stored comes here: the ORM's flush below, and the chat's own
    insert (`storage.people.add_update`)."""
    values = {
        "p_task_id": row.task_id,
        "p_agency_id": row.agency_id,
        "p_cycle": row.cycle,
        "p_update_id": row.id,
        "p_status": row.status,
        "p_percent": row.percent,
        "p_created_at": row.created_at,
    }
    for upsert in _KEPT_UPSERTS[connection.dialect.name == "postgresql"]:
        connection.execute(upsert, values)


@event.listens_for(ProgressUpdate, "after_insert")
def _keep_latest(_mapper, connection, row: ProgressUpdate) -> None:
    keep_latest(connection, row)


@event.listens_for(ProgressUpdate, "after_update")
def _keep_latest_edited(_mapper, connection, row: ProgressUpdate) -> None:
    """An edit changes what an update says, never which update is newest."""
    for table in (LatestInCycle.__table__, TaskLatest.__table__):
        connection.execute(
            table.update().where(table.c.update_id == row.id).values(status=row.status, percent=row.percent)
        )


class UpdateRevision(Base):
    """The text an update had before an edit replaced it."""

    __tablename__ = "update_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("progress_update.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    percent: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text)
    replaced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    update: Mapped[ProgressUpdate] = relationship(back_populates="revisions")


class ConversationState(Base):
    """Where a user is in a guided flow; kept here so that a restart mid-flow keeps their place."""

    __tablename__ = "conversation_state"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(100))
    flow: Mapped[str] = mapped_column(String(50))
    step: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ProcessedUpdate(Base):
    """Platform update ids already handled: a re-delivered update is recognised and not stored twice."""

    __tablename__ = "processed_update"
    __table_args__ = (UniqueConstraint("platform", "update_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    update_key: Mapped[str] = mapped_column(String(200))
    processed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class GroupLink(Base):
    """A group chat linked to one agency: commands there act for that agency."""

    __tablename__ = "group_link"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallbackAction(Base):
    """What a button does, kept server-side: the button itself carries only `key`.

    A forged or guessed key finds nothing, and a key is honoured only for the platform user it was
    issued to, so tapping (or replaying) someone else's button cannot act for them.
    """

    __tablename__ = "callback_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(100))
    # The chat the button was shown in: a numbered answer typed elsewhere does not reach it.
    # None on buttons made before chats were recorded.
    chat_id: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
