"""Repositories for people and what they say: members, identities, invites, progress updates,
processed platform updates, conversation state and server-side button actions.

Every function takes the caller's session and never commits: the unit of work is the caller's.
Times are passed in (`now`), never read from the wall clock, so tests can move them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, make_transient_to_detached

from storage.dialects import MAY_TAKE_LONG, ByDialect
from storage.models.people import (
    ACTIVE,
    ADMIN,
    COORDINATOR,
    FOCAL,
    PENDING,
    RETIRED,
    CallbackAction,
    ConversationState,
    Identity,
    Invite,
    Member,
    ProcessedUpdate,
    ProgressUpdate,
    UpdateRevision,
    keep_latest,
)
from storage.models.plan import Agency

# 18 random bytes = 144 bits, above the 128 the threat model asks for; 24 URL-safe characters fit
# Telegram's 64-character /start payload.
INVITE_TOKEN_BYTES = 18
# Button keys only need to be unguessable for as long as they live, and must fit 64-byte callback data.
CALLBACK_KEY_BYTES = 12


_TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
# secrets.token_urlsafe(n) gives the base64 of n bytes, unpadded.
INVITE_TOKEN_LENGTH = -(-INVITE_TOKEN_BYTES * 4 // 3)


def is_invite_token(text: str) -> bool:
    """Whether `text` has the shape of an invite token (known or not): what the log redactor and
    the registration both read as one."""
    return len(text) == INVITE_TOKEN_LENGTH and set(text) <= _TOKEN_ALPHABET


def hash_token(token: str) -> str:
    """The form an invite token is stored in: a leaked database does not yield usable invites."""
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- members and identities


async def member_by_identity(session: AsyncSession, platform: str, external_id: str) -> Member | None:
    """The member behind a platform user, whatever their status (pending, active, retired…)."""
    stmt = (
        select(Member)
        .join(Identity, Identity.member_id == Member.id)
        .where(Identity.platform == platform, Identity.external_id == external_id)
        # Every incoming message starts here, so one statement: the member, their agency and all
        # their identities joined, where the mapped defaults would take three (identities and the
        # agency's aliases each by a second SELECT). Nothing reads a member's agency's aliases; a
        # query that needs them (find_agencies) loads them onto the same object.
        .options(joinedload(Member.agency).lazyload(Agency.aliases), joinedload(Member.identities))
    )
    return (await session.execute(stmt)).unique().scalar_one_or_none()


async def member_and_state(
    session: AsyncSession, *, platform: str, external_id: str, chat_id: str
) -> tuple[Member | None, ConversationState | None]:
    """`member_by_identity` and `load_state` (for `chat_id`) at once: every incoming message needs
    both, and a registered member's come in one statement. Someone unknown has no identity to join
    their chat state to, so theirs is read on its own."""
    params = {"platform": platform, "external_id": external_id, "chat_id": chat_id}
    row = (await session.execute(_MEMBER_AND_STATE, params)).unique().one_or_none()
    if row is None:
        return None, await load_state(session, platform=platform, chat_id=chat_id, user_id=external_id)
    return row[0], row[1]


# Built once with bound parameters: building it for every message cost a tenth of a /trogiup.
_MEMBER_AND_STATE = (
    select(Member, ConversationState)
    .join(Identity, Identity.member_id == Member.id)
    .outerjoin(
        ConversationState,
        and_(
            ConversationState.platform == Identity.platform,
            ConversationState.user_id == Identity.external_id,
            ConversationState.chat_id == bindparam("chat_id"),
        ),
    )
    .where(Identity.platform == bindparam("platform"), Identity.external_id == bindparam("external_id"))
    .options(joinedload(Member.agency).lazyload(Agency.aliases), joinedload(Member.identities))
)


def heard_from(member: Member, *, platform: str, external_id: str, chat_id: str) -> bool:
    """The member wrote to the bot in the chat it sends them reminders in, so it can reach them
    there again (they unblocked the bot, or restarted the chat): that identity, and with it the
    member, are reachable again. A message in a group proves nothing about their private chat.
    True when anything changed."""
    changed = False
    for identity in member.identities:
        if (identity.platform, identity.external_id, identity.chat_id) != (platform, external_id, chat_id):
            continue
        if not identity.reachable:
            identity.reachable = True
            changed = True
        if not member.reachable:
            member.reachable = True
            member.unreachable_reason = None
            member.unreachable_since = None
            changed = True
    return changed


async def get_member(session: AsyncSession, member_id: int | None) -> Member | None:
    return await session.get(Member, member_id) if isinstance(member_id, int) else None


async def add_member(
    session: AsyncSession,
    *,
    name: str,
    role: str,
    agency_id: int | None,
    now: dt.datetime,
    status: str = ACTIVE,
    language: str = "vi",
    approved_by_id: int | None = None,
) -> Member:
    member = Member(
        name=name,
        role=role,
        agency_id=agency_id,
        status=status,
        language=language,
        created_at=now,
        approved_by_id=approved_by_id,
        approved_at=now if status == ACTIVE else None,
    )
    session.add(member)
    await session.flush()
    # A new row's relationships are not loaded, and an async session cannot load them lazily later
    # (a welcome naming the agency would fail): load the agency now, while we are awaiting anyway.
    await session.refresh(member, ["agency"])
    return member


async def reachable_chats(
    session: AsyncSession, member_id: int, *, platforms: tuple[str, ...] | None = None
) -> list[tuple[str, str]]:
    """A member's reachable chats as (platform, chat id), the one seen last first; a chat never seen
    comes last on every database (PostgreSQL would put it first)."""
    stmt = (
        select(Identity.platform, Identity.chat_id)
        .where(Identity.member_id == member_id, Identity.reachable.is_(True))
        .order_by(Identity.last_seen_at.desc().nulls_last(), Identity.id)
    )
    if platforms is not None:
        stmt = stmt.where(Identity.platform.in_(platforms))
    return [(platform, chat_id) for platform, chat_id in await session.execute(stmt)]


async def attach_identity(
    session: AsyncSession,
    member: Member,
    *,
    platform: str,
    external_id: str,
    chat_id: str,
    display_name: str | None,
    now: dt.datetime,
) -> Identity:
    """Link a platform user to `member`; an identity left on a retired or rejected member moves over."""
    identity = (
        await session.execute(
            select(Identity).where(Identity.platform == platform, Identity.external_id == external_id)
        )
    ).scalar_one_or_none()
    if identity is None:
        identity = Identity(platform=platform, external_id=external_id, created_at=now)
        session.add(identity)
    identity.member_id = member.id
    identity.chat_id = chat_id
    identity.display_name = display_name
    identity.reachable = True
    identity.last_seen_at = now
    if member.preferred_platform is None:
        member.preferred_platform = platform
    await session.flush()
    await session.refresh(member, ["identities"])
    return identity


async def active_focal_points(session: AsyncSession, agency_id: int) -> list[Member]:
    stmt = (
        select(Member)
        .where(Member.agency_id == agency_id, Member.role == FOCAL, Member.status == ACTIVE)
        .order_by(Member.id)
    )
    return list((await session.execute(stmt)).unique().scalars())


async def active_focal_points_by_agency(session: AsyncSession) -> dict[int, list[Member]]:
    stmt = select(Member).where(Member.role == FOCAL, Member.status == ACTIVE).order_by(Member.id)
    found: dict[int, list[Member]] = {}
    for member in (await session.execute(stmt)).unique().scalars():
        if member.agency_id is not None:
            found.setdefault(member.agency_id, []).append(member)
    return found


async def coordinators(session: AsyncSession) -> list[Member]:
    """Active coordinators and admins: who approves registrations and reads summaries."""
    stmt = (
        select(Member)
        .where(Member.role.in_((COORDINATOR, ADMIN)), Member.status == ACTIVE)
        .order_by(Member.id)
    )
    return list((await session.execute(stmt)).unique().scalars())


async def pending_members(session: AsyncSession) -> list[Member]:
    stmt = select(Member).where(Member.status == PENDING).order_by(Member.created_at, Member.id)
    return list((await session.execute(stmt)).unique().scalars())


async def list_members(session: AsyncSession, *, include_retired: bool = False) -> list[Member]:
    stmt = select(Member).order_by(Member.role, Member.agency_id, Member.id)
    if not include_retired:
        stmt = stmt.where(Member.status.in_((ACTIVE, PENDING)))
    return list((await session.execute(stmt)).unique().scalars())


def is_active_focal_conflict(error: IntegrityError) -> bool:
    """Whether the database refused a second active focal point for an agency (uq_member_active_focal;
    SQLite names the column rather than the index)."""
    message = str(error.orig)
    return "uq_member_active_focal" in message or "member.agency_id" in message


async def retire(session: AsyncSession, member: Member, *, now: dt.datetime | None = None) -> None:
    """Hand-over: the member stops acting; what they reported stays, counted for the agency. Their
    phone number was kept for reminders only (ZNS), which they no longer get: it goes."""
    member.status = RETIRED
    member.phone = None
    member.phone_consent_at = None
    await session.flush()


def identity_for(member: Member, platform: str | None = None) -> Identity | None:
    """Where to write to a member: on `platform` if given, else their preferred one, else any."""
    identities = [i for i in member.identities if i.reachable] or list(member.identities)
    if platform is not None:
        return next((i for i in identities if i.platform == platform), None)
    preferred = [i for i in identities if i.platform == member.preferred_platform]
    return (preferred or identities or [None])[0]


# ---------------------------------------------------------------- invites


@dataclass(frozen=True)
class IssuedInvite:
    invite: Invite
    # The only moment the token exists in clear: it is shown once and never stored.
    token: str


async def create_invite(
    session: AsyncSession,
    *,
    role: str,
    agency_id: int | None,
    expires_at: dt.datetime,
    now: dt.datetime,
    uses: int = 1,
    created_by_id: int | None = None,
) -> IssuedInvite:
    if uses < 1:
        raise ValueError("an invite needs at least one use")
    if role == FOCAL and agency_id is None:
        raise ValueError("a focal point invite names an agency")
    token = secrets.token_urlsafe(INVITE_TOKEN_BYTES)
    invite = Invite(
        token_hash=hash_token(token),
        role=role,
        agency_id=agency_id,
        uses_left=uses,
        expires_at=expires_at,
        created_by_id=created_by_id,
        created_at=now,
    )
    session.add(invite)
    await session.flush()
    return IssuedInvite(invite=invite, token=token)


async def invite_by_token(session: AsyncSession, token: str) -> Invite | None:
    stmt = select(Invite).where(Invite.token_hash == hash_token(token))
    return (await session.execute(stmt)).unique().scalar_one_or_none()


async def take_invite_use(session: AsyncSession, invite: Invite, *, now: dt.datetime) -> bool:
    """Spend one use; False when another registration took the last one first (or it lapsed)."""
    result = await session.execute(
        update(Invite)
        .where(
            Invite.id == invite.id,
            Invite.uses_left > 0,
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
        )
        .values(uses_left=Invite.uses_left - 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    await session.refresh(invite)
    return True


async def list_invites(
    session: AsyncSession, *, now: dt.datetime, include_inactive: bool = False
) -> list[Invite]:
    stmt = select(Invite).order_by(Invite.created_at.desc(), Invite.id.desc())
    if not include_inactive:
        stmt = stmt.where(Invite.revoked_at.is_(None), Invite.uses_left > 0, Invite.expires_at > now)
    return list((await session.execute(stmt)).unique().scalars())


async def revoke_invite(session: AsyncSession, invite_id: int, *, now: dt.datetime) -> Invite | None:
    invite = await session.get(Invite, invite_id)
    if invite is None:
        return None
    if invite.revoked_at is None:
        invite.revoked_at = now
        await session.flush()
    return invite


# ---------------------------------------------------------------- progress updates


async def add_update(
    session: AsyncSession,
    *,
    task_id: int,
    agency_id: int,
    member_id: int | None,
    status: str,
    cycle: dt.date,
    now: dt.datetime,
    percent: int | None = None,
    note: str = "",
    evidence: str | None = None,
    source_platform: str | None = None,
    source_chat_id: str | None = None,
    source_message_id: str | None = None,
) -> ProgressUpdate:
    row = ProgressUpdate(
        task_id=task_id,
        agency_id=agency_id,
        member_id=member_id,
        status=status,
        percent=percent,
        note=note,
        evidence=evidence,
        cycle=cycle,
        created_at=now,
        edited_at=None,
        source_platform=source_platform,
        source_chat_id=source_chat_id,
        source_message_id=source_message_id,
    )
    # Written with one INSERT instead of the ORM's flush, which cost a chat update a tenth of a
    # millisecond of bookkeeping for a row that has nothing pending beside it. The row then joins
    # the session as if loaded, every column known, so reading or editing it stays the ORM's.
    await session.run_sync(_insert_update, row)
    make_transient_to_detached(row)
    session.add(row)
    return row


def _insert_update(sync_session, row: ProgressUpdate) -> None:
    """Insert `row`, set its id, and point the kept rows at it."""
    connection = sync_session.connection()
    values = {column.key: getattr(row, column.key) for column in _UPDATE_COLUMNS}
    row.id = connection.execute(_INSERT_UPDATE, values).scalar_one()
    keep_latest(connection, row)


_UPDATE_COLUMNS = [column for column in ProgressUpdate.__table__.c if not column.primary_key]
_INSERT_UPDATE = insert(ProgressUpdate.__table__).returning(ProgressUpdate.__table__.c.id)


async def update_from_message(
    session: AsyncSession, *, platform: str, chat_id: str, message_id: str
) -> ProgressUpdate | None:
    """The update a chat message created, so that editing the message edits the update."""
    stmt = (
        select(ProgressUpdate)
        .where(
            ProgressUpdate.source_platform == platform,
            ProgressUpdate.source_chat_id == chat_id,
            ProgressUpdate.source_message_id == message_id,
        )
        .order_by(ProgressUpdate.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).unique().scalar_one_or_none()


async def revise_update(
    session: AsyncSession,
    update_row: ProgressUpdate,
    *,
    status: str,
    percent: int | None,
    note: str,
    now: dt.datetime,
) -> UpdateRevision:
    """Replace an update's content, keeping what it said before as a revision."""
    revision = UpdateRevision(
        update_id=update_row.id,
        status=update_row.status,
        percent=update_row.percent,
        note=update_row.note,
        replaced_at=now,
    )
    session.add(revision)
    update_row.status = status
    update_row.percent = percent
    update_row.note = note
    update_row.edited_at = now
    await session.flush()
    return revision


