"""Web dashboard sign-in: links issued in chat, redeemed once, opening a session.

A link is 192 random bits, valid minutes, redeemed by one conditional UPDATE (two tabs racing on the
same link: one wins). A session is another 192-bit secret in an HttpOnly cookie; forms carry a CSRF
token derived from it (`csrf_token`), which a page of another site can neither read nor compute.
The database keeps only hashes. Who the member is, and what they may see, is read afresh on
every request (bot.web), never from the session row: a hand-over or retirement applies at once.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.web import WebLoginLink, WebSession
from storage.people import hash_token

TOKEN_BYTES = 24


@dataclass(frozen=True)
class ChatAddress:
    """The chat a link was asked for from (platform, chat, user)."""

    platform: str
    chat_id: str
    user_id: str


async def issue_login_link(
    session: AsyncSession, *, member_id: int, address: ChatAddress, now: dt.datetime, ttl: dt.timedelta
) -> str:
    """A new single-use sign-in token; the caller shows it once and it is never stored as is."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        WebLoginLink(
            token_hash=hash_token(token),
            member_id=member_id,
            platform=address.platform,
            chat_id=address.chat_id,
            user_id=address.user_id,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return token


@dataclass(frozen=True)
class OpenedSession:
    token: str
    row: WebSession


async def redeem_login_link(
    session: AsyncSession, token: str, *, now: dt.datetime, ttl: dt.timedelta
) -> OpenedSession | None:
    """Use the link up and open a session; None when the link is unknown, used or expired."""
    used = await session.execute(
        update(WebLoginLink)
        .where(
            WebLoginLink.token_hash == hash_token(token),
            WebLoginLink.used_at.is_(None),
            WebLoginLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(WebLoginLink.member_id, WebLoginLink.platform, WebLoginLink.chat_id, WebLoginLink.user_id)
    )
    link = used.first()
    if link is None:
        return None
    session_token = secrets.token_urlsafe(TOKEN_BYTES)
    row = WebSession(
        session_hash=hash_token(session_token),
        member_id=link.member_id,
        platform=link.platform,
        chat_id=link.chat_id,
        user_id=link.user_id,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    await session.flush()
    return OpenedSession(token=session_token, row=row)


async def open_session(session: AsyncSession, token: str, *, now: dt.datetime) -> WebSession | None:
    """The live session a cookie names, with its member; None when unknown, ended or expired."""
    if not token:
        return None
    return await session.scalar(
        select(WebSession).where(
            WebSession.session_hash == hash_token(token),
            WebSession.ended_at.is_(None),
            WebSession.expires_at > now,
        )
    )


def csrf_token(session_token: str) -> str:
    """The token a form of this session carries: bound to the session, useless without it."""
    return hash_token("csrf:" + session_token)


def csrf_matches(session_token: str, submitted: str | None) -> bool:
    return bool(submitted) and secrets.compare_digest(csrf_token(session_token), submitted)


async def end_session(session: AsyncSession, token: str, *, now: dt.datetime) -> None:
    await session.execute(
        update(WebSession)
        .where(WebSession.session_hash == hash_token(token), WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )


async def forget_before(session: AsyncSession, cutoff: dt.datetime) -> None:
    """Drop links and sessions that expired or ended before `cutoff`."""
    await session.execute(delete(WebLoginLink).where(WebLoginLink.expires_at < cutoff))
    await session.execute(
        delete(WebSession).where(or_(WebSession.expires_at < cutoff, WebSession.ended_at < cutoff))
    )
