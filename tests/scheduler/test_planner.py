import datetime as dt

from sqlalchemy import func, select

from bot.config import Config, config_from
from bot.reminders import calendar_from_config, policy_from_config
from scheduler.planner import Planner
from storage.models import Member, Reminder
from tests.factories import make_update
from tests.scheduler.conftest import hanoi


def planner_for(db, config: Config | None = None) -> Planner:
    config = config or Config()
    return Planner(
        db,
        policy_from_config(config),
        calendar_from_config(config),
        horizon=dt.timedelta(days=config.reminders.horizon_days),
    )


async def planned(db) -> list[tuple]:
    async with db.snapshot() as session:
        rows = (
            (await session.execute(select(Reminder).order_by(Reminder.due_at, Reminder.member_id)))
            .unique()
            .scalars()
        )
        return [
            (
                r.member.name,
                r.kind,
                r.deadline.isoformat(),
                r.offset_days,
                r.due_at.astimezone(hanoi(2020, 1, 1).tzinfo).strftime("%d/%m %H:%M"),
            )
            for r in rows
        ]


async def test_the_planner_writes_a_row_per_focal_point_for_each_reminder_in_the_horizon(db, world):
    # 1 June, horizon 21 days: the 20/6 reminders (12/6, 17/6, 19/6); 22/6 is just outside.
    await planner_for(db).tick(hanoi(2020, 6, 1))
    expected = [
        (f"focal-{label}", "report", "2020-06-20", offset, day)
        for offset, day in ((7, "12/06 08:00"), (3, "17/06 08:00"), (1, "19/06 08:00"))
        for label in ("tttt", "dulich", "ngoaivu")
    ]
    assert await planned(db) == expected


async def test_planning_the_same_horizon_again_adds_nothing(db, world):
    planner = planner_for(db)
    first = await planner.tick(hanoi(2020, 6, 1))
    second = await planner.tick(hanoi(2020, 6, 1))
    async with db.snapshot() as session:
        rows = await session.scalar(select(func.count()).select_from(Reminder))
    expected = (9, 0, 9)
    assert (first.total, second.total, rows) == expected


async def test_an_agency_that_has_reported_gets_no_reminder(db, world):
    async with db.transaction() as session:
        await make_update(
            session,
            world.tasks["II.1"],
            agency=world.agencies["dulich"],
            cycle=dt.date(2020, 6, 20),
            at=hanoi(2020, 5, 30),
        )
    await planner_for(db).tick(hanoi(2020, 6, 1))
    expected = {"focal-tttt", "focal-ngoaivu"}
    assert {name for name, *_ in await planned(db)} == expected


async def test_an_unreachable_or_retired_focal_point_is_not_planned(db, world):
    async with db.transaction() as session:
        tttt = await session.get(Member, world.focal["tttt"].id)
        tttt.reachable = False
        ngoaivu = await session.get(Member, world.focal["ngoaivu"].id)
        ngoaivu.status = "retired"
    await planner_for(db).tick(hanoi(2020, 6, 1))
    expected = {"focal-dulich"}
    assert {name for name, *_ in await planned(db)} == expected


async def test_after_downtime_the_planner_plans_only_the_latest_missed_reminder(db, world):
    # The bot was off from before 12/6 until 18/6 10:00: 7 and 3 days before are both past.
    await planner_for(db).tick(hanoi(2020, 6, 18, 10))
    rows = [
        (name, offset)
        for name, kind, deadline, offset, _ in await planned(db)
        if name == "focal-tttt" and kind == "report"
    ]
    expected = [("focal-tttt", 3), ("focal-tttt", 1)]
    assert rows == expected


async def test_past_the_deadline_the_overdue_reminders_and_the_digest_are_planned(db, world):
    await planner_for(db).tick(hanoi(2020, 6, 21, 10))
    rows = [
        (name, kind, offset, day)
        for name, kind, deadline, offset, day in await planned(db)
        if deadline == "2020-06-20"
    ]
    expected = [
        ("focal-tttt", "overdue", -1, "22/06 08:00"),
        ("focal-dulich", "overdue", -1, "22/06 08:00"),
        ("focal-ngoaivu", "overdue", -1, "22/06 08:00"),
        ("coordinator", "escalation", -1, "22/06 08:00"),
        ("focal-tttt", "overdue", -3, "24/06 08:00"),
        ("focal-dulich", "overdue", -3, "24/06 08:00"),
        ("focal-ngoaivu", "overdue", -3, "24/06 08:00"),
    ]
    assert rows == expected


async def test_a_late_report_after_the_deadline_stops_the_overdue_reminders(db, world):
    # Reported on Monday 22/6, after the deadline: the update counts towards the next cycle.
    async with db.transaction() as session:
        await make_update(
            session,
            world.tasks["II.1"],
            agency=world.agencies["dulich"],
            cycle=dt.date(2020, 11, 20),
            at=hanoi(2020, 6, 22, 7),
        )
    await planner_for(db).tick(hanoi(2020, 6, 22, 7, 30))
    overdue = {
        name
        for name, kind, deadline, *_ in await planned(db)
        if kind == "overdue" and deadline == "2020-06-20"
    }
    expected = {"focal-tttt", "focal-ngoaivu"}
    assert overdue == expected


