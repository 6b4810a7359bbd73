"""Counted attempts: how many times someone tried something in a window, across every instance.

    wait = await limits.retry_after(session, CODE_GUESS, subjects, limit=5, window=ten_minutes, now=now)
    if wait is None: ...try the code...; on a wrong one: await limits.record(session, CODE_GUESS, subjects, now=now)

A subject names who or where ("person:telegram:42", "chat:telegram:-1005"); an attempt counts
against each subject it is recorded for. Functions take the caller's session and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import MAY_TAKE_LONG
from storage.models.limits import Attempt

CODE_GUESS = "code_guess"


def person(platform: str, user_id: str) -> str:
    return f"person:{platform}:{user_id}"


def chat(platform: str, chat_id: str) -> str:
    return f"chat:{platform}:{chat_id}"


async def retry_after(
    session: AsyncSession,
    kind: str,
    subjects: Iterable[str],
    *,
    limit: int,
    window: dt.timedelta,
    now: dt.datetime,
) -> dt.timedelta | None:
    """None while every subject has fewer than `limit` attempts in the window; else how long until
    one of them may try again."""
    waits = []
    since = now - window
    for subject in subjects:
        recent = (
            select(Attempt.created_at)
            .where(Attempt.kind == kind, Attempt.subject == subject, Attempt.created_at > since)
            .order_by(Attempt.created_at.desc())
        )
        # The limit-th newest attempt: once it leaves the window, one more try fits.
        oldest_counted = await session.scalar(recent.offset(limit - 1).limit(1))
        if oldest_counted is not None:
            waits.append(oldest_counted + window - now)
    return max(waits) if waits else None


async def record(session: AsyncSession, kind: str, subjects: Iterable[str], *, now: dt.datetime) -> None:
    rows = [{"kind": kind, "subject": subject, "created_at": now} for subject in dict.fromkeys(subjects)]
    if rows:
        await session.execute(insert(Attempt), rows)


async def count(session: AsyncSession, kind: str, subject: str, *, since: dt.datetime) -> int:
    stmt = select(func.count()).where(
        Attempt.kind == kind, Attempt.subject == subject, Attempt.created_at > since
    )
    return await session.scalar(stmt) or 0


async def forget_before(session: AsyncSession, moment: dt.datetime) -> None:
    """Drop attempts older than any window (housekeeping)."""
    await session.execute(delete(Attempt).where(Attempt.created_at < moment), execution_options=MAY_TAKE_LONG)
