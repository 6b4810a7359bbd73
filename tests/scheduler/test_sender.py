import datetime as dt

import pytest
from sqlalchemy import select

from bot.config import Config, config_from
from bot.i18n import _, use_language
from scheduler.delivery import DeliveryError
from scheduler.outbox import cancel_for_report
from storage.models import Identity, Member, Reminder
from tests.factories import make_member, make_update
from tests.recording_transport import Crash, RecordingTransport
from tests.scheduler.conftest import build_world, hanoi, make_engine

REPORT_DAY = dt.date(2020, 6, 20)


async def outbox(db) -> list[tuple]:
    async with db.snapshot() as session:
        rows = (
            (await session.execute(select(Reminder).order_by(Reminder.due_at, Reminder.id)))
            .unique()
            .scalars()
        )
        return [(r.member.name, r.kind, r.offset_days, r.status) for r in rows]


def with_status(rows, status: str) -> list[tuple]:
    return [row[:3] for row in rows if row[3] == status]


async def test_a_due_reminder_goes_out_once_naming_its_deadline_and_offset(db, world, clock, transport):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    clock.set(hanoi(2020, 6, 12, 8, 0))
    first = await engine.send()
    second = await engine.send()
    expected = {"focal-tttt", "focal-dulich", "focal-ngoaivu"}
    assert {m.chat_id for m in transport.sent} == expected
    assert all("[87/KH-UBND · 20/6 · T-7]" in m.text for m in transport.sent)
    assert (first.messages, second.messages) == (3, 0)


async def test_nothing_goes_out_before_its_time(db, world, clock, transport):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    clock.set(hanoi(2020, 6, 12, 7, 59))
    await engine.send()
    assert transport.sent == []


async def test_after_days_of_downtime_only_the_latest_missed_reminder_goes_out(db, world, clock, transport):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    # Down from 1/6 to 18/6 10:00: the 7-day (12/6) and 3-day (17/6) reminders are both overdue.
    clock.set(hanoi(2020, 6, 18, 10))
    await engine.run_once()
    rows = await outbox(db)
    expected_sent = [
        ("focal-tttt", "report", 3),
        ("focal-dulich", "report", 3),
        ("focal-ngoaivu", "report", 3),
    ]
    assert with_status(rows, "sent") == expected_sent
    assert with_status(rows, "superseded") == [(name, "report", 7) for name, *_ in expected_sent]
    assert len(transport.sent) == 3
    assert all("T-3" in m.text for m in transport.sent)


async def test_downtime_past_the_deadline_turns_into_the_overdue_reminder_and_the_digest(
    db, world, clock, transport
):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    clock.set(hanoi(2020, 6, 22, 9))
    await engine.run_once()
    rows = await outbox(db)
    expected = [
        ("focal-tttt", "overdue", -1),
        ("focal-dulich", "overdue", -1),
        ("focal-ngoaivu", "overdue", -1),
        ("coordinator", "escalation", -1),
    ]
    assert with_status(rows, "sent") == expected
    assert len(with_status(rows, "expired")) == 9  # the 7-, 3- and 1-day reminders, never sent late
    assert len(transport.sent) == 4


async def test_the_digest_names_the_agencies_that_have_not_reported_alphabetically(
    db, world, clock, transport
):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    clock.set(hanoi(2020, 6, 22, 9))
    await engine.run_once()
    (digest,) = transport.to("coordinator")
    names = [agency.name for agency in world.agencies.values()]
    listed = sorted(names, key=digest.text.index)
    # The plan lists them Thông tin và Truyền thông, Du lịch, Ngoại vụ; a coordinator looks one up.
    expected = ["Sở Du lịch", "Sở Ngoại vụ", "Sở Thông tin và Truyền thông"]
    assert listed == expected


async def test_a_downtime_longer_than_the_grace_sends_nothing_stale(db, world, clock, transport):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    clock.set(hanoi(2020, 6, 21, 10))
    await engine.plan()
    clock.set(hanoi(2020, 6, 29, 12))  # the 20/6 overdue reminders were due 22/6 and 24/6
    await engine.send()
    about_20_june = [m for m in transport.sent if "· 20/6 ·" in m.text]
    assert about_20_june == []


