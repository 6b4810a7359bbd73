from __future__ import annotations

import datetime as dt
from collections import Counter
from types import SimpleNamespace

import pytest
from sqlalchemy import delete

from storage.models.people import COORDINATOR, NOT_STARTED
from storage.models.plan import TaskAgency
from storage.summary import (
    ATTENTION,
    BLOCKED,
    DONE_LATE,
    DONE_ON_TIME,
    IN_PROGRESS,
    NOT_DUE,
    OVERDUE,
    PlanNotFound,
    build_summary,
    derive_status,
)
from tests.factories import SectionSpec, make_member, make_plan, make_update

D = dt.date
JUNE = D(2020, 6, 20)
NOVEMBER = D(2020, 11, 20)


def at(day: dt.date, hour: int = 3) -> dt.datetime:
    """An instant on `day` in UTC (03:00 UTC is 10:00 in Hanoi, the same calendar day)."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def report(status: str, when: dt.datetime):
    return SimpleNamespace(status=status, created_at=when)


def task_ending(day: dt.date | None):
    return SimpleNamespace(end_on=day)


# ------------------------------------------------------------------ derive_status, rule by rule


@pytest.mark.parametrize(
    ("end_on", "latest", "today", "expected"),
    [
        # done on or before the end date, or after it
        (D(2020, 6, 30), report("done", at(D(2020, 6, 30))), D(2020, 6, 1), DONE_ON_TIME),
        (D(2020, 6, 30), report("done", at(D(2020, 7, 1))), D(2020, 7, 2), DONE_LATE),
        # a task without an end date is due at the end of the period
        (None, report("done", at(JUNE)), D(2020, 6, 1), DONE_ON_TIME),
        (None, report("done", at(D(2020, 6, 21))), D(2020, 6, 25), DONE_LATE),
        # blocked wins over overdue
        (D(2020, 3, 31), report("blocked", at(D(2020, 3, 1))), D(2020, 6, 1), BLOCKED),
        # past due and not done
        (D(2020, 3, 31), report("in_progress", at(D(2020, 3, 1))), D(2020, 6, 1), OVERDUE),
        (D(2020, 3, 31), None, D(2020, 6, 1), OVERDUE),
        (D(2020, 3, 31), report(NOT_STARTED, at(D(2020, 3, 1))), D(2020, 6, 1), OVERDUE),
        # due today is not yet overdue
        (D(2020, 6, 1), None, D(2020, 6, 1), NOT_DUE),
        # under way, or not started, and not yet due
        (D(2020, 12, 31), report("in_progress", at(D(2020, 5, 1))), D(2020, 6, 1), IN_PROGRESS),
        (D(2020, 12, 31), report(NOT_STARTED, at(D(2020, 5, 1))), D(2020, 6, 1), NOT_DUE),
        (D(2020, 12, 31), None, D(2020, 6, 1), NOT_DUE),
    ],
)
def test_each_rule_of_the_derived_status(end_on, latest, today, expected):
    assert derive_status(task_ending(end_on), latest, today, JUNE) == expected


def test_done_is_judged_by_the_local_date_not_the_utc_one():
    # 17:30 UTC on 30 June is 00:30 on 1 July in Hanoi: one day late.
    latest = report("done", dt.datetime(2020, 6, 30, 17, 30, tzinfo=dt.UTC))
    assert derive_status(task_ending(D(2020, 6, 30)), latest, D(2020, 7, 5), NOVEMBER) == DONE_LATE


def test_a_closed_cycle_reads_as_it_stood_the_day_after_it_closed():
    # Looking back in November at the June cycle: a task due in September was not overdue then,
    # one due on the deadline and unfinished was.
    today = D(2020, 11, 25)
    assert derive_status(task_ending(D(2020, 9, 30)), None, today, JUNE) == NOT_DUE
    assert derive_status(task_ending(JUNE), None, today, JUNE) == OVERDUE


# ------------------------------------------------------------------ build_summary on a real database


async def test_agencies_reported_are_those_with_an_update_in_the_cycle(db):
    async with db.transaction() as session:
        built = await make_plan(session)
        tttt, du_lich = built.agencies["Sở Thông tin và Truyền thông"], built.agencies["Sở Du lịch"]
        await make_update(session, built.tasks["I.1"], agency=tttt, cycle=JUNE, at=at(D(2020, 6, 10)))
        # Sở Du lịch's update counts towards November, not the cycle summarised.
        await make_update(session, built.tasks["II.1"], agency=du_lich, cycle=NOVEMBER, at=at(D(2020, 6, 22)))
        plan_id = built.plan.id

    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 6, 15))

    assert [a.name for a in summary.expected_agencies] == [
        "Sở Thông tin và Truyền thông",
        "Sở Du lịch",
        "Sở Ngoại vụ",
    ]
    assert [a.name for a in summary.reported_agencies] == ["Sở Thông tin và Truyền thông"]
    assert [a.name for a in summary.missing_agencies] == ["Sở Du lịch", "Sở Ngoại vụ"]
    assert (summary.start, summary.end) == (D(2020, 1, 1), JUNE)


async def test_each_task_carries_its_derived_status_and_latest_note_with_author_and_time(db):
    async with db.transaction() as session:
        built = await make_plan(
            session,
            [
                SectionSpec(
                    "Sở Thông tin và Truyền thông",
                    [
                        ("Phát sóng chương trình đối ngoại", "Tháng 5/2020", D(2020, 5, 31)),
                        ("Tổng hợp dư luận báo chí", "Quý II/2020", D(2020, 6, 30)),
                        ("Tập huấn nghiệp vụ", "Quý II/2020", D(2020, 6, 30)),
                        ("Xây dựng ấn phẩm", "Tháng 4/2020", D(2020, 4, 30)),
                        ("Duy trì trang tiếng Anh", "Cả năm", D(2020, 12, 31)),
                        ("Tổ chức đoàn công tác", "Quý IV/2020", D(2020, 12, 31)),
                    ],
                    short_name="Sở TTTT",
                )
            ],
        )
        tttt = built.agencies["Sở Thông tin và Truyền thông"]
        lan = await make_member(session, "Nguyễn Thị Lan", agency=tttt)
        t = built.tasks
        await make_update(
            session, t["I.1"], agency=tttt, cycle=JUNE, at=at(D(2020, 5, 2)), status="in_progress"
        )
        await make_update(
            session,
            t["I.1"],
            agency=tttt,
            cycle=JUNE,
            at=at(D(2020, 6, 2)),
            status="done",
            member=lan,
            note="Đã phát sóng 12 chương trình",
        )
        await make_update(session, t["I.2"], agency=tttt, cycle=JUNE, at=at(D(2020, 6, 3)), status="done")
        await make_update(
            session,
            t["I.3"],
            agency=tttt,
            cycle=JUNE,
            at=at(D(2020, 6, 4)),
            status="blocked",
            note="Chưa bố trí được kinh phí",
        )
        await make_update(
            session, t["I.5"], agency=tttt, cycle=JUNE, at=at(D(2020, 6, 5)), status="in_progress"
        )
        plan_id = built.plan.id

    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 6, 10))

    expected = {
        "I.1": DONE_LATE,  # ended 31 May, done 2 June
        "I.2": DONE_ON_TIME,
        "I.3": BLOCKED,
        "I.4": OVERDUE,  # ended 30 April, nothing reported
        "I.5": IN_PROGRESS,
        "I.6": NOT_DUE,
    }
    assert {task.code: task.status for task in summary.tasks} == expected
    first = summary.task_by_id[t["I.1"].id]
    assert (first.latest.note, first.latest.member_name, first.latest.created_at) == (
        "Đã phát sóng 12 chương trình",
        "Nguyễn Thị Lan",
        at(D(2020, 6, 2)),
    )
    assert [task.code for task in summary.attention] == ["I.3", "I.4"]
    assert [task.status for task in summary.ordered_tasks()][:2] == [BLOCKED, OVERDUE]
    agency = summary.agency(tttt.id)
    assert agency.counts == Counter(expected.values())
    assert (agency.done, agency.total, agency.label) == (2, 6, "Sở TTTT")
    assert summary.counts == Counter(expected.values())


async def test_counts_per_agency_cover_only_the_tasks_it_leads(db):
    async with db.transaction() as session:
        built = await make_plan(session)  # Sở TTTT coordinates Sở Du lịch's three tasks
        du_lich = built.agencies["Sở Du lịch"]
        await make_update(
            session, built.tasks["II.2"], agency=du_lich, cycle=JUNE, at=at(D(2020, 6, 2)), status="done"
        )
        plan_id = built.plan.id
        tttt_id = built.agencies["Sở Thông tin và Truyền thông"].id

    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 6, 10))

    assert summary.agency(du_lich.id).counts == Counter({NOT_DUE: 2, DONE_ON_TIME: 1})
    tttt = summary.agency(tttt_id)
    assert tttt.counts == Counter({NOT_DUE: 3})
    assert [task.code for task in tttt.coordinating_tasks] == ["II.1", "II.2", "II.3"]


async def test_tasks_nobody_updated_this_cycle_are_counted_per_agency(db):
    async with db.transaction() as session:
        built = await make_plan(session)
        tttt = built.agencies["Sở Thông tin và Truyền thông"]
        # I.1 updated in June's cycle; I.2 only before it (counted towards nothing later)
        await make_update(session, built.tasks["I.1"], agency=tttt, cycle=NOVEMBER, at=at(D(2020, 7, 2)))
        await make_update(session, built.tasks["I.2"], agency=tttt, cycle=JUNE, at=at(D(2020, 6, 2)))
        plan_id = built.plan.id

    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=NOVEMBER, today=D(2020, 7, 10))

    agency = summary.agency(tttt.id)
    assert [task.code for task in agency.tasks_without_update] == ["I.2", "I.3"]
    assert agency.without_update == 2
    # The June update still gives I.2 its latest word.
    assert summary.task_by_id[built.tasks["I.2"].id].latest is not None


async def test_a_late_report_for_an_earlier_cycle_does_not_hide_a_newer_one(db):
    async with db.transaction() as session:
        built = await make_plan(session)
        tttt = built.agencies["Sở Thông tin và Truyền thông"]
        task = built.tasks["I.1"]
        await make_update(
            session, task, agency=tttt, cycle=NOVEMBER, at=at(D(2020, 7, 1)), status="blocked", note="newer"
        )
        await make_update(
            session,
            task,
            agency=tttt,
            cycle=JUNE,
            at=at(D(2020, 7, 2)),
            status="in_progress",
            note="late for June",
        )
        plan_id = built.plan.id

    async with db.snapshot() as session:
        november = await build_summary(session, plan_id, cycle=NOVEMBER, today=D(2020, 7, 10))
        june = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 7, 10))

    assert november.task_by_id[task.id].latest.note == "newer"
    assert june.task_by_id[task.id].latest.note == "late for June"


async def test_a_date_range_counts_updates_recorded_within_it_in_local_days(db):
    async with db.transaction() as session:
        built = await make_plan(session)
        tttt, ngoai_vu = built.agencies["Sở Thông tin và Truyền thông"], built.agencies["Sở Ngoại vụ"]
        # 31 May 17:30 UTC is already 1 June in Hanoi: inside a range starting 1 June.
        await make_update(
            session,
            built.tasks["I.1"],
            agency=tttt,
            cycle=JUNE,
            at=dt.datetime(2020, 5, 31, 17, 30, tzinfo=dt.UTC),
        )
        # 31 May 16:30 UTC is 23:30 on 31 May in Hanoi: before the range.
        await make_update(
            session,
            built.tasks["III.1"],
            agency=ngoai_vu,
            cycle=JUNE,
            at=dt.datetime(2020, 5, 31, 16, 30, tzinfo=dt.UTC),
        )
        plan_id = built.plan.id

    async with db.snapshot() as session:
        summary = await build_summary(
            session, plan_id, start=D(2020, 6, 1), end=D(2020, 6, 7), today=D(2020, 6, 8)
        )

    assert [a.name for a in summary.reported_agencies] == ["Sở Thông tin và Truyền thông"]
    assert summary.cycle is None
    assert summary.task_by_id[built.tasks["III.1"].id].updated_in_period is False
    assert summary.task_by_id[built.tasks["I.1"].id].updated_in_period is True


async def test_the_cycle_defaults_to_the_one_holding_today(db):
    async with db.transaction() as session:
        plan_id = (await make_plan(session)).plan.id
    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, today=D(2020, 7, 1))
    assert (summary.cycle, summary.start, summary.end) == (NOVEMBER, D(2020, 6, 21), NOVEMBER)


async def test_members_who_cannot_be_reached_are_listed_with_their_agency(db):
    async with db.transaction() as session:
        built = await make_plan(session)
        du_lich = built.agencies["Sở Du lịch"]
        gone = await make_member(session, "Trần Văn Minh", agency=du_lich)
        gone.reachable = False
        gone.unreachable_reason = "bot blocked by the user"
        await make_member(session, "Lê Thu Hà", agency=du_lich)
        boss = await make_member(session, "Phạm Quốc Hùng", role=COORDINATOR)
        boss.reachable = False
        plan_id = built.plan.id

    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 6, 10))

    assert sorted((m.name, m.agency_name) for m in summary.unreachable) == [
        ("Phạm Quốc Hùng", None),
        ("Trần Văn Minh", "Sở Du lịch"),
    ]
    agency = summary.agency(du_lich.id)
    assert (agency.focal_points, agency.unreachable_members) == (2, 1)


async def test_a_task_without_a_lead_link_is_led_by_its_sections_agency(db):
    async with db.transaction() as session:
        built = await make_plan(session)
        await session.execute(delete(TaskAgency).where(TaskAgency.task_id == built.tasks["III.2"].id))
        plan_id, ngoai_vu = built.plan.id, built.agencies["Sở Ngoại vụ"]

    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 6, 10))

    assert [task.code for task in summary.agency(ngoai_vu.id).lead_tasks] == ["III.1", "III.2"]
    assert summary.agency(ngoai_vu.id).total == 2
    assert summary.unassigned == 0


async def test_the_attention_detail_keeps_every_count_and_details_only_what_needs_attention(db):
    async with db.transaction() as session:
        built = await make_plan(
            session,
            [
                SectionSpec(
                    "Sở Du lịch", [("Việc đã quá hạn", "Tháng 3/2020", D(2020, 3, 31)), "Việc cả năm"]
                ),
                SectionSpec("Sở Ngoại vụ", ["Việc đang vướng", "Việc đã xong"]),
            ],
        )
        ngoai_vu = built.agencies["Sở Ngoại vụ"]
        await make_update(
            session, built.tasks["II.1"], agency=ngoai_vu, cycle=JUNE, at=at(D(2020, 6, 2)), status="blocked"
        )
        await make_update(
            session, built.tasks["II.2"], agency=ngoai_vu, cycle=JUNE, at=at(D(2020, 6, 2)), status="done"
        )
        plan_id = built.plan.id

    async with db.snapshot() as session:
        full = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 6, 10))
        brief = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 6, 10), detail=ATTENTION)
        one_agency = await build_summary(
            session, plan_id, cycle=JUNE, today=D(2020, 6, 10), detail=ATTENTION, agency_id=ngoai_vu.id
        )

    assert brief.counts == full.counts == Counter({OVERDUE: 1, NOT_DUE: 1, BLOCKED: 1, DONE_ON_TIME: 1})
    assert [a.counts for a in brief.agencies] == [a.counts for a in full.agencies]
    assert [task.code for task in brief.tasks] == ["I.1", "II.1"]
    assert [task.code for task in brief.attention] == ["II.1", "I.1"]
    assert [task.code for task in one_agency.tasks] == ["I.1", "II.1", "II.2"]
    assert brief.task_by_id[built.tasks["II.1"].id].latest.status == "blocked"


REPORTS = [
    None,
    (NOT_STARTED, at(D(2020, 6, 1))),
    ("in_progress", at(D(2020, 6, 1))),
    ("blocked", at(D(2020, 6, 1))),
    ("done", at(D(2020, 6, 8))),
    ("done", dt.datetime(2020, 6, 9, 17, 30, tzinfo=dt.UTC)),  # already 10 June in Hanoi
    ("done", at(D(2020, 6, 10))),
]


@pytest.mark.parametrize("end_on", [None, D(2020, 6, 9), D(2020, 6, 10), D(2020, 6, 30)])
async def test_the_database_applies_the_same_status_rules_as_derive_status(db, end_on):
    """Every reported status and report time against one end date, one agency per task, so that each
    agency's counts (computed by the database) name exactly one task's status (derived here)."""
    today = D(2020, 6, 10)
    async with db.transaction() as session:
        specs = [SectionSpec(f"Đơn vị {n}", [(f"Việc {n}", "—", end_on)]) for n in range(len(REPORTS))]
        built = await make_plan(session, specs)
        for n, reported in enumerate(REPORTS):
            if reported:
                agency = built.agencies[f"Đơn vị {n}"]
                task = next(t for t in built.tasks.values() if t.content == f"Việc {n}")
                await make_update(
                    session, task, agency=agency, cycle=JUNE, at=reported[1], status=reported[0]
                )
        plan_id = built.plan.id

    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=JUNE, today=today)

    derived = {agency.name: Counter(task.status for task in agency.lead_tasks) for agency in summary.agencies}
    counted = {agency.name: agency.counts for agency in summary.agencies}
    assert counted == derived
    assert all(sum(counts.values()) == 1 for counts in counted.values())


async def test_an_unknown_plan_or_a_date_that_closes_no_cycle_is_refused(db):
    async with db.transaction() as session:
        plan_id = (await make_plan(session)).plan.id
    async with db.snapshot() as session:
        with pytest.raises(PlanNotFound):
            await build_summary(session, plan_id + 1, today=D(2020, 6, 1))
        with pytest.raises(ValueError, match="not a reporting deadline"):
            await build_summary(session, plan_id, cycle=D(2020, 6, 30), today=D(2020, 6, 1))
        with pytest.raises(ValueError, match="not both"):
            await build_summary(
                session, plan_id, cycle=JUNE, start=D(2020, 6, 1), end=JUNE, today=D(2020, 6, 1)
            )
        with pytest.raises(ValueError, match="after it ends"):
            await build_summary(session, plan_id, start=JUNE, end=D(2020, 6, 1), today=D(2020, 6, 1))


async def test_the_garbage_collector_is_left_as_it_was_found(db):
    import gc

    async with db.transaction() as session:
        plan_id = (await make_plan(session)).plan.id
    async with db.snapshot() as session:
        await build_summary(session, plan_id, today=D(2020, 6, 1))
        assert gc.isenabled()
        gc.disable()
        try:
            await build_summary(session, plan_id, today=D(2020, 6, 1))
            assert not gc.isenabled()
        finally:
            gc.enable()