async def revisions_of(session: AsyncSession, update_id: int) -> list[UpdateRevision]:
    stmt = select(UpdateRevision).where(UpdateRevision.update_id == update_id).order_by(UpdateRevision.id)
    return list((await session.execute(stmt)).scalars())


async def latest_updates(
    session: AsyncSession,
    task_ids: Iterable[int],
    *,
    agency_id: int | None = None,
    cycle: dt.date | None = None,
) -> dict[int, ProgressUpdate]:
    """The most recent update per task (for one agency and one cycle when given)."""
    task_ids = list(task_ids)
    if not task_ids:
        return {}
    newest = select(ProgressUpdate.task_id, func.max(ProgressUpdate.id).label("id")).where(
        ProgressUpdate.task_id.in_(task_ids)
    )
    if agency_id is not None:
        newest = newest.where(ProgressUpdate.agency_id == agency_id)
    if cycle is not None:
        newest = newest.where(ProgressUpdate.cycle == cycle)
    newest = newest.group_by(ProgressUpdate.task_id).subquery()
    stmt = select(ProgressUpdate).join(newest, ProgressUpdate.id == newest.c.id)
    return {row.task_id: row for row in (await session.execute(stmt)).unique().scalars()}


@dataclass(frozen=True, slots=True)
class LatestUpdate:
    """What a task list shows of a task's latest update."""

    task_id: int
    status: str
    percent: int | None
    note: str
    created_at: dt.datetime
    member_name: str | None


