"""The counts the database makes for an overview (storage.summary_sql, by the one-lead rules stated
in SQL in storage.progress_rules) equal the counts `judge` makes task by task, on random plans: several
plans and cycles, revisions that drop tasks, tasks late, overdue and without an end date, co-led
tasks, sections with no agency, agencies merged and renamed, edited updates; on SQLite and
PostgreSQL. The detailed summary (detail=ALL) is the judged one, the overview (ATTENTION) the
counted one."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import select

from storage import people, registry
from storage.models import Agency, LatestInCycle, Section, Task, TaskAgency
from storage.models.people import BLOCKED, DONE, IN_PROGRESS, NOT_STARTED
from storage.models.plan import COORDINATING, LEAD
from storage.progress_rules import ALL_LEADS, ANY_LEAD, responsible
from storage.summary import ALL, ATTENTION, attention_first, build_summary, counts_only, task_summary
from tests.factories import SectionSpec, make_agency, make_plan

NAMES = [f"Sở thử nghiệm {n}" for n in range(1, 10)]
END_DATES = [None, dt.date(2020, 3, 31), dt.date(2020, 6, 30), dt.date(2020, 9, 30), dt.date(2020, 12, 31)]
PLANS = [
    ("1/KH-THU", ("2020-06-20", "2020-11-20")),
    ("2/KH-THU", ("2020-03-31", "2020-09-30", "2020-12-31")),
]
STATUSES = [NOT_STARTED, IN_PROGRESS, DONE, BLOCKED]


def moment(rng: random.Random) -> dt.datetime:
    """Any instant of 2020, sometimes close to a local midnight (Hanoi is UTC+7)."""
    day = dt.date(2020, 1, 2) + dt.timedelta(days=rng.randrange(360))
    hour = rng.choice([0, 3, 16, 17, 18])
    return dt.datetime(day.year, day.month, day.day, hour, rng.randrange(60), tzinfo=dt.UTC)


async def random_world(db, seed: int) -> list[int]:
    """Plans with random tasks, links and updates; returns the plans' ids."""
    rng = random.Random(seed)
    plan_ids = []
    async with db.transaction() as session:
        for name in NAMES:
            await make_agency(session, name)
        for number, deadlines in PLANS:
            sections = [
                SectionSpec(name, [f"Nhiệm vụ {n}" for n in range(rng.randint(2, 5))])
                for name in rng.sample(NAMES, 4)
            ]
            built = await make_plan(session, sections, number=number, deadlines=deadlines)
            plan_ids.append(built.plan.id)
            agencies = list((await session.scalars(select(Agency))).all())
            section_rows = list(
                (await session.scalars(select(Section).where(Section.plan_id == built.plan.id))).all()
            )
            # A section no agency heads: its tasks are answered for by their leads, or by nobody.
            section_rows[-1].agency_id = None
            for task in built.tasks.values():
                task.end_on = rng.choice(END_DATES)
                await session.execute(TaskAgency.__table__.delete().where(TaskAgency.task_id == task.id))
                leads = rng.sample(agencies, rng.choice([0, 0, 1, 1, 2, 3]))
                for position, agency in enumerate(leads):
                    session.add(
                        TaskAgency(task_id=task.id, agency_id=agency.id, role=LEAD, position=position)
                    )
                for position, agency in enumerate(rng.sample(agencies, rng.randint(0, 2))):
                    if agency not in leads:
                        session.add(
                            TaskAgency(
                                task_id=task.id, agency_id=agency.id, role=COORDINATING, position=position
                            )
                        )
            await session.flush()
            tasks = list(built.tasks.values())
            cycles = [dt.date.fromisoformat(day) for day in deadlines]
            for _ in range(60):
                task = rng.choice(tasks)
                status = rng.choice(STATUSES)
                row = await people.add_update(
                    session,
                    task_id=task.id,
                    agency_id=rng.choice(agencies).id,
                    member_id=None,
                    status=status,
                    percent=rng.choice([None, 10, 50, 80]) if status != DONE else None,
                    cycle=rng.choice(cycles),
                    now=moment(rng),
                )
                if rng.random() < 0.1:
                    await people.revise_update(
                        session, row, status=rng.choice(STATUSES), percent=30, note="sửa", now=moment(rng)
                    )
            # A revision drops a task: it still counts in the periods that began before.
            rng.choice(tasks).archived_at = dt.datetime(2020, 7, 1, tzinfo=dt.UTC)
        await session.flush()
        today = dt.date(2020, 12, 31)
        await registry.merge(session, [NAMES[0]], NAMES[1], on=dt.date(2020, 8, 1), today=today)
        await registry.rename(session, NAMES[2], "Sở thử nghiệm đổi tên", on=dt.date(2020, 8, 1), today=today)
        successor = await session.scalar(select(Agency).where(Agency.name == "Sở thử nghiệm đổi tên"))
        task = await session.scalar(select(Task).where(Task.plan_id == plan_ids[0]).limit(1))
        await people.add_update(
            session,
            task_id=task.id,
            agency_id=successor.id,
            member_id=None,
            status=DONE,
            cycle=dt.date(2020, 11, 20),
            now=dt.datetime(2020, 9, 1, 3, tzinfo=dt.UTC),
        )
    return plan_ids


