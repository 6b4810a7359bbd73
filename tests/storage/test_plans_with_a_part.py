"""The plans an agency may have a part in (storage.assignments.plans_with_a_part).

The dashboard narrows a focal point's list of plans with it before paging, then asks the summary
of each plan it shows. So it must hold every plan whose summary lists the agency, and every plan
the agency helps with, whatever made the plan theirs: a section of their own, a task they lead or
help with, a group they belong to, a word they recorded, work archived since, or work handed over
in a merge.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage import registry
from storage.assignments import helps_with_plan, plans_with_a_part
from storage.models import AgencyGroupMember, Section, Task, TaskAgency
from storage.models.plan import LEAD, Agency, Plan
from storage.summary import ALL, ATTENTION, build_summary, counts_only
from tests.factories import SectionSpec, make_plan, make_update

ARCHIVED = dt.datetime(2019, 9, 1, tzinfo=dt.UTC)


async def _world(session) -> None:
    await make_plan(session)  # 2020: three departments' sections, Sở Du lịch helps Sở TTTT
    later = await make_plan(
        session,
        [
            SectionSpec(
                "Sở Ngoại vụ", ["Đón đoàn ngoại giao", "Tổ chức hội nghị"], coordinating=["Sở Du lịch"]
            )
        ],
        number="12/KH-UBND",
        year=2021,
        deadlines=("2021-06-20", "2021-11-20"),
    )
    tttt = await registry.find(session, "Sở Thông tin và Truyền thông")
    # A group that leads a task of 2021; Sở TTTT, one of its members, reports on it.
    group = Agency(name="Tổ công tác liên ngành", key="to cong tac lien nganh", is_group=True)
    session.add(group)
    await session.flush()
    session.add(AgencyGroupMember(group_id=group.id, member_id=tttt.id, position=1))
    section = Section(
        plan_id=later.plan.id, numeral="II", position=2, heading="Tổ công tác", agency_id=group.id
    )
    session.add(section)
    await session.flush()
    task = Task(plan_id=later.plan.id, section_id=section.id, number=1, code="II.1", content="Phối hợp")
    session.add(task)
    await session.flush()
    session.add(TaskAgency(task_id=task.id, agency_id=group.id, role=LEAD, position=0))
    await make_update(
        session,
        task,
        agency=tttt,
        cycle=dt.date(2021, 6, 20),
        at=dt.datetime(2021, 6, 1, 2, 0, tzinfo=dt.UTC),
        status="done",
    )
    # 2019: Sở Du lịch's work, archived in September (a later import dropped it).
    earlier = await make_plan(
        session,
        [SectionSpec("Sở Du lịch", ["Quảng bá điểm đến"]), SectionSpec("Sở Ngoại vụ", ["Đón đoàn"])],
        number="50/KH-UBND",
        year=2019,
        deadlines=("2019-06-20", "2019-11-20"),
    )
    for section in (await session.scalars(select(Section).where(Section.plan_id == earlier.plan.id))).all():
        if section.heading.endswith("Du lịch") or section.numeral == "I":
            section.archived_at = ARCHIVED
    for task in earlier.tasks.values():
        if task.code.startswith("I."):
            task.archived_at = ARCHIVED
    await make_update(
        session,
        earlier.tasks["I.1"],
        agency=await registry.find(session, "Sở Du lịch"),
        cycle=dt.date(2019, 6, 20),
        at=dt.datetime(2019, 6, 2, 2, 0, tzinfo=dt.UTC),
    )
    # Sở Ngoại vụ merged into a new department in 2021: its open work of the followed plan moves.
    await registry.merge(
        session,
        ["Sở Ngoại vụ"],
        "Sở Ngoại vụ và Hợp tác quốc tế",
        on=dt.date(2021, 3, 1),
        today=dt.date(2021, 3, 1),
    )
    await session.flush()


async def test_every_plan_an_agency_is_listed_in_or_helps_with_is_among_its_plans(db):
    async with db.transaction() as session:
        await _world(session)
    async with db.snapshot() as session:
        plans = (await session.scalars(select(Plan))).all()
        agencies = (await session.scalars(select(Agency))).unique().all()
        theirs = {agency.id: await plans_with_a_part(session, agency.id) for agency in agencies}
        checked = 0
        for plan in plans:
            for today in (dt.date(plan.year, 3, 1), dt.date(plan.year, 6, 25), dt.date(plan.year, 12, 31)):
                for detail, pick in ((ATTENTION, counts_only), (ALL, None)):
                    summary = await build_summary(session, plan.id, today=today, detail=detail, pick=pick)
                    for agency in agencies:
                        listed = summary.agency(agency.id) is not None
                        if listed or await helps_with_plan(session, plan.id, agency.id):
                            checked += 1
                            assert plan.id in theirs[agency.id], (agency.name, plan.number, today, detail)

    by_name = {agency.name: theirs[agency.id] for agency in agencies}
    by_number = {plan.number: plan.id for plan in plans}
    # What made each plan theirs, seen from the other side: none of these is a section of their own.
    assert by_number["12/KH-UBND"] in by_name["Sở Du lịch"]  # helps
    assert by_number["12/KH-UBND"] in by_name["Sở Thông tin và Truyền thông"]  # its word, for its group
    assert by_number["50/KH-UBND"] in by_name["Sở Du lịch"]  # archived work
    assert by_number["12/KH-UBND"] in by_name["Sở Ngoại vụ và Hợp tác quốc tế"]  # handed over
    # … and it narrows: Sở TTTT had no part in 2019's plan.
    assert by_number["50/KH-UBND"] not in by_name["Sở Thông tin và Truyền thông"]
    assert checked > 20


async def test_an_agency_unknown_or_absent_has_no_plans(db):
    async with db.transaction() as session:
        await make_plan(session)
    async with db.snapshot() as session:
        assert await plans_with_a_part(session, None) == set()
        assert await plans_with_a_part(session, 10**6) == set()