async def latest_update_lines(session: AsyncSession, task_ids: Iterable[int]) -> dict[int, LatestUpdate]:
    """`latest_updates` for a task list: the same rows, as the few columns it shows. The ORM form
    loads each update's task and member with their own relationships (several statements)."""
    task_ids = list(task_ids)
    if not task_ids:
        return {}
    rows = await session.execute(_LATEST_UPDATE_LINES, {"task_ids": task_ids})
    return {row.task_id: LatestUpdate(*row) for row in rows}


# Built once (a task list is asked for all the time; building this statement cost as much as running it).
_NEWEST_PER_TASK = (
    select(func.max(ProgressUpdate.id).label("id"))
    .where(ProgressUpdate.task_id.in_(bindparam("task_ids", expanding=True)))
    .group_by(ProgressUpdate.task_id)
    .subquery()
)
_LATEST_UPDATE_LINES = (
    select(
        ProgressUpdate.task_id,
        ProgressUpdate.status,
        ProgressUpdate.percent,
        ProgressUpdate.note,
        ProgressUpdate.created_at,
        Member.name,
    )
    .join(_NEWEST_PER_TASK, ProgressUpdate.id == _NEWEST_PER_TASK.c.id)
    .outerjoin(Member, Member.id == ProgressUpdate.member_id)
)