def agency_figures(agency) -> tuple:
    return (
        agency.id,
        {k: v for k, v in agency.reported_counts.items() if v},
        {k: v for k, v in agency.timing_counts.items() if v},
        agency.progress_sum,
        agency.without_update,
        agency.needing_attention,
        agency.reported,
        agency.last_update_at,
    )


def plan_figures(summary) -> tuple:
    return (
        {k: v for k, v in summary.reported_counts.items() if v},
        {k: v for k, v in summary.timing_counts.items() if v},
        summary.progress_sum,
        summary.unassigned,
        summary.needing_attention,
        [agency.id for agency in summary.expected_agencies],
        [agency.id for agency in summary.reported_agencies],
    )


def standing_of(summary, task, agency) -> tuple:
    view = agency.view(task) if agency is not None else task.standing
    return task.id, view, task.updated_in_period, [u.id for u in task.updates]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_counted_overview_equals_the_judged_summary_on_random_plans(db, seed):
    plan_ids = await random_world(db, seed)
    rng = random.Random(seed)
    periods = [
        {"cycle": dt.date(2020, 6, 20), "today": dt.date(2020, 6, 10)},
        {"cycle": dt.date(2020, 11, 20), "today": dt.date(2020, 10, 1)},
        {"cycle": dt.date(2020, 11, 20), "today": dt.date(2020, 12, 5)},
        {"cycle": dt.date(2020, 9, 30), "today": dt.date(2020, 12, 5)},
        # The day an end date falls on: not yet overdue.
        {"cycle": dt.date(2020, 9, 30), "today": dt.date(2020, 9, 30)},
        {"cycle": dt.date(2020, 6, 20), "today": dt.date(2020, 3, 31)},
        {"start": dt.date(2020, 4, 1), "end": dt.date(2020, 8, 15), "today": dt.date(2020, 9, 1)},
    ]
    compared = 0
    async with db.snapshot() as session:
        agency_ids = list((await session.scalars(select(Agency.id))).all())
        for plan_id in plan_ids:
            for period in periods:
                for rule in (ALL_LEADS, ANY_LEAD):
                    options = dict(period, co_lead_rule=rule)
                    try:
                        judged = await build_summary(session, plan_id, detail=ALL, **options)
                    except ValueError:  # a cycle that is not this plan's
                        continue
                    chosen = rng.choice([None, *agency_ids])
                    counted = await build_summary(
                        session, plan_id, detail=ATTENTION, agency_id=chosen, **options
                    )

                    assert plan_figures(counted) == plan_figures(judged)
                    # Blocked and overdue at once counts once, each agency as it stands on each task.
                    assert judged.needing_attention == len(judged.attention)
                    for agency in judged.agencies:
                        assert agency.needing_attention == sum(
                            agency.view(task).needs_attention for task in agency.tasks
                        )
                    expected = [agency_figures(a) for a in judged.agencies if a.expected or a.last_update_at]
                    assert [agency_figures(counted.agency(key)) for key, *_ in expected] == expected
                    sections = {section.id: section.agency_id for section in judged.sections}
                    wanted = [
                        task
                        for task in judged.tasks
                        if task.standing.needs_attention
                        or chosen in responsible(sections[task.section_id], task.lead_ids)
                        or chosen in task.coordinating_ids
                    ]
                    assert [(t.id, t.code, t.content) for t in counted.tasks] == [
                        (t.id, t.code, t.content) for t in wanted
                    ]
                    for agency in judged.expected_agencies:
                        mine = [standing_of(judged, t, agency) for t in agency.tasks if t in wanted]
                        other = counted.agency(agency.id)
                        assert [standing_of(counted, t, other) for t in other.tasks] == mine
                    if chosen is not None and judged.agency(chosen) is not None:
                        # Its page lists the tasks it helps with too: all of them are detailed.
                        helped = [t.id for t in judged.agency(chosen).coordinating_tasks]
                        assert [t.id for t in counted.agency(chosen).coordinating_tasks] == helped
                    await _check_picked(session, plan_id, options, chosen, judged, wanted, rng)
                    compared += 1
    assert compared == 2 * (5 + 3)  # both co-lead rules; five periods of the first plan, three of the second


