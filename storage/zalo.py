"""Repositories for what the Zalo transports keep: the OA token pair, follower contacts, shared files.

Functions take a session and never commit; the caller's unit of work does.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import upsert_for
from storage.models.people import Identity, Member
from storage.models.zalo import ZaloOAContact, ZaloOAEvent, ZaloOAQuota, ZaloOAToken, ZaloSharedFile
from storage.secret_box import SecretBox


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- the OA token pair -------------------------------------------------------------------------------


async def get_token(session: AsyncSession, app_id: str) -> ZaloOAToken | None:
    return await session.get(ZaloOAToken, app_id, populate_existing=True)


async def seed_token(
    session: AsyncSession,
    app_id: str,
    access_token: str,
    refresh_token: str,
    now: dt.datetime,
    refresh_expires_at: dt.datetime | None,
    box: SecretBox,
) -> ZaloOAToken:
    """Store the pair from the environment unless this very pair was stored before.

    A refresh spends the refresh token, so the environment's pair goes stale after the first refresh;
    only a different pair there (the OA was authorised again) replaces what the refreshes left.
    """
    fingerprint = sha256(f"{access_token}\n{refresh_token}")
    row = await session.get(ZaloOAToken, app_id, with_for_update=True, populate_existing=True)
    if row is None:
        row = ZaloOAToken(app_id=app_id, generation=0)
        session.add(row)
    elif row.seed_hash == fingerprint:
        return row
    row.access_token = box.seal(access_token)
    row.refresh_token = box.seal(refresh_token)
    row.expires_at = None
    row.refresh_expires_at = refresh_expires_at
    row.expiry_warned_days = None
    row.seed_hash = fingerprint
    row.refreshing_until = None
    row.generation = (row.generation or 0) + 1
    row.updated_at = now
    await session.flush()
    return row


async def claim_refresh(
    session: AsyncSession,
    app_id: str,
    stale_access_token: str,
    now: dt.datetime,
    lease: dt.timedelta,
    box: SecretBox,
) -> ZaloOAToken | None:
    """Take the right to refresh, if the stale token is still current and nobody holds the lease.

    Returns the row (with the refresh token to spend, sealed) when this caller won; None when another
    caller already refreshed or is refreshing. A conditional update decides, so two instances cannot
    both win. Sealing is not deterministic, so the stale token is compared in the clear, and the
    update is conditional on the generation it was compared in (every new pair bumps it).
    """
    row = await get_token(session, app_id)
    if row is None or box.open(row.access_token) != stale_access_token:
        return None
    result = await session.execute(
        update(ZaloOAToken)
        .where(
            ZaloOAToken.app_id == app_id,
            ZaloOAToken.generation == row.generation,
            (ZaloOAToken.refreshing_until.is_(None)) | (ZaloOAToken.refreshing_until <= now),
        )
        .values(refreshing_until=now + lease)
    )
    if result.rowcount != 1:
        return None
    return await get_token(session, app_id)


async def store_refreshed(
    session: AsyncSession,
    app_id: str,
    generation: int,
    access_token: str,
    refresh_token: str,
    expires_at: dt.datetime,
    now: dt.datetime,
    refresh_expires_at: dt.datetime | None,
    box: SecretBox,
) -> bool:
    """Replace the pair, if it is still the generation the refresh started from."""
    result = await session.execute(
        update(ZaloOAToken)
        .where(ZaloOAToken.app_id == app_id, ZaloOAToken.generation == generation)
        .values(
            access_token=box.seal(access_token),
            refresh_token=box.seal(refresh_token),
            expires_at=expires_at,
            refresh_expires_at=refresh_expires_at,
            expiry_warned_days=None,
            generation=generation + 1,
            refreshing_until=None,
            updated_at=now,
        )
    )
    return result.rowcount == 1


async def mark_expiry_warned(session: AsyncSession, app_id: str, days: int) -> None:
    await session.execute(
        update(ZaloOAToken).where(ZaloOAToken.app_id == app_id).values(expiry_warned_days=days)
    )


async def reseal_tokens(session: AsyncSession, box: SecretBox, *, only_plain: bool = False) -> int:
    """Seal every stored pair under the box's first key (plain ones from before encryption too);
    with `only_plain`, just the plain ones. Returns how many rows changed.

    The generation stays: the pair is the same, only its sealing changes.
    """
    changed = 0
    for row in (await session.scalars(select(ZaloOAToken).with_for_update())).all():
        stored = (row.access_token, row.refresh_token)
        if only_plain and all(SecretBox.sealed(value) for value in stored):
            continue
        access, refresh = box.reseal(row.access_token), box.reseal(row.refresh_token)
        if (access, refresh) != stored:
            row.access_token, row.refresh_token = access, refresh
            changed += 1
    await session.flush()
    return changed


async def plain_tokens_stored(session: AsyncSession) -> bool:
    """Some pair is still stored in the clear (from before encryption)."""
    rows = (await session.scalars(select(ZaloOAToken))).all()
    return any(not SecretBox.sealed(r.access_token) or not SecretBox.sealed(r.refresh_token) for r in rows)


async def release_refresh(session: AsyncSession, app_id: str, generation: int) -> None:
    await session.execute(
        update(ZaloOAToken)
        .where(ZaloOAToken.app_id == app_id, ZaloOAToken.generation == generation)
        .values(refreshing_until=None)
    )


# -- follower contacts -------------------------------------------------------------------------------


async def record_contact(
    session: AsyncSession, user_id: str, message_id: str | None, at: dt.datetime
) -> None:
    """Remember the follower's latest message; an older one arriving late (a webhook retry) changes nothing."""
    dialect = session.bind.dialect.name
    insert = upsert_for(dialect)
    statement = insert(ZaloOAContact).values(
        user_id=user_id, last_message_id=message_id, last_message_at=at, replies_used=0
    )
    statement = statement.on_conflict_do_update(
        index_elements=[ZaloOAContact.user_id],
        # A new message brings a new allowance of free replies.
        set_={
            "last_message_id": statement.excluded.last_message_id,
            "last_message_at": at,
            "replies_used": 0,
        },
        where=(ZaloOAContact.last_message_at < at)
        | ((ZaloOAContact.last_message_at == at) & (ZaloOAContact.last_message_id != message_id)),
    )
    await session.execute(statement)


