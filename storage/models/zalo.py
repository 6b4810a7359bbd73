"""What the Zalo transports must remember between restarts: the Official Account's token pair, when
each OA follower last wrote (the reply window), and files offered to Zalo users as links."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class ZaloOAToken(Base):
    """The OA's current access token and the single-use refresh token that renews it.

    One row per app. The refresh token is spent the moment Zalo answers a refresh, so the new pair is
    stored at once, guarded by `generation` (compare-and-set), and `refreshing_until` is a lease that
    lets one instance refresh while the others wait for the result.
    """

    __tablename__ = "zalo_oa_token"

    app_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    # None when the token came from the environment and its lifetime is unknown.
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    refreshing_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Hash of the pair last taken from the environment: a new pair there (the OA was authorised
    # again) replaces the stored one; the same pair again must not undo later refreshes.
    seed_hash: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the refresh token lapses (Zalo: three months after it was issued); past it the OA must be
    # authorised again by hand. None for a pair stored before this was recorded.
    refresh_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The nearest "days left" warning the admins were sent for this refresh token (14, then 3).
    expiry_warned_days: Mapped[int | None] = mapped_column(Integer)


class ZaloOAContact(Base):
    """The last message a follower sent the OA: the OA may answer only within a window after it."""

    __tablename__ = "zalo_oa_contact"

    user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_message_id: Mapped[str | None] = mapped_column(String(100))
    last_message_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Free replies already spent on that message (Zalo allows 8 within its 48 hours).
    replies_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ZaloOAQuota(Base):
    """Paid messages the OA sent in a month (Asia/Ho_Chi_Minh), by kind ("consultation", "zns"):
    counted against the package's monthly quota (`[zalo] oa_monthly_consultation_quota`)."""

    __tablename__ = "zalo_oa_quota"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)


class ZaloSharedFile(Base):
    """A generated file (report, export) offered to a Zalo user as a link, since Zalo bots cannot
    upload documents. Only the hash of the link's token is kept; the link expires."""

    __tablename__ = "zalo_shared_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class ZaloOAEvent(Base):
    """A webhook event already taken, so that a replay of it is not handled again.

    Keyed by a hash of the message id, or of the whole signed body for events without one; kept a
    little longer than the freshness window, after which a replay is refused as stale anyway. In the
    database rather than in memory, so that a replay sent to another instance is caught too.
    """

    __tablename__ = "zalo_oa_event"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