async def test_a_report_cancels_the_agencys_pending_reminders(db, world, clock, transport):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    # What the chat core does when it stores an update: in the same unit of work.
    async with db.transaction() as session:
        await make_update(
            session, world.tasks["II.1"], agency=world.agencies["dulich"], cycle=REPORT_DAY, at=clock.now()
        )
        cancelled = await cancel_for_report(session, world.agencies["dulich"].id, REPORT_DAY, clock.now())
    clock.set(hanoi(2020, 6, 19, 8))
    await engine.send()
    assert cancelled == 3
    assert "focal-dulich" not in {m.chat_id for m in transport.sent}
    assert with_status(await outbox(db), "cancelled") == [
        ("focal-dulich", "report", 7),
        ("focal-dulich", "report", 3),
        ("focal-dulich", "report", 1),
    ]


async def test_a_report_that_arrives_after_planning_is_noticed_at_send_time(db, world, clock, transport):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    # Stored without cancelling anything (another instance, an import): the sender checks anyway.
    async with db.transaction() as session:
        await make_update(
            session,
            world.tasks["I.2"],
            agency=world.agencies["tttt"],
            cycle=REPORT_DAY,
            at=hanoi(2020, 6, 12, 7),
        )
    clock.set(hanoi(2020, 6, 12, 8))
    report = await engine.send()
    expected = {"focal-dulich", "focal-ngoaivu"}
    assert {m.chat_id for m in transport.sent} == expected
    assert report.cancelled == 1


async def test_a_task_update_stops_that_tasks_reminders_only(db, clock, transport):
    world = await build_world(db)
    engine = make_engine(db, clock, [transport])
    clock.set(hanoi(2020, 12, 24, 9))  # the year-end tasks are due 31/12
    await engine.plan()
    async with db.transaction() as session:
        task = world.tasks["II.1"]
        await make_update(
            session, task, agency=world.agencies["dulich"], cycle=dt.date(2020, 11, 20), at=clock.now()
        )
        await cancel_for_report(
            session, world.agencies["dulich"].id, dt.date(2020, 11, 20), clock.now(), task_id=task.id
        )
    clock.set(hanoi(2020, 12, 28, 8))
    await engine.send()
    (message,) = transport.to("focal-dulich")
    assert "II.2" in message.text and "II.3" in message.text
    assert "II.1 " not in message.text


async def test_reminders_due_the_same_day_reach_a_person_as_one_message(db, clock, transport):
    # A reporting deadline on the quarter end: the report and the quarterly check-in fall due together.
    world = await build_world(db, deadlines=("2020-06-30",))
    # No merge window, so that the quarter check-in is planned beside the report it coincides with.
    engine = make_engine(db, clock, [transport], config_from({"reminders": {"merge_window_days": 0}}))
    clock.set(hanoi(2020, 6, 23, 8))
    await engine.run_once()
    (message,) = transport.to("focal-tttt")
    rows = [row for row in await outbox(db) if row[0] == "focal-tttt" and row[3] == "sent"]
    assert sorted(kind for _, kind, _, _ in rows) == ["quarter", "report"]
    assert "[87/KH-UBND · 30/6 · T-7]" in message.text
    assert world.plan.number in message.text


async def test_a_crash_between_sending_and_acknowledging_sends_once_more_after_the_lease(
    db, world, clock, transport
):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    clock.set(hanoi(2020, 6, 12, 8))
    transport.crash_after_send.add("focal-dulich")
    with pytest.raises(BaseExceptionGroup) as died:
        await engine.send()
    assert died.group_contains(Crash)
    # Restarted (a new engine, a new worker id) before the lease ran out: the row stays claimed.
    restarted = make_engine(db, clock, [transport])
    clock.advance(minutes=1)
    await restarted.send()
    assert len(transport.to("focal-dulich")) == 1
    clock.advance(minutes=5)  # past the 5-minute lease
    await restarted.send()
    first, again = transport.to("focal-dulich")
    # The duplicate is the same text, reference included: the recipient recognises it.
    assert again.text == first.text
    async with db.snapshot() as session:
        row = (
            await session.execute(
                select(Reminder.status, Reminder.attempts)
                .join(Member, Member.id == Reminder.member_id)
                .where(Member.name == "focal-dulich", Reminder.offset_days == 7)
            )
        ).one()
    assert tuple(row) == ("sent", 2)


