"""Who may take part: invites, registration by invite, requests a coordinator approves, hand-over.

The business rules live here; the chat handlers (bot.core.handlers.onboarding) and the CLI
(bot.cli.invite) only parse and reply.

- An invite carries a role (focal with an agency, coordinator with or without one, admin), a number
  of uses (1 unless told otherwise) and an expiry. Only a hash of its token is stored.
- Registering a focal point for an agency that already has one is a hand-over: the previous focal
  point is retired (their reports stay, counted for the agency, and show in the new one's history).
- `/dangky` creates a pending member; a coordinator approves (the same hand-over applies) or rejects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from storage import people
from storage.models.people import ACTIVE, ADMIN, COORDINATOR, FOCAL, PENDING, REJECTED, ROLES, Member
from storage.models.plan import Agency

# Why an invite was refused; the chat layer turns each into a message in the user's language.
UNKNOWN = "unknown"  # no invite has this token: mistyped, truncated or made up
EXPIRED = "expired"
USED = "used"  # every use taken: a replayed link
REVOKED = "revoked"


class InviteRefused(Exception):
    def __init__(self, reason: str, invite=None):
        super().__init__(reason)
        self.reason = reason
        self.invite = invite


class AlreadyRegistered(Exception):
    def __init__(self, member: Member):
        super().__init__(member.name)
        self.member = member


@dataclass
class Registration:
    member: Member
    # Focal points of the same agency retired by this registration (a hand-over).
    replaced: list[Member] = field(default_factory=list)


@dataclass(frozen=True)
class Newcomer:
    """Who is registering, as their platform describes them."""

    platform: str
    user_id: str
    chat_id: str
    name: str
    language: str


def deep_link(bot_username: str, token: str) -> str:
    # People write the username as Telegram shows it, "@nhacviec_bot"; the link takes it bare.
    return f"https://t.me/{bot_username.strip().lstrip('@')}?start={quote(token)}"


async def issue_invite(
    session: AsyncSession,
    *,
    role: str,
    agency: Agency | None,
    now: dt.datetime,
    valid_for: dt.timedelta,
    uses: int = 1,
    created_by: Member | None = None,
) -> people.IssuedInvite:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if valid_for <= dt.timedelta(0):
        raise ValueError("an invite must stay valid for some time")
    return await people.create_invite(
        session,
        role=role,
        agency_id=agency.id if agency else None,
        expires_at=now + valid_for,
        now=now,
        uses=uses,
        created_by_id=created_by.id if created_by else None,
    )


def invite_state(invite, now: dt.datetime) -> str | None:
    """Why `invite` cannot be used now, or None when it can."""
    if invite.revoked_at is not None:
        return REVOKED
    if invite.uses_left <= 0:
        return USED
    if invite.expires_at <= now:
        return EXPIRED
    return None


async def _hand_over(session: AsyncSession, member: Member, *, now: dt.datetime) -> list[Member]:
    if member.role != FOCAL or member.agency_id is None:
        return []
    replaced = [m for m in await people.active_focal_points(session, member.agency_id) if m.id != member.id]
    for previous in replaced:
        await people.retire(session, previous, now=now)
    return replaced


async def register_with_invite(
    session: AsyncSession, token: str, newcomer: Newcomer, *, now: dt.datetime
) -> Registration:
    """Redeem `token` for `newcomer`. Raises InviteRefused or AlreadyRegistered; spends one use."""
    existing = await people.member_by_identity(session, newcomer.platform, newcomer.user_id)
    if existing is not None and existing.status == ACTIVE:
        raise AlreadyRegistered(existing)
    invite = await people.invite_by_token(session, token) if people.is_invite_token(token) else None
    if invite is None:
        raise InviteRefused(UNKNOWN)
    reason = invite_state(invite, now)
    if reason is not None:
        raise InviteRefused(reason, invite)
    if not await people.take_invite_use(session, invite, now=now):
        # Someone else took the last use between our read and our write.
        raise InviteRefused(USED, invite)
    if existing is not None and existing.status == PENDING:
        # An invite settles a pending /dangky request: the request is no longer needed.
        existing.status = REJECTED
    member = await people.add_member(
        session,
        name=newcomer.name,
        role=invite.role,
        agency_id=invite.agency_id,
        now=now,
        language=newcomer.language,
        approved_by_id=invite.created_by_id,
    )
    await _attach_newcomer(session, member, newcomer, now=now)
    replaced = await _hand_over(session, member, now=now)
    return Registration(member=member, replaced=replaced)


async def _attach_newcomer(
    session: AsyncSession, member: Member, newcomer: Newcomer, *, now: dt.datetime
) -> None:
    """The chat the newcomer wrote from becomes the member's address on that platform."""
    await people.attach_identity(
        session,
        member,
        platform=newcomer.platform,
        external_id=newcomer.user_id,
        chat_id=newcomer.chat_id,
        display_name=newcomer.name,
        now=now,
    )


async def request_registration(
    session: AsyncSession, agency: Agency, newcomer: Newcomer, *, now: dt.datetime
) -> Member:
    """A pending focal point for `agency`, waiting for a coordinator."""
    existing = await people.member_by_identity(session, newcomer.platform, newcomer.user_id)
    if existing is not None and existing.status == ACTIVE:
        raise AlreadyRegistered(existing)
    if existing is not None and existing.status == PENDING:
        # Asking again (perhaps for another agency) replaces the earlier request.
        existing.status = REJECTED
    member = await people.add_member(
        session,
        name=newcomer.name,
        role=FOCAL,
        agency_id=agency.id,
        now=now,
        status=PENDING,
        language=newcomer.language,
    )
    await _attach_newcomer(session, member, newcomer, now=now)
    return member


class NotPending(Exception):
    """The request was already decided (by another coordinator, or withdrawn)."""

    def __init__(self, member: Member | None):
        super().__init__("not pending")
        self.member = member


async def approve(
    session: AsyncSession, member_id: int, approver: Member, *, now: dt.datetime
) -> Registration:
    member = await people.get_member(session, member_id)
    if member is None or member.status != PENDING:
        raise NotPending(member)
    member.status = ACTIVE
    member.approved_by_id = approver.id
    member.approved_at = now
    replaced = await _hand_over(session, member, now=now)
    return Registration(member=member, replaced=replaced)


async def reject(session: AsyncSession, member_id: int, approver: Member, *, now: dt.datetime) -> Member:
    member = await people.get_member(session, member_id)
    if member is None or member.status != PENDING:
        raise NotPending(member)
    member.status = REJECTED
    member.approved_by_id = approver.id
    member.approved_at = now
    return member


def can_invite(inviter: Member, role: str) -> bool:
    """Coordinators invite focal points and fellow coordinators; only admins create admins."""
    if inviter.status != ACTIVE:
        return False
    if inviter.role == ADMIN:
        return True
    return inviter.role == COORDINATOR and role in (FOCAL, COORDINATOR)
