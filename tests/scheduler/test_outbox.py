import datetime as dt

from sqlalchemy import select

from bot.config import config_from
from scheduler import outbox
from scheduler.delivery import DeliveryError
from storage.models import Reminder
from tests.scheduler.conftest import build_crowd, hanoi, make_engine
from tests.scheduler.test_planner import planner_for

LEASE = dt.timedelta(minutes=5)
REPORT_DAY = dt.date(2020, 6, 20)


async def claim(db, worker: str, now: dt.datetime, limit: int = 100) -> list[Reminder]:
    async with db.transaction() as session:
        return await outbox.claim(session, worker=worker, now=now, lease=LEASE, limit=limit)


async def test_a_claim_takes_no_more_than_its_limit(db, clock):
    await build_crowd(db, 30)
    await planner_for(db).tick(clock.now())
    claimed = await claim(db, "a", hanoi(2020, 6, 12, 8), limit=5)
    expected = (5, {7})
    assert (len(claimed), {r.offset_days for r in claimed}) == expected


async def test_a_claim_brings_along_the_same_persons_other_due_reminders(db, world, clock):
    await planner_for(db).tick(clock.now())
    # Two reminders of one person due at once (after downtime, before supersession runs).
    claimed = await claim(db, "a", hanoi(2020, 6, 18, 10), limit=1)
    expected = [(world.focal["tttt"].id, 7), (world.focal["tttt"].id, 3)]
    assert [(r.member_id, r.offset_days) for r in claimed] == expected


async def test_claimed_reminders_are_not_claimed_again_until_the_lease_runs_out(db, world, clock):
    await planner_for(db).tick(clock.now())
    due = hanoi(2020, 6, 12, 8)
    first = await claim(db, "a", due)
    during = await claim(db, "b", due + LEASE - dt.timedelta(seconds=1))
    after = await claim(db, "b", due + LEASE)
    expected = (3, 0, 3)
    assert (len(first), len(during), len(after)) == expected


async def test_a_sender_that_lost_its_lease_cannot_acknowledge(db, world, clock):
    await planner_for(db).tick(clock.now())
    due = hanoi(2020, 6, 12, 8)
    stale = await claim(db, "a", due)
    await claim(db, "b", due + LEASE)
    async with db.transaction() as session:
        late = await outbox.acknowledge(
            session, [r.id for r in stale], worker="a", now=due + LEASE, platform="console", message_id="1"
        )
        in_time = await outbox.acknowledge(
            session, [r.id for r in stale], worker="b", now=due + LEASE, platform="console", message_id="2"
        )
    expected = (0, 3)
    assert (late, in_time) == expected


async def test_a_report_cancels_only_the_reminders_it_settles(db, world, clock):
    clock.set(hanoi(2020, 6, 12, 9))
    # Two deadlines ten days apart: with the quarter check-in kept (no merge window), 30/6 has its own.
    config = config_from({"reminders": {"merge_window_days": 0}})
    await planner_for(db, config).tick(clock.now())  # 20/6 reminders, 30/6 quarter check-in (23/6...)
    agency = world.agencies["dulich"]
    async with db.transaction() as session:
        cancelled = await outbox.cancel_for_report(session, agency.id, REPORT_DAY, clock.now())
    async with db.snapshot() as session:
        rows = (
            await session.execute(
                select(Reminder.agency_id, Reminder.kind, Reminder.deadline, Reminder.status).where(
                    Reminder.status.in_(("pending", "cancelled"))
                )
            )
        ).all()
    cancelled_rows = sorted(
        (kind, deadline.isoformat()) for a, kind, deadline, status in rows if status == "cancelled"
    )
    others_pending = {
        a for a, kind, deadline, status in rows if status == "pending" and a not in (agency.id, None)
    }
    # The 12/6 reminder is already due but still pending; the 20/6 overdue reminders go too. The
    # quarter check-in (30/6) counts any update made since 1/4, so its reminders go as well.
    expected = sorted(
        [("report", "2020-06-20")] * 3
        + [("overdue", "2020-06-20")] * 2
        + [("quarter", "2020-06-30")] * 3
        + [("overdue", "2020-06-30")]
    )
    assert cancelled_rows == expected
    assert cancelled == len(expected)
    assert others_pending == {world.agencies["tttt"].id, world.agencies["ngoaivu"].id}


async def test_status_counts_reminders_per_deadline(db, world, clock, transport):
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    clock.set(hanoi(2020, 6, 12, 8))
    transport.fail("focal-ngoaivu", DeliveryError("blocked", permanent=True))
    await engine.send()
    async with db.snapshot() as session:
        (line,) = await outbox.status_by_deadline(session)
    expected = ((REPORT_DAY, "report"), 6, 2, 1)
    assert (
        (line.deadline, line.deadline_kind),
        line.pending,
        line.counts["sent"],
        line.counts["unreachable"],
    ) == expected


async def test_a_persons_reminders_due_later_the_same_day_come_along_in_the_one_message(db, world, clock):
    await planner_for(db).tick(clock.now())
    member_id = world.focal["tttt"].id
    async with db.transaction() as session:
        rows = (
            await session.scalars(
                select(Reminder).where(Reminder.member_id == member_id).order_by(Reminder.available_at)
            )
        ).all()
        first, other = rows[0], rows[-1]
        # Another plan's reminder, sent at 14:00 the same day by its kind's own send time.
        other.available_at = other.due_at = first.available_at + dt.timedelta(hours=6)
        first_at, other_id = first.available_at, other.id
    local = first_at.astimezone(hanoi(2020, 1, 1).tzinfo)
    day_ends_at = hanoi(local.year, local.month, local.day, 0) + dt.timedelta(days=1)
    async with db.transaction() as session:
        alone = await outbox.claim(session, worker="a", now=first_at, lease=LEASE, limit=1)
    assert other_id not in {r.id for r in alone}
    async with db.transaction() as session:
        await session.execute(
            Reminder.__table__.update().values(
                status="pending", claimed_by=None, lease_until=None, attempts=0
            )
        )
    async with db.transaction() as session:
        merged = await outbox.claim(
            session, worker="b", now=first_at, lease=LEASE, limit=1, day_ends_at=day_ends_at
        )
    assert other_id in {r.id for r in merged}