async def test_the_planner_computes_in_the_configured_zone_and_stores_utc(db, world):
    config = Config()
    config.calendar.timezone = "Asia/Tokyo"
    await planner_for(db, config).tick(hanoi(2020, 6, 1))
    async with db.snapshot() as session:
        due = await session.scalar(select(func.min(Reminder.due_at)))
    # 08:00 on Friday 12/6 in Tokyo is 23:00 on Thursday 11/6 in UTC.
    expected = dt.datetime(2020, 6, 11, 23, 0, tzinfo=dt.UTC)
    assert due == expected


async def test_a_task_deadline_reminds_only_the_tasks_lead_agency(db):
    from tests.factories import SectionSpec, make_member, make_plan

    sections = [
        SectionSpec("Sở Du lịch", [("Đón đoàn khảo sát", "Quý II/2020", dt.date(2020, 6, 30))]),
        SectionSpec("Sở Ngoại vụ", ["Xuất bản đặc san"]),
    ]
    async with db.transaction() as session:
        built = await make_plan(session, sections)
        for name, agency in built.agencies.items():
            await make_member(session, f"focal {name}", agency=agency)
    await planner_for(db).tick(hanoi(2020, 6, 22, 9))
    async with db.snapshot() as session:
        rows = (
            await session.execute(
                select(Member.name, Reminder.offset_days)
                .join(Member, Member.id == Reminder.member_id)
                .where(Reminder.kind == "task")
            )
        ).all()
    expected = [("focal Sở Du lịch", 7), ("focal Sở Du lịch", 3), ("focal Sở Du lịch", 1)]
    assert sorted(rows, key=lambda r: -r[1]) == expected


async def test_a_co_lead_that_reported_the_task_done_is_not_reminded_of_it_while_the_other_finishes(db):
    from storage.models.plan import LEAD, TaskAgency
    from tests.factories import SectionSpec, make_member, make_plan

    sections = [
        SectionSpec("Sở Du lịch", [("Đón đoàn khảo sát", "Quý II/2020", dt.date(2020, 6, 30))]),
        SectionSpec("Sở Ngoại vụ", ["Xuất bản đặc san"]),
    ]
    async with db.transaction() as session:
        built = await make_plan(session, sections)
        du_lich, ngoai_vu = built.agencies["Sở Du lịch"], built.agencies["Sở Ngoại vụ"]
        task = built.tasks["I.1"]
        session.add(TaskAgency(task_id=task.id, agency_id=ngoai_vu.id, role=LEAD, position=1))
        for name, agency in built.agencies.items():
            await make_member(session, f"focal {name}", agency=agency)
        # Sở Du lịch said it was done in March: a quarter before, so it does not settle the June deadline.
        await make_update(
            session, task, agency=du_lich, cycle=dt.date(2020, 6, 20), at=hanoi(2020, 3, 20, 9), status="done"
        )
    await planner_for(db).tick(hanoi(2020, 6, 22, 9))
    async with db.snapshot() as session:
        rows = (
            await session.execute(
                select(Member.name)
                .select_from(Reminder)
                .join(Member, Member.id == Reminder.member_id)
                .where(Reminder.kind == "task")
                .distinct()
            )
        ).all()
    assert [name for (name,) in rows] == ["focal Sở Ngoại vụ"]


async def test_a_quarter_end_near_a_reporting_deadline_is_covered_by_its_reminders(db, world, clock):
    clock.set(hanoi(2020, 6, 12, 9))  # the horizon reaches past 30/6

    await planner_for(db).tick(clock.now())
    merged = {kind for _, kind, *_ in await planned(db)}
    await planner_for(db, config_from({"reminders": {"merge_window_days": 0}})).tick(clock.now())
    kept = {kind for _, kind, *_ in await planned(db)}

    # 30/6 is ten days after 20/6: within the default fourteen-day window, no check-in of its own.
    assert "quarter" not in merged
    assert "quarter" in kept


async def test_a_reminder_due_on_a_plans_last_day_is_still_caught_up_after_the_plan_ended(db):
    """A plan ending at the turn of the year (the planner reads only plans that may still owe a
    send): the bot was down over its last day, and the overdue reminder due then has not expired."""
    from tests.factories import SectionSpec, make_member, make_plan

    async with db.transaction() as session:
        built = await make_plan(
            session, [SectionSpec("Sở Du lịch", ["Đón đoàn khảo sát"])], deadlines=("2020-12-31",)
        )
        await make_member(session, "focal-dulich", agency=built.agencies["Sở Du lịch"])
    config = Config()
    planner = Planner(
        db,
        policy_from_config(config),
        calendar_from_config(config),
        horizon=dt.timedelta(days=config.reminders.horizon_days),
        grace_days=4,
    )
    # Friday 1/1 is a holiday: one working day after 31/12 is Monday 4/1, the plan's last day (31/12
    # and 4 days of grace). On Wednesday 6/1 it has ended; the reminder of 4/1 is late, not stale.
    await planner.tick(hanoi(2021, 1, 6, 10))
    rows = [(name, kind, offset, day) for name, kind, deadline, offset, day in await planned(db)]
    assert ("focal-dulich", "overdue", -1, "04/01 08:00") in rows
    # Once it has expired (five days late), nothing of the plan is planned any more.
    await planner.tick(hanoi(2021, 1, 12, 10))
    assert [(name, kind, offset, day) for name, kind, _, offset, day in await planned(db)] == rows