async def update_history(
    session: AsyncSession, task_id: int, *, agency_id: int | None = None
) -> list[ProgressUpdate]:
    stmt = select(ProgressUpdate).where(ProgressUpdate.task_id == task_id)
    if agency_id is not None:
        stmt = stmt.where(ProgressUpdate.agency_id == agency_id)
    stmt = stmt.order_by(ProgressUpdate.created_at, ProgressUpdate.id)
    return list((await session.execute(stmt)).unique().scalars())


async def agencies_reported(session: AsyncSession, cycle: dt.date) -> set[int]:
    stmt = select(ProgressUpdate.agency_id).where(ProgressUpdate.cycle == cycle).distinct()
    return set((await session.execute(stmt)).scalars())


# ---------------------------------------------------------------- platform updates seen


async def mark_processed(session: AsyncSession, *, platform: str, update_key: str, now: dt.datetime) -> bool:
    """Record a platform update id; False when it was recorded before (a re-delivery).

    Insert-or-ignore rather than select-then-insert, so two instances receiving the same update at
    once cannot both go on to store it.
    """
    values = {"platform": platform, "update_key": update_key, "processed_at": now}
    dialect = session.get_bind().dialect.name
    result = await session.execute(_MARK_PROCESSED[dialect == "postgresql"], values)
    return result.rowcount == 1