async def _check_picked(session, plan_id, options, chosen, judged, wanted, rng):
    """A page that picks which candidates to detail is offered every one, as the judged summary
    stands on it, in plan order, with the agencies expected to report; it gets those it picked
    detailed, and the same counts."""
    offered = []

    chosen_ids = set()

    def pick(refs, agencies):
        offered.append(([agency.id for agency in agencies], list(refs)))
        chosen_ids.update(ref.id for ref in refs if rng.random() < 0.5)
        return chosen_ids

    picked = await build_summary(session, plan_id, detail=ATTENTION, agency_id=chosen, pick=pick, **options)

    ((agencies, refs),) = offered
    assert agencies == [agency.id for agency in judged.expected_agencies]
    sections = {section.id: section.agency_id for section in judged.sections}
    assert [
        (ref.id, ref.section_id, ref.number, ref.reported, ref.timing, list(ref.answering)) for ref in refs
    ] == [
        (t.id, t.section_id, t.number, t.reported, t.timing, responsible(sections[t.section_id], t.lead_ids))
        for t in wanted
    ]
    if chosen is not None:
        assert [ref.involves(chosen) for ref in refs] == [t.involves(chosen) for t in wanted]
    assert plan_figures(picked) == plan_figures(judged)
    assert picked.needing_attention == judged.needing_attention == len(judged.attention)
    assert [task.id for task in picked.tasks] == [t.id for t in wanted if t.id in chosen_ids]
    for task in picked.tasks:
        same = judged.task_by_id[task.id]
        assert (task.standing, [u.id for u in task.updates]) == (same.standing, [u.id for u in same.updates])


async def test_a_pick_of_nothing_counts_every_task_and_details_none(db):
    """The figures-only page (the Plans list, /kehoach; an agency's when one is asked) for the
    current cycle and a closed one: each counting statement's shape without candidates."""
    plan_ids = await random_world(db, 4)
    compared, attention = 0, 0
    async with db.snapshot() as session:
        agency_ids = list((await session.scalars(select(Agency.id).order_by(Agency.id))).all())
        for plan_id in plan_ids:
            for cycle in (None, dt.date(2020, 6, 20), dt.date(2020, 9, 30)):
                for agency_id in (None, agency_ids[0]):
                    options = {"today": dt.date(2020, 12, 5), "cycle": cycle}
                    try:
                        judged = await build_summary(session, plan_id, detail=ALL, **options)
                    except ValueError:  # a cycle that is not this plan's
                        continue
                    counted = await build_summary(
                        session, plan_id, detail=ATTENTION, pick=counts_only, agency_id=agency_id, **options
                    )
                    assert counted.tasks == [] and all(not a.tasks for a in counted.agencies)
                    assert plan_figures(counted) == plan_figures(judged)
                    assert counted.needing_attention == len(judged.attention)
                    expected = [agency_figures(a) for a in judged.agencies if a.expected or a.last_update_at]
                    assert [agency_figures(counted.agency(key)) for key, *_ in expected] == expected
                    compared += 1
                    attention += counted.needing_attention
    assert attention > 0
    assert compared == 2 * 4  # each plan: its current cycle and one closed, with and without an agency


async def judged_summaries(session, plan_ids, **options):
    """Each plan's summary, every task judged, early in the year and at its end."""
    for plan_id in plan_ids:
        for today in (dt.date(2020, 6, 10), dt.date(2020, 12, 5)):
            yield plan_id, today, await build_summary(session, plan_id, detail=ALL, today=today, **options)


