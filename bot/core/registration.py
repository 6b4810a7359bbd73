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

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import phone
from storage import limits, people
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


def add_to_group_link(bot_username: str, payload: str) -> str:
    """Telegram's link that lets a person pick one of their groups, adds the bot to it and sends
    "/start <payload>" there in their name."""
    return f"https://t.me/{bot_username.strip().lstrip('@')}?startgroup={quote(payload)}"


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


async def _hand_over(
    session: AsyncSession, role: str, agency_id: int | None, *, now: dt.datetime, keep: Member | None = None
) -> list[Member]:
    """Retire the agency's active focal points before a new one (`role` focal) takes the post."""
    if role != FOCAL or agency_id is None:
        return []
    current = await people.active_focal_points(session, agency_id)
    replaced = [m for m in current if keep is None or m.id != keep.id]
    for previous in replaced:
        await people.retire(session, previous, now=now)
    return replaced


class FocalPointConflict(Exception):
    """Another focal point of the agency took the post at the same moment (on another instance);
    nothing of this registration was stored."""

    def __init__(self, agency_id: int | None):
        super().__init__(f"agency {agency_id} got another focal point at the same moment")
        self.agency_id = agency_id


@contextlib.asynccontextmanager
async def _taking_up_post(session: AsyncSession, agency_id: int | None):
    """Everything a registration changes, in a savepoint: when the database refuses a second
    active focal point, all of it is undone and the caller gets FocalPointConflict."""
    try:
        async with session.begin_nested():
            yield
            await session.flush()
    except IntegrityError as refused:
        if not people.is_active_focal_conflict(refused):
            raise
        raise FocalPointConflict(agency_id) from refused


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
    async with _taking_up_post(session, invite.agency_id):
        if not await people.take_invite_use(session, invite, now=now):
            # Someone else took the last use between our read and our write.
            raise InviteRefused(USED, invite)
        if existing is not None and existing.status == PENDING:
            # An invite settles a pending /dangky request: the request is no longer needed.
            existing.status = REJECTED
        # The hand-over comes first: the database holds one active focal point per agency at a time.
        replaced = await _hand_over(session, invite.role, invite.agency_id, now=now)
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
    # Loaded now: the replies name the agency, and nothing may load lazily in async code.
    await session.refresh(member, ["agency"])
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


class AlreadyPending(Exception):
    """The person's request for this agency is already waiting: asking again adds nothing."""

    def __init__(self, member: Member):
        super().__init__(member.name)
        self.member = member


class TooManyRequests(Exception):
    """Limits against flooding the coordinators with requests (`reason`: PERSON, CHAT or AGENCY)."""

    def __init__(self, reason: str, count: int):
        super().__init__(reason)
        self.reason = reason
        self.count = count


PERSON, CHAT, AGENCY = "person", "chat", "agency"
# Requests one person may send in a day (asking again for another agency replaces the earlier one).
REQUESTS_PER_PERSON_PER_DAY = 3
# Requests sent from one chat in a day, whoever sends them: several people in a group, or taking
# turns on a shared phone, each within their own limit, would otherwise flood the coordinators.
REQUESTS_PER_CHAT_PER_DAY = 5
REQUEST_KIND = "registration_request"


async def request_registration(
    session: AsyncSession,
    agency: Agency,
    newcomer: Newcomer,
    *,
    now: dt.datetime,
    pending_per_agency: int = 3,
) -> Member:
    """A pending focal point for `agency`, waiting for a coordinator.

    One pending request per person (asking again for the same agency raises AlreadyPending; for
    another agency it replaces the earlier one, a few times a day at most) and at most
    `pending_per_agency` people waiting for one agency: each request messages every coordinator.
    """
    existing = await people.member_by_identity(session, newcomer.platform, newcomer.user_id)
    if existing is not None and existing.status == ACTIVE:
        raise AlreadyRegistered(existing)
    if existing is not None and existing.status == PENDING and existing.agency_id == agency.id:
        raise AlreadyPending(existing)
    subject = limits.person(newcomer.platform, newcomer.user_id)
    where = limits.chat(newcomer.platform, newcomer.chat_id)
    since = now - dt.timedelta(days=1)
    asked = await limits.count(session, REQUEST_KIND, subject, since=since)
    if asked >= REQUESTS_PER_PERSON_PER_DAY:
        raise TooManyRequests(PERSON, asked)
    asked_here = await limits.count(session, REQUEST_KIND, where, since=since)
    if asked_here >= REQUESTS_PER_CHAT_PER_DAY:
        raise TooManyRequests(CHAT, asked_here)
    waiting = [
        m
        for m in await people.pending_members(session)
        if m.agency_id == agency.id and (existing is None or m.id != existing.id)
    ]
    if len(waiting) >= pending_per_agency:
        raise TooManyRequests(AGENCY, len(waiting))
    await limits.record(session, REQUEST_KIND, [subject, where], now=now)
    if existing is not None and existing.status == PENDING:
        # Asking for another agency replaces the earlier request.
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
    async with _taking_up_post(session, member.agency_id):
        replaced = await _hand_over(session, member.role, member.agency_id, now=now, keep=member)
        member.status = ACTIVE
        member.approved_by_id = approver.id
        member.approved_at = now
    return Registration(member=member, replaced=replaced)