# Built once: this runs for every incoming update, and building the statement each time cost
# about as much as executing it. On the table, not the class: with parameters passed separately an
# ORM insert becomes a bulk insert, which reports no rowcount.
_MARK_PROCESSED = ByDialect(
    lambda insert: insert(ProcessedUpdate.__table__).on_conflict_do_nothing(
        index_elements=["platform", "update_key"]
    )
)


async def forget_processed_before(session: AsyncSession, cutoff: dt.datetime) -> int:
    """Platforms stop re-delivering after a day or so; older keys are dead weight."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < cutoff), execution_options=MAY_TAKE_LONG
    )
    return result.rowcount or 0


# ---------------------------------------------------------------- conversation state


async def load_state(
    session: AsyncSession, *, platform: str, chat_id: str, user_id: str
) -> ConversationState | None:
    stmt = select(ConversationState).where(
        ConversationState.platform == platform,
        ConversationState.chat_id == chat_id,
        ConversationState.user_id == user_id,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def save_state(
    session: AsyncSession,
    *,
    platform: str,
    chat_id: str,
    user_id: str,
    flow: str,
    step: str,
    data: dict,
    now: dt.datetime,
    expires_at: dt.datetime,
    existing: ConversationState | None = None,
) -> ConversationState:
    """Write a user's place; `existing` is their row when the caller has it (saves a lookup)."""
    state = existing or await load_state(session, platform=platform, chat_id=chat_id, user_id=user_id)
    if state is None:
        state = ConversationState(platform=platform, chat_id=chat_id, user_id=user_id)
        session.add(state)
    state.flow = flow
    state.step = step
    # A fresh dict, so the JSON column sees the change (in-place mutation is not tracked).
    state.data = dict(data)
    state.updated_at = now
    state.expires_at = expires_at
    # Not flushed here: a message often moves a flow on and then records its menu, two saves of one
    # row that the unit of work writes as one UPDATE (at commit, or before the next query).
    return state