@pytest.mark.parametrize("limit", [0, 1, 3, 1000])
async def test_attention_first_details_the_first_blocked_and_overdue_tasks_and_counts_them_all(db, limit):
    plan_ids = await random_world(db, 6)
    compared = 0
    async with db.snapshot() as session:
        async for plan_id, today, judged in judged_summaries(session, plan_ids):
            shown = await build_summary(
                session, plan_id, detail=ATTENTION, pick=attention_first(limit), today=today
            )

            assert [t.id for t in shown.blockers] == [t.id for t in judged.blockers][:limit]
            assert [t.id for t in shown.overdue] == [t.id for t in judged.overdue][:limit]
            assert (shown.blocked_count, shown.overdue_count) == (len(judged.blockers), len(judged.overdue))
            assert (judged.blocked_count, judged.overdue_count) == (len(judged.blockers), len(judged.overdue))
            assert plan_figures(shown) == plan_figures(judged)
            compared += bool(judged.blockers) and bool(judged.overdue)
    assert compared  # some period had both kinds to list


async def test_only_a_summary_by_attention_picks(db):
    plan_ids = await random_world(db, 5)
    async with db.snapshot() as session:
        with pytest.raises(ValueError, match="picks"):
            await build_summary(session, plan_ids[0], today=dt.date(2020, 12, 5), pick=counts_only)


async def test_the_latest_rows_follow_inserts_and_edits(db):
    async with db.transaction() as session:
        built = await make_plan(session)
        task, agency = built.tasks["I.1"], built.agencies["Sở Thông tin và Truyền thông"]
        june, november = dt.date(2020, 6, 20), dt.date(2020, 11, 20)
        first = await people.add_update(
            session, task_id=task.id, agency_id=agency.id, member_id=None, status=IN_PROGRESS,
            percent=20, cycle=june, now=dt.datetime(2020, 6, 1, tzinfo=dt.UTC),
        )  # fmt: skip
        second = await people.add_update(
            session, task_id=task.id, agency_id=agency.id, member_id=None, status=IN_PROGRESS,
            percent=40, cycle=june, now=dt.datetime(2020, 6, 2, tzinfo=dt.UTC),
        )  # fmt: skip
        later = await people.add_update(
            session, task_id=task.id, agency_id=agency.id, member_id=None, status=BLOCKED,
            cycle=november, now=dt.datetime(2020, 7, 2, tzinfo=dt.UTC),
        )  # fmt: skip
        await people.revise_update(
            session, second, status=DONE, percent=None, note="xong", now=second.created_at
        )
        first_id, second_id, later_id = first.id, second.id, later.id

    async with db.snapshot() as session:
        kept = LatestInCycle
        rows = (
            await session.execute(
                select(kept.cycle, kept.update_id, kept.status, kept.percent).order_by(kept.cycle)
            )
        ).all()

    expected = [(june, second_id, DONE, None), (november, later_id, BLOCKED, None)]
    assert [tuple(row) for row in rows] == expected
    assert first_id not in [row[1] for row in rows]


@pytest.mark.parametrize("rule", [ALL_LEADS, ANY_LEAD])
async def test_a_task_read_alone_stands_as_in_its_plans_summary(db, rule):
    plan_ids = await random_world(db, 6)
    compared = 0
    async with db.snapshot() as session:
        async for plan_id, today, judged in judged_summaries(session, plan_ids, co_lead_rule=rule):
            for task in judged.tasks:
                alone = await task_summary(session, plan_id, task.id, today=today, co_lead_rule=rule)
                assert (
                    alone.code,
                    alone.standing,
                    [u.id for u in alone.updates],
                    alone.updated_in_period,
                ) == (
                    task.code,
                    task.standing,
                    [u.id for u in task.updates],
                    task.updated_in_period,
                )
                compared += 1
        for plan_id in plan_ids:
            other_plan = plan_ids[1 - plan_ids.index(plan_id)]
            stranger = (await build_summary(session, other_plan, today=dt.date(2020, 6, 10))).tasks[0]
            assert await task_summary(session, plan_id, stranger.id, today=dt.date(2020, 6, 10)) is None
    assert compared > 20


