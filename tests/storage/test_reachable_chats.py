"""A member's chats, the one seen last first: where a notice or a lost reply's apology goes when
its own chat cannot take it. A chat never seen comes last on SQLite and on PostgreSQL alike
(PostgreSQL sorts NULL first when descending)."""

from __future__ import annotations

import datetime as dt

from storage import people
from storage.models import Identity
from tests.factories import make_member

SEEN = dt.datetime(2026, 6, 1, 1, 0, tzinfo=dt.UTC)


async def test_a_members_chats_come_seen_last_first_never_seen_and_unreachable_apart(db):
    async with db.transaction() as session:
        member = await make_member(session, "Lan", platform="console", user_id="lan")
        chats = [
            ("telegram", "101", None, True),  # never seen
            ("zalo", "z-1", SEEN, True),
            ("zalo_oa", "oa-1", SEEN + dt.timedelta(days=2), True),
            ("telegram", "102", SEEN + dt.timedelta(days=5), False),  # blocked the bot
        ]
        for platform, chat_id, seen, reachable in chats:
            session.add(
                Identity(
                    member_id=member.id,
                    platform=platform,
                    external_id=chat_id,
                    chat_id=chat_id,
                    reachable=reachable,
                    last_seen_at=seen,
                    created_at=SEEN,
                )
            )

    async with db.snapshot() as session:
        every = await people.reachable_chats(session, member.id)
        on_zalo = await people.reachable_chats(session, member.id, platforms=("zalo", "zalo_oa"))

    assert every[:2] == [("zalo_oa", "oa-1"), ("zalo", "z-1")]
    assert every[-1] == ("telegram", "101")
    assert ("telegram", "102") not in every
    assert on_zalo == [("zalo_oa", "oa-1"), ("zalo", "z-1")]