# ---------------------------------------------------------------- button actions


async def add_callback(
    session: AsyncSession,
    *,
    platform: str,
    user_id: str,
    action: str,
    payload: dict,
    now: dt.datetime,
    expires_at: dt.datetime,
    chat_id: str | None = None,
) -> str:
    row = new_callback(
        platform=platform,
        user_id=user_id,
        chat_id=chat_id,
        action=action,
        payload=payload,
        now=now,
        expires_at=expires_at,
    )
    await add_callbacks(session, [row])
    return row["key"]


def new_callback(
    *,
    platform: str,
    user_id: str,
    chat_id: str | None,
    action: str,
    payload: dict,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> dict:
    """A button action with a fresh key, for the user `user_id` in the chat `chat_id`, to be written
    with `add_callbacks`."""
    return {
        "key": secrets.token_urlsafe(CALLBACK_KEY_BYTES),
        "platform": platform,
        "user_id": user_id,
        "chat_id": chat_id,
        "action": action,
        "payload": payload,
        "created_at": now,
        "expires_at": expires_at,
    }


async def add_callbacks(session: AsyncSession, rows: list[dict]) -> None:
    """Write button actions (from `new_callback`) in one statement, in order (a menu's numbering
    follows their ids). As ORM objects each would be its own INSERT … RETURNING: a guided-flow
    question with four choices paid four."""
    if rows:
        await session.execute(insert(CallbackAction.__table__), rows)


async def callback_by_key(session: AsyncSession, key: str) -> CallbackAction | None:
    if not key or len(key) > 32:
        return None
    stmt = select(CallbackAction).where(CallbackAction.key == key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def newest_callback_batch(
    session: AsyncSession,
    *,
    platform: str,
    user_id: str,
    chat_id: str,
    after: dt.datetime | None,
    now: dt.datetime,
) -> list[str]:
    """Keys of the most recent buttons issued to a user in a chat (all made at one instant), if newer
    than `after`.

    Buttons sent outside a chat exchange (a reminder's "Update IV.3") are found this way, so that a
    bare number typed on a platform without buttons answers them too, in the chat they were shown in.
    """
    newest = select(func.max(CallbackAction.created_at)).where(
        CallbackAction.platform == platform,
        CallbackAction.user_id == user_id,
        CallbackAction.chat_id == chat_id,
        CallbackAction.expires_at > now,
    )
    if after is not None:
        newest = newest.where(CallbackAction.created_at > after)
    # One statement: the newest instant as a subquery (none → NULL → no rows).
    stmt = (
        select(CallbackAction.key)
        .where(
            CallbackAction.platform == platform,
            CallbackAction.user_id == user_id,
            CallbackAction.chat_id == chat_id,
            CallbackAction.created_at == newest.scalar_subquery(),
        )
        .order_by(CallbackAction.id)
    )
    return list((await session.execute(stmt)).scalars())


async def forget_callbacks_before(session: AsyncSession, now: dt.datetime) -> int:
    result = await session.execute(
        delete(CallbackAction).where(CallbackAction.expires_at < now), execution_options=MAY_TAKE_LONG
    )
    return result.rowcount or 0