async def test_a_cycle_counted_again_after_words_of_a_later_cycle_stands_on_its_own_words(db):
    """The overview of the current cycle takes each task's newest word. Words of a later cycle can
    come while a cycle is still current (a revision that moves the plan's deadlines, say): the
    same cycle's overview must still count the words said for it."""
    async with db.transaction() as session:
        built = await make_plan(session)
        agency = built.agencies["Sở Thông tin và Truyền thông"]
        first, second = built.tasks["I.1"], built.tasks["I.2"]
        plan_id = built.plan.id
        june, november = dt.date(2020, 6, 20), dt.date(2020, 11, 20)

        async def say(task, status, cycle, day):
            await people.add_update(
                session, task_id=task.id, agency_id=agency.id, member_id=None, status=status,
                percent=None, cycle=cycle, now=dt.datetime(2020, day[0], day[1], 3, tzinfo=dt.UTC),
            )  # fmt: skip

        await say(first, DONE, june, (6, 1))
        await say(second, BLOCKED, june, (6, 2))

    async def counts(cycle, today):
        async with db.snapshot() as session:
            counted = await build_summary(session, plan_id, cycle=cycle, today=today, detail=ATTENTION)
            judged = await build_summary(session, plan_id, cycle=cycle, today=today, detail=ALL)
        assert plan_figures(counted) == plan_figures(judged)
        own = counted.agency(agency.id).reported_counts
        return own[DONE], own[BLOCKED], own[IN_PROGRESS]

    assert await counts(june, dt.date(2020, 6, 10)) == (1, 1, 0)

    async with db.transaction() as session:
        await say(first, IN_PROGRESS, november, (6, 11))
        await say(second, DONE, november, (6, 12))

    # June once more while it is still current, on the same pooled connection: June's words.
    assert await counts(june, dt.date(2020, 6, 15)) == (1, 1, 0)
    assert await counts(november, dt.date(2020, 6, 15)) == (1, 0, 1)
    # Again, now known to have later words; and once it has closed.
    assert await counts(june, dt.date(2020, 6, 15)) == (1, 1, 0)
    assert await counts(june, dt.date(2020, 12, 1)) == (1, 1, 0)


async def test_an_end_date_moved_by_a_revision_is_counted_at_once(db, tmp_path):
    """The overview reads a plan's end dates once per imported version: a revision that moves a
    task's end date to a day no task had before makes a task done after the old date on time."""
    from storage.plans.importer import import_plan_file
    from tests.conftest import SAMPLE_PLAN

    async with db.transaction() as session:
        plan_id = (await import_plan_file(session, SAMPLE_PLAN)).plan_id
        task = await session.scalar(
            select(Task).where(Task.plan_id == plan_id, Task.content.like("Sản xuất loạt phóng sự%"))
        )
        assert task.end_on == dt.date(2021, 9, 30)
        await people.add_update(
            session, task_id=task.id, agency_id=task.links[0].agency_id, member_id=None, status=DONE,
            percent=None, cycle=dt.date(2021, 11, 15), now=dt.datetime(2021, 10, 20, 3, tzinfo=dt.UTC),
        )  # fmt: skip
        task_id = task.id
    cycle, today = dt.date(2021, 11, 15), dt.date(2021, 11, 20)

    async def timings():
        async with db.snapshot() as session:
            counted = await build_summary(session, plan_id, cycle=cycle, today=today, detail=ATTENTION)
            judged = await build_summary(session, plan_id, cycle=cycle, today=today, detail=ALL)
        return counted.timing_counts, judged.timing_counts, judged.task_by_id[task_id].timing

    counted, judged, timing = await timings()
    assert (counted, timing) == (judged, "late")

    revised = tmp_path / "sua-doi.txt"
    text = SAMPLE_PLAN.read_text(encoding="utf-8")
    assert "\tQuý III/2021\tĐài PT&TH tỉnh\t" in text
    revised.write_text(text.replace("\tQuý III/2021\tĐài PT&TH tỉnh\t", "\tTháng 10/2021\tĐài PT&TH tỉnh\t"))
    async with db.transaction() as session:
        await import_plan_file(session, revised, now=dt.datetime(2021, 11, 16, 3, tzinfo=dt.UTC))

    counted, judged, timing = await timings()
    assert (counted, timing) == (judged, "on_time")