async def reject(session: AsyncSession, member_id: int, approver: Member, *, now: dt.datetime) -> Member:
    member = await people.get_member(session, member_id)
    if member is None or member.status != PENDING:
        raise NotPending(member)
    member.status = REJECTED
    member.approved_by_id = approver.id
    member.approved_at = now
    # A number given while waiting served only the membership that was refused.
    phone.withdraw(member)
    return member


def can_invite(inviter: Member, role: str) -> bool:
    """Coordinators invite focal points and fellow coordinators; only admins create admins."""
    if inviter.status != ACTIVE:
        return False
    if inviter.role == ADMIN:
        return True
    return inviter.role == COORDINATOR and role in (FOCAL, COORDINATOR)


# ---------------------------------------------------------------- roles

# Why a role change was refused; the chat and the CLI each word them.
NOT_ALLOWED = "not-allowed"  # only an administrator (or the operator, on the command line) changes roles
NOT_ACTIVE = "not-active"  # retired, pending or rejected: nothing to change
SAME_ROLE = "same-role"
LAST_ADMIN = "last-admin"  # the deployment would be left without anyone who can manage it
NO_AGENCY = "no-agency"  # a focal point reports for an agency: invite them as one instead


class RoleRefused(Exception):
    def __init__(self, reason: str, member: Member | None = None):
        super().__init__(reason)
        self.reason = reason
        self.member = member


@dataclass
class RoleChange(Registration):
    before: str = ""


def may_change_roles(actor: Member | None) -> bool:
    """Administrators, in chat; `None` is the operator at the command line."""
    return actor is None or (actor.status == ACTIVE and actor.role == ADMIN)


async def check_role_change(
    session: AsyncSession, member: Member | None, role: str, *, by: Member | None
) -> None:
    """Raise RoleRefused when `by` may not make `member` a `role` now."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if not may_change_roles(by):
        raise RoleRefused(NOT_ALLOWED, member)
    if member is None or member.status != ACTIVE:
        raise RoleRefused(NOT_ACTIVE, member)
    if member.role == role:
        raise RoleRefused(SAME_ROLE, member)
    if member.role == ADMIN:
        # The active admins' rows are locked (PostgreSQL; SQLite's write lock already serialises),
        # so two admins demoting each other on two instances cannot both count two: the second
        # waits for the first to commit, then counts again.
        admins = (
            await session.scalars(
                select(Member.id).where(Member.role == ADMIN, Member.status == ACTIVE).with_for_update()
            )
        ).all()
        if len(admins) <= 1:
            raise RoleRefused(LAST_ADMIN, member)
    if role == FOCAL and member.agency_id is None:
        raise RoleRefused(NO_AGENCY, member)


async def change_role(
    session: AsyncSession, member_id: int | None, role: str, *, by: Member | None, now: dt.datetime
) -> RoleChange:
    """Make an active member a `role`. Becoming an agency's focal point is a hand-over (the agency's
    current focal point is retired); leaving that post leaves the agency without one until someone
    registers. The chat (/vaitro) and the CLI (`nhacviec members role`) both come here."""
    member = await people.get_member(session, member_id)
    await check_role_change(session, member, role, by=by)
    before = member.role
    async with _taking_up_post(session, member.agency_id):
        replaced = await _hand_over(session, role, member.agency_id, now=now, keep=member)
        member.role = role
    return RoleChange(member=member, replaced=replaced, before=before)
