"""A focal point the bot could not reach (they blocked it) is reachable again once they write to it
in their own chat, and their reminders resume; a word in a group proves nothing about that chat."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.core.messages import Incoming
from bot.reminders import build_engine
from scheduler.delivery import DeliveryError
from storage.models.people import Identity, Member
from tests.recording_transport import RecordingTransport
from tests.scheduler.conftest import hanoi, manual_sleep

SEVEN_DAYS_BEFORE = hanoi(2020, 6, 12, 9)  # the first reminder before the 20/6 report
THREE_DAYS_BEFORE = hanoi(2020, 6, 17, 9)


async def lans_reachability(db) -> tuple[bool, str | None, bool]:
    async with db.snapshot() as session:
        member = await session.scalar(select(Member).where(Member.name == "Lan"))
        identity = await session.scalar(select(Identity).where(Identity.member_id == member.id))
        return member.reachable, member.unreachable_reason, identity.reachable


async def blocked_by_lan(app, clock):
    """Lan has blocked the bot: the first reminder fails for good and she is marked unreachable."""
    console = RecordingTransport(clock)
    engine = build_engine(app, {"console": console}, sleep_until=manual_sleep(clock))
    console.fail("lan", DeliveryError("Forbidden: bot was blocked by the user", permanent=True))
    clock.set(SEVEN_DAYS_BEFORE)
    await engine.run_once()
    return engine, console


async def test_a_member_marked_unreachable_who_writes_again_is_reachable_and_reminded_again(
    db, app, clock, plan, focal
):
    engine, console = await blocked_by_lan(app, clock)
    blocked = await lans_reachability(db)

    await focal.say("/nhiemvu")
    after_writing = await lans_reachability(db)
    clock.set(THREE_DAYS_BEFORE)
    await engine.run_once()

    assert blocked[0] is False and blocked[2] is False
    expected = (True, None, True)
    assert after_writing == expected
    reminded = [m for m in console.sent if m.chat_id == "lan"]
    assert len(reminded) == 1
    assert reminded[0].at.astimezone(THREE_DAYS_BEFORE.tzinfo).date() == dt.date(2020, 6, 17)


async def test_a_message_in_a_group_does_not_make_a_blocked_member_reachable(
    db, app, clock, core, plan, focal
):
    await blocked_by_lan(app, clock)

    await core.handle(
        Incoming(
            platform="console", chat_id="group-du-lich", user_id="lan", user_name="Lan", text="/nhiemvu",
            is_group=True,
        )
    )  # fmt: skip

    assert (await lans_reachability(db))[0] is False