async def test_a_rate_limit_answer_puts_the_reminder_back_for_after_the_wait(db, world, clock, transport):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    clock.set(hanoi(2020, 6, 12, 8))
    transport.fail("focal-tttt", DeliveryError("Too Many Requests", permanent=False, retry_after=30))
    report = await engine.send()
    assert report.rate_limited == 1
    async with db.snapshot() as session:
        row = (
            await session.execute(
                select(Reminder.status, Reminder.attempts, Reminder.available_at)
                .join(Member, Member.id == Reminder.member_id)
                .where(Member.name == "focal-tttt", Reminder.offset_days == 7)
            )
        ).one()
    assert tuple(row) == (
        "pending",
        0,
        hanoi(2020, 6, 12, 8, 0) + dt.timedelta(seconds=30),
    )
    clock.advance(seconds=30)
    await engine.send()
    assert len(transport.to("focal-tttt")) == 1


async def test_a_temporary_error_is_retried_with_backoff_then_given_up(db, world, clock, transport):
    config = Config()
    config.reminders.retry_backoff_seconds = [60, 600]
    config.reminders.max_attempts = 3
    engine = make_engine(db, clock, [transport], config)
    await engine.plan()
    clock.set(hanoi(2020, 6, 12, 8))
    transport.fail("focal-tttt", *[DeliveryError("Bad Gateway", permanent=False) for _ in range(3)])
    await engine.send()
    clock.advance(seconds=59)
    await engine.send()  # too early for the first retry
    clock.advance(seconds=1)
    await engine.send()  # second attempt fails: next wait 600 s
    clock.advance(seconds=600)
    await engine.send()  # third attempt fails: given up
    rows = [row for row in await outbox(db) if row[0] == "focal-tttt" and row[2] == 7]
    assert rows == [("focal-tttt", "report", 7, "failed")]
    assert transport.to("focal-tttt") == []


async def test_a_send_whose_outcome_is_unknown_is_retried_with_the_same_text(db, world, clock, transport):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    clock.set(hanoi(2020, 6, 12, 8))
    transport.fail("focal-tttt", DeliveryError("timed out", permanent=False, outcome_unknown=True))
    report = await engine.send()
    clock.advance(minutes=1)
    await engine.send()
    (message,) = transport.to("focal-tttt")
    assert report.retried == 1
    assert "[87/KH-UBND · 20/6 · T-7]" in message.text


async def test_a_blocked_bot_marks_the_member_unreachable_and_the_digest_names_them(
    db, world, clock, transport
):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    clock.set(hanoi(2020, 6, 12, 8))
    transport.fail("focal-ngoaivu", DeliveryError("Forbidden: bot was blocked by the user", permanent=True))
    await engine.send()
    async with db.snapshot() as session:
        member = (
            await session.execute(
                select(Member.reachable, Member.unreachable_reason).where(
                    Member.id == world.focal["ngoaivu"].id
                )
            )
        ).one()
        identity_reachable = await session.scalar(
            select(Identity.reachable).where(Identity.member_id == world.focal["ngoaivu"].id)
        )
    assert (member.reachable, identity_reachable) == (False, False)
    assert "blocked" in member.unreachable_reason
    clock.set(hanoi(2020, 6, 21, 10))
    await engine.plan()
    clock.set(hanoi(2020, 6, 22, 8))
    await engine.send()
    (digest,) = transport.to("coordinator")
    assert "focal-ngoaivu (Sở Ngoại vụ)" in digest.text
    # Nothing more is attempted to the unreachable member.
    assert transport.to("focal-ngoaivu") == []
    assert ("focal-ngoaivu", "report", 7, "unreachable") in await outbox(db)