async def last_contact(session: AsyncSession, user_id: str) -> ZaloOAContact | None:
    return await session.get(ZaloOAContact, user_id, populate_existing=True)


async def spend_reply(session: AsyncSession, user_id: str, message_id: str, limit: int) -> bool:
    """Take one of the free replies to the follower's latest message; False when it is not their
    latest message any more or its allowance is spent. A conditional update, so two senders at once
    cannot both take the last one."""
    result = await session.execute(
        update(ZaloOAContact)
        .where(
            ZaloOAContact.user_id == user_id,
            ZaloOAContact.last_message_id == message_id,
            ZaloOAContact.replies_used < limit,
        )
        .values(replies_used=ZaloOAContact.replies_used + 1)
    )
    return result.rowcount == 1


async def consented_phone(session: AsyncSession, platform: str, chat_id: str) -> str | None:
    """The phone number of the member behind a chat, if they gave it with consent."""
    return await session.scalar(
        select(Member.phone)
        .join(Identity, Identity.member_id == Member.id)
        .where(
            Identity.platform == platform,
            Identity.chat_id == chat_id,
            Member.phone.is_not(None),
            Member.phone_consent_at.is_not(None),
        )
        .limit(1)
    )


async def quota_used(session: AsyncSession, month: str, kind: str) -> int:
    row = await session.get(ZaloOAQuota, (month, kind), populate_existing=True)
    return row.used if row is not None else 0


async def spend_quota(session: AsyncSession, month: str, kind: str, limit: int) -> bool:
    """Count one paid message of `kind` in `month`, unless that would pass `limit`."""
    dialect = session.bind.dialect.name
    insert = upsert_for(dialect)
    if limit <= 0:
        return False
    statement = insert(ZaloOAQuota).values(month=month, kind=kind, used=1)
    statement = statement.on_conflict_do_update(
        index_elements=[ZaloOAQuota.month, ZaloOAQuota.kind],
        set_={"used": ZaloOAQuota.used + 1},
        where=ZaloOAQuota.used < limit,
    )
    result = await session.execute(statement)
    return result.rowcount == 1


# -- webhook events already taken -----------------------------------------------------------------------


async def first_sighting(session: AsyncSession, key: str, now: dt.datetime, keep: dt.timedelta) -> bool:
    """True the first time `key` is seen (and remember it); False for a replay.

    The insert either lands or meets the row of an earlier sighting; two instances receiving the
    same event at once cannot both land it. Rows older than `keep` go as new ones come.
    """
    await session.execute(delete(ZaloOAEvent).where(ZaloOAEvent.seen_at < now - keep))
    dialect = session.bind.dialect.name
    insert = upsert_for(dialect)
    result = await session.execute(
        insert(ZaloOAEvent).values(key_hash=sha256(key), seen_at=now).on_conflict_do_nothing()
    )
    return result.rowcount == 1


# -- files shared by link ----------------------------------------------------------------------------


async def add_shared_file(
    session: AsyncSession,
    token: str,
    filename: str,
    mime_type: str,
    content: bytes,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    # Expired files go as new ones come, so the table never grows without bound.
    await session.execute(delete(ZaloSharedFile).where(ZaloSharedFile.expires_at <= now))
    session.add(
        ZaloSharedFile(
            token_hash=sha256(token),
            filename=filename,
            mime_type=mime_type,
            content=content,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def find_shared_file(session: AsyncSession, token: str, now: dt.datetime) -> ZaloSharedFile | None:
    return await session.scalar(
        select(ZaloSharedFile).where(
            ZaloSharedFile.token_hash == sha256(token), ZaloSharedFile.expires_at > now
        )
    )
