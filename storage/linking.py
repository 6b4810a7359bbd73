"""Repository for one-time link codes: issued to a member, redeemed once, kept only as a hash.

Functions take the caller's session and never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.linking import LinkCode

# Crockford's base 32: no I, L, O or U, so a code read aloud or retyped survives; 12 symbols carry
# 60 bits. A code lives minutes and works once, so guessing one among the few alive at any moment
# would take on the order of 2^50 messages to the bot.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def normalize(text: str) -> str | None:
    """The code as typed (any case, dashes or spaces, O for 0…) in canonical form; None if it is none."""
    compact = "".join(ch for ch in text.upper() if ch.isalnum()).translate(_LOOKALIKES)
    if len(compact) != LENGTH or any(ch not in ALPHABET for ch in compact):
        return None
    return compact


def _hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()


async def issue(
    session: AsyncSession, *, member_id: int, platform: str, now: dt.datetime, valid_for: dt.timedelta
) -> str:
    """A new code for the member; any earlier unused one stops working."""
    await session.execute(delete(LinkCode).where(LinkCode.member_id == member_id, LinkCode.used_at.is_(None)))
    code = new_code()
    session.add(
        LinkCode(
            code_hash=_hash(normalize(code)),
            member_id=member_id,
            platform=platform,
            expires_at=now + valid_for,
            created_at=now,
        )
    )
    await session.flush()
    return code


async def find_live(session: AsyncSession, canonical: str, *, now: dt.datetime) -> LinkCode | None:
    """The code if it is known, unexpired and unspent."""
    return await session.scalar(
        select(LinkCode).where(
            LinkCode.code_hash == _hash(canonical), LinkCode.used_at.is_(None), LinkCode.expires_at > now
        )
    )


async def spend(session: AsyncSession, code: LinkCode, *, now: dt.datetime) -> bool:
    """Mark the code used; False if someone spent it first (a conditional update decides, so the
    same code redeemed twice at once links once)."""
    result = await session.execute(
        update(LinkCode).where(LinkCode.id == code.id, LinkCode.used_at.is_(None)).values(used_at=now)
    )
    return result.rowcount == 1