async def test_a_member_outside_the_reply_window_everywhere_is_named_in_the_digest_as_not_reached_on_time(
    db, world, clock, transport
):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    outside = [
        DeliveryError(
            "zalo_oa: outside the reply window", permanent=True, channel_only=True, reply_window=True
        )
        for _ in range(20)
    ]
    transport.fail("focal-ngoaivu", *outside)
    clock.set(hanoi(2020, 6, 12, 8))
    await engine.send()
    assert ("focal-ngoaivu", "report", 7, "unreachable") in await outbox(db)
    clock.set(hanoi(2020, 6, 21, 10))
    await engine.plan()
    clock.set(hanoi(2020, 6, 22, 8))
    await engine.send()
    async with db.snapshot() as session:
        reachable = await session.scalar(
            select(Member.reachable).where(Member.id == world.focal["ngoaivu"].id)
        )
    (digest,) = transport.to("coordinator")
    with use_language(world.coordinator.language):
        heading = _("Could not be reached on time (outside Zalo OA's reply window):")
    expected = f"{heading}\n• focal-ngoaivu (Sở Ngoại vụ)"
    assert transport.to("focal-ngoaivu") == []
    # Their next message reopens the window: the member stays reachable.
    assert reachable is True
    assert expected in digest.text


async def test_a_message_refused_once_on_the_only_channel_is_retried_not_given_up(
    db, world, clock, transport
):
    # A refusal of one message (Telegram's "can't parse entities", say) closes the channel for that
    # try only; unlike a reply window, a later try may pass, so the reminder stays in the outbox.
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    transport.fail(
        "focal-ngoaivu", DeliveryError("Bad Request: message refused", permanent=True, channel_only=True)
    )
    clock.set(hanoi(2020, 6, 12, 8))
    await engine.send()
    expected = ("focal-ngoaivu", "report", 7, "pending")
    assert expected in await outbox(db)
    clock.advance(hours=2)
    await engine.send()
    assert len(transport.to("focal-ngoaivu")) == 1


async def test_a_member_blocked_on_one_platform_is_reached_on_the_other(db, world, clock):
    telegram = RecordingTransport(clock, platform="telegram")
    zalo = RecordingTransport(clock, platform="zalo")
    async with db.transaction() as session:
        # The newcomer takes the agency over: one active focal point per agency.
        (await session.get(Member, world.focal["dulich"].id)).status = "retired"
        member = await make_member(
            session, "Chị Lan", agency=world.agencies["dulich"], platform="telegram", user_id="111"
        )
        session.add(Identity(member_id=member.id, platform="zalo", external_id="z-222", chat_id="z-222"))
    engine = make_engine(db, clock, [telegram, zalo])
    await engine.plan()
    clock.set(hanoi(2020, 6, 12, 8))
    telegram.fail("111", DeliveryError("Forbidden: bot was blocked by the user", permanent=True))
    await engine.send()
    async with db.snapshot() as session:
        reachable = dict(
            (
                await session.execute(
                    select(Identity.platform, Identity.reachable).where(Identity.member_id == member.id)
                )
            ).all()
        )
        member_reachable = await session.scalar(select(Member.reachable).where(Member.id == member.id))
    assert len(zalo.to("z-222")) == 1
    assert (reachable, member_reachable) == ({"telegram": False, "zalo": True}, True)


async def test_the_preferred_platform_is_tried_first(db, world, clock):
    telegram = RecordingTransport(clock, platform="telegram")
    zalo = RecordingTransport(clock, platform="zalo")
    async with db.transaction() as session:
        # The newcomer takes the agency over: one active focal point per agency.
        (await session.get(Member, world.focal["dulich"].id)).status = "retired"
        member = await make_member(
            session, "Anh Minh", agency=world.agencies["dulich"], platform="zalo", user_id="z-9"
        )
        session.add(Identity(member_id=member.id, platform="telegram", external_id="99", chat_id="99"))
    engine = make_engine(db, clock, [telegram, zalo])
    await engine.plan()
    clock.set(hanoi(2020, 6, 12, 8))
    await engine.send()
    assert (len(zalo.to("z-9")), len(telegram.to("99"))) == (1, 0)


async def test_a_focal_point_who_left_is_not_reminded(db, world, clock, transport):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    async with db.transaction() as session:
        member = await session.get(Member, world.focal["tttt"].id)
        member.status = "retired"
    clock.set(hanoi(2020, 6, 12, 8))
    await engine.send()
    assert transport.to("focal-tttt") == []
    assert with_status(await outbox(db), "cancelled") == [("focal-tttt", "report", 7)]
