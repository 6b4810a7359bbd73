from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import delete, func, select

from storage.models.people import BLOCKED, COORDINATOR, DONE, IN_PROGRESS
from storage.models.plan import LEAD, TaskAgency
from storage.progress_rules import LATE, NO_DEADLINE, NOT_DUE, NOT_REPORTED, ON_TIME, OVERDUE
from storage.summary import ATTENTION, PlanNotFound, build_summary
from tests.factories import SectionSpec, make_member, make_plan, make_update

D = dt.date
JUNE = D(2020, 6, 20)
NOVEMBER = D(2020, 11, 20)


def at(day: dt.date, hour: int = 3) -> dt.datetime:
    """An instant on `day` in UTC (03:00 UTC is 10:00 in Hanoi, the same calendar day)."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


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
        "I.1": (DONE, LATE),  # ended 31 May, done 2 June
        "I.2": (DONE, ON_TIME),
        "I.3": (BLOCKED, NOT_DUE),
        "I.4": (NOT_REPORTED, OVERDUE),  # ended 30 April, nothing reported
        "I.5": (IN_PROGRESS, NOT_DUE),
        "I.6": (NOT_REPORTED, NOT_DUE),
    }
    assert {task.code: (task.reported, task.timing) for task in summary.tasks} == expected
    first = summary.task_by_id[t["I.1"].id]
    assert (first.latest.note, first.latest.member_name, first.latest.created_at) == (
        "Đã phát sóng 12 chương trình",
        "Nguyễn Thị Lan",
        at(D(2020, 6, 2)),
    )
    assert [task.code for task in summary.attention] == ["I.3", "I.4"]
    assert [task.code for task in summary.ordered_tasks()][:2] == ["I.3", "I.4"]
    agency = summary.agency(tttt.id)
    assert agency.reported_counts == Counter(reported for reported, _timing in expected.values())
    assert agency.timing_counts == Counter(timing for _reported, timing in expected.values())
    assert (agency.done, agency.total, agency.label) == (2, 6, "Sở TTTT")
    assert summary.reported_counts == agency.reported_counts
    assert summary.timing_counts == agency.timing_counts


async def test_counts_per_agency_cover_only_the_tasks_it_answers_for(db):
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

    assert summary.agency(du_lich.id).reported_counts == Counter({NOT_REPORTED: 2, DONE: 1})
    assert summary.agency(du_lich.id).timing_counts == Counter({NOT_DUE: 2, ON_TIME: 1})
    tttt = summary.agency(tttt_id)
    assert tttt.reported_counts == Counter({NOT_REPORTED: 3})
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
        # One active focal point per agency: the reachable one is another agency's.
        await make_member(session, "Lê Thu Hà", agency=built.agencies["Sở Ngoại vụ"])
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
    assert (agency.focal_points, agency.unreachable_members) == (1, 1)
    other = summary.agency(built.agencies["Sở Ngoại vụ"].id)
    assert (other.focal_points, other.unreachable_members) == (1, 0)


async def test_a_task_without_a_lead_link_is_led_by_its_sections_agency(db):
    async with db.transaction() as session:
        built = await make_plan(session)
        await session.execute(delete(TaskAgency).where(TaskAgency.task_id == built.tasks["III.2"].id))
        plan_id, ngoai_vu = built.plan.id, built.agencies["Sở Ngoại vụ"]

    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 6, 10))

    assert [task.code for task in summary.agency(ngoai_vu.id).tasks] == ["III.1", "III.2"]
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

    assert brief.reported_counts == full.reported_counts == Counter({NOT_REPORTED: 2, BLOCKED: 1, DONE: 1})
    assert brief.timing_counts == full.timing_counts == Counter({OVERDUE: 1, NOT_DUE: 2, ON_TIME: 1})
    assert [a.reported_counts for a in brief.agencies] == [a.reported_counts for a in full.agencies]
    assert [task.code for task in brief.tasks] == ["I.1", "II.1"]
    assert [task.code for task in brief.attention] == ["II.1", "I.1"]
    assert [task.code for task in one_agency.tasks] == ["I.1", "II.1", "II.2"]
    assert brief.task_by_id[built.tasks["II.1"].id].latest.status == "blocked"


async def test_a_task_without_an_end_date_is_never_overdue_even_in_a_closed_cycle(db):
    async with db.transaction() as session:
        built = await make_plan(
            session, [SectionSpec("Sở Du lịch", [("Việc chưa xác định ngày", "Chưa xác định", None)])]
        )
        plan_id = built.plan.id
    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 12, 1))
    task = summary.tasks[0]
    assert (task.reported, task.timing) == (NOT_REPORTED, NO_DEADLINE)
    assert summary.timing_counts == Counter({NO_DEADLINE: 1})
    assert summary.attention == []


async def test_a_co_led_task_is_done_for_the_lead_that_said_so_and_for_the_task_when_all_did(db):
    async with db.transaction() as session:
        built = await make_plan(session)
        tttt, du_lich = built.agencies["Sở Thông tin và Truyền thông"], built.agencies["Sở Du lịch"]
        task = built.tasks["II.1"]
        session.add(TaskAgency(task_id=task.id, agency_id=tttt.id, role=LEAD, position=1))
        await make_update(session, task, agency=du_lich, cycle=JUNE, at=at(D(2020, 6, 2)), status="done")
        plan_id, task_id = built.plan.id, task.id

    async with db.snapshot() as session:
        before = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 6, 10))
        anyone = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 6, 10), co_lead_rule="any")

    co_led = before.task_by_id[task_id]
    assert (co_led.reported, co_led.percent) == (IN_PROGRESS, 50)
    assert before.agency(du_lich.id).view(co_led).reported == DONE
    assert before.agency(tttt.id).view(co_led).reported == NOT_REPORTED
    # Sở TTTT answers for its own three tasks and the one it co-leads: four, as /nhiemvu lists them.
    assert before.agency(tttt.id).total == 4
    assert anyone.task_by_id[task_id].reported == DONE

    async with db.transaction() as session:
        await make_update(
            session, built.tasks["II.1"], agency=tttt, cycle=JUNE, at=at(D(2020, 6, 5)), status="done"
        )
    async with db.snapshot() as session:
        after = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 6, 10))
    done = after.task_by_id[task_id]
    assert (done.reported, done.timing, done.standing.done_on) == (
        DONE,
        ON_TIME,
        D(2020, 6, 5),
    )
    assert after.agency(tttt.id).done == after.agency(du_lich.id).done == 1


async def test_percentages_are_kept_and_averaged_per_agency_and_plan(db):
    async with db.transaction() as session:
        built = await make_plan(session)
        du_lich = built.agencies["Sở Du lịch"]
        await make_update(
            session, built.tasks["II.1"], agency=du_lich, cycle=JUNE, at=at(D(2020, 6, 2)), percent=60
        )
        await make_update(
            session, built.tasks["II.2"], agency=du_lich, cycle=JUNE, at=at(D(2020, 6, 2)), status="done"
        )
        plan_id = built.plan.id
    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=JUNE, today=D(2020, 6, 10))
    assert summary.task_by_id[built.tasks["II.1"].id].percent == 60
    assert summary.agency(du_lich.id).average_progress == pytest.approx(160 / 3)
    assert summary.average_progress == pytest.approx(160 / 8)


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


async def test_the_reference_plan_counts_each_agencys_tasks_as_the_task_list_numbers_them(db, reference_plan):
    from storage.assignments import assigned_tasks
    from storage.plans.importer import import_plan_file

    async with db.transaction() as session:
        plan_id = (await import_plan_file(session, reference_plan)).plan_id
        assignments = await assigned_tasks(session, plan_id)
        co_led = [
            task_id
            for task_id, count in (
                await session.execute(
                    select(TaskAgency.task_id, func.count())
                    .where(TaskAgency.role == LEAD)
                    .group_by(TaskAgency.task_id)
                    .having(func.count() > 1)
                )
            ).all()
        ]
    async with db.snapshot() as session:
        summary = await build_summary(session, plan_id, cycle=NOVEMBER, today=D(2020, 11, 21))

    expected = {agency_id: len(tasks) for agency_id, tasks in assignments.by_agency.items()}
    assert {agency.id: agency.total for agency in summary.expected_agencies} == expected
    assert co_led, "the reference plan has co-led tasks"
    assert summary.total == 64
