"""One member, several platforms: link a second identity with a one-time code, choose where
reminders go first.

`/lienket` on the platform the member already uses gives a code; sending `/lienket <code>` from their
account on another platform attaches that account to the same member. Reminders then go to the
preferred platform and fall back to the others (the reminder dispatcher's rule).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage import linking, people
from storage.models.people import ACTIVE, PENDING, Identity, Member

# Long enough to pick up the other phone or open the other app, short enough to be useless later.
CODE_LIFETIME = dt.timedelta(minutes=15)


class Outcome(enum.Enum):
    LINKED = "linked"
    ALREADY_LINKED = "already_linked"
    INVALID = "invalid"  # unknown, expired or spent
    SAME_PLATFORM = "same_platform"
    TAKEN = "taken"  # the account belongs to another member


@dataclass(frozen=True)
class LinkResult:
    outcome: Outcome
    member: Member | None = None
    identity: Identity | None = None
    # Where the code was asked for: the member's other identity, to tell them about the link.
    origin: Identity | None = None


@dataclass(frozen=True)
class Account:
    """The platform account sending the code."""

    platform: str
    external_id: str
    chat_id: str
    display_name: str | None


async def issue_code(session: AsyncSession, member: Member, *, platform: str, now: dt.datetime) -> str:
    return await linking.issue(
        session, member_id=member.id, platform=platform, now=now, valid_for=CODE_LIFETIME
    )


async def redeem_code(session: AsyncSession, text: str, account: Account, *, now: dt.datetime) -> LinkResult:
    canonical = linking.normalize(text)
    code = await linking.find_live(session, canonical, now=now) if canonical else None
    if code is None:
        return LinkResult(Outcome.INVALID)
    member = await people.get_member(session, code.member_id)
    if member is None or member.status != ACTIVE:
        return LinkResult(Outcome.INVALID)
    if code.platform == account.platform:
        # Not spent: the member can still use it from the right account.
        return LinkResult(Outcome.SAME_PLATFORM, member=member)
    current = await people.member_by_identity(session, account.platform, account.external_id)
    if current is not None and current.id == member.id:
        await linking.spend(session, code, now=now)
        return LinkResult(Outcome.ALREADY_LINKED, member=member)
    if current is not None and current.status in (ACTIVE, PENDING):
        # One account, one person: moving it would take it from someone else.
        return LinkResult(Outcome.TAKEN, member=member)
    if not await linking.spend(session, code, now=now):
        return LinkResult(Outcome.INVALID)
    origin = people.identity_for(member, code.platform)
    identity = await people.attach_identity(
        session,
        member,
        platform=account.platform,
        external_id=account.external_id,
        chat_id=account.chat_id,
        display_name=account.display_name,
        now=now,
    )
    return LinkResult(Outcome.LINKED, member=member, identity=identity, origin=origin)


def channels(member: Member) -> list[Identity]:
    """The member's platforms, the preferred one first."""
    return sorted(
        member.identities, key=lambda i: (i.platform != member.preferred_platform, i.platform, i.id)
    )


def set_preferred(member: Member, platform: str) -> bool:
    """Reminders go to `platform` first; False when the member has no account there."""
    if not any(identity.platform == platform for identity in member.identities):
        return False
    member.preferred_platform = platform
    return True
