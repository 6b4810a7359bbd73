"""The agency registry's history: merges, renames, aliases, dissolutions and groups, each validated
and idempotent, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from storage import registry
from storage.models import Agency, AgencyEvent, Member, ProgressUpdate, Reminder, TaskAgency
from storage.models.plan import LEAD
from storage.registry import RegistryError
from tests.factories import SectionSpec, make_agency, make_member, make_plan, make_update

TODAY = dt.date(2026, 3, 10)
MERGE_DAY = dt.date(2025, 3, 1)
AT_2020 = dt.datetime(2020, 6, 5, 3, 0, tzinfo=dt.UTC)
AT_2026 = dt.datetime(2026, 2, 5, 3, 0, tzinfo=dt.UTC)


async def _two_plans(session):
    """A 2020 plan (over) and a 2026 plan (active), both with tasks for Sở TTTT; reports in both."""
    old = await make_plan(
        session,
        [SectionSpec("Sở Thông tin và Truyền thông", ["Tuyên truyền đối ngoại"], short_name="Sở TTTT")],
    )
    new = await make_plan(
        session,
        [
            SectionSpec(
                "Sở Thông tin và Truyền thông",
                ["Chuyển đổi số báo chí", "Hệ thống thông tin nguồn", "Đã xong từ sớm"],
            )
        ],
        number="12/KH-UBND",
        year=2026,
        deadlines=("2026-06-20", "2026-11-20"),
    )
    tttt = old.agencies["Sở Thông tin và Truyền thông"]
    lan = await make_member(session, "Chị Lan", agency=tttt, language="en")
    await make_update(
        session, old.tasks["I.1"], agency=tttt, cycle=dt.date(2020, 6, 20), at=AT_2020, member=lan
    )
    await make_update(
        session,
        new.tasks["I.3"],
        agency=tttt,
        cycle=dt.date(2026, 6, 20),
        at=AT_2026,
        member=lan,
        status="done",
    )
    session.add(
        Reminder(
            key="r1",
            chain="c1",
            plan_id=new.plan.id,
            kind="report",
            deadline_kind="report",
            deadline=dt.date(2026, 6, 20),
            offset_days=3,
            agency_id=tttt.id,
            member_id=lan.id,
            due_at=AT_2026,
            available_at=AT_2026,
            expires_at=AT_2026 + dt.timedelta(days=30),
        )
    )
    await session.flush()
    return old, new, tttt, lan


async def _lead_names(session, task_id: int) -> list[str]:
    rows = await session.execute(
        select(Agency.name)
        .join(TaskAgency, TaskAgency.agency_id == Agency.id)
        .where(TaskAgency.task_id == task_id, TaskAgency.role == LEAD)
    )
    return list(rows.scalars())


async def test_merging_moves_focal_points_open_work_and_reminders_and_keeps_the_past(db):
    async with db.transaction() as session:
        old, new, tttt, lan = await _two_plans(session)
        change = await registry.merge(
            session, ["Sở TTTT"], into="Sở Khoa học và Công nghệ", on=MERGE_DAY, today=TODAY
        )
    assert change.changed and change.created == ["Sở Khoa học và Công nghệ"]
    assert [(m.name, m.language, m.from_agency) for m in change.moved_members] == [
        ("Chị Lan", "en", "Sở Thông tin và Truyền thông")
    ]
    async with db.snapshot() as session:
        khcn = await session.scalar(select(Agency).where(Agency.name == "Sở Khoa học và Công nghệ"))
        tttt = await session.get(Agency, tttt.id)
        member = await session.get(Member, lan.id)
        assert (tttt.status, tttt.status_since, tttt.successor_id) == ("merged", MERGE_DAY, khcn.id)
        assert member.agency_id == khcn.id
        # Open work of the active plan follows the successor …
        assert await _lead_names(session, new.tasks["I.1"].id) == ["Sở Khoa học và Công nghệ"]
        assert await _lead_names(session, new.tasks["I.2"].id) == ["Sở Khoa học và Công nghệ"]
        # … a finished task and the 2020 plan keep the name they were carried out under.
        assert await _lead_names(session, new.tasks["I.3"].id) == ["Sở Thông tin và Truyền thông"]
        assert await _lead_names(session, old.tasks["I.1"].id) == ["Sở Thông tin và Truyền thông"]
        reported_by = await session.scalars(select(ProgressUpdate.agency_id).order_by(ProgressUpdate.id))
        assert list(reported_by) == [tttt.id, tttt.id]
        assert await session.scalar(select(Reminder.agency_id)) == khcn.id


async def test_the_same_merge_run_twice_changes_nothing_the_second_time(db):
    async with db.transaction() as session:
        await _two_plans(session)
        await registry.merge(session, ["Sở TTTT"], into="Sở KH&CN", on=MERGE_DAY, today=TODAY)
    async with db.snapshot() as session:
        before = (
            await session.scalar(select(func.count(AgencyEvent.id))),
            await session.scalar(select(func.count(Agency.id))),
            await session.scalar(select(func.count(TaskAgency.id))),
        )
    async with db.transaction() as session:
        again = await registry.merge(session, ["Sở TTTT"], into="Sở KH&CN", on=MERGE_DAY, today=TODAY)
    assert not again.changed and again.already == ["Sở Thông tin và Truyền thông"]
    async with db.snapshot() as session:
        after = (
            await session.scalar(select(func.count(AgencyEvent.id))),
            await session.scalar(select(func.count(Agency.id))),
            await session.scalar(select(func.count(TaskAgency.id))),
        )
    assert after == before


REFUSALS = [
    (["Sở Không Có"], "Sở Tài chính", MERGE_DAY, 'There is no agency "Sở Không Có" in the registry'),
    (["Sở Du lịch"], "Sở DL", MERGE_DAY, "Sở Du lịch cannot be merged into itself"),
    (["Sở Du lịch"], "Sở Ngoại vụ", dt.date(2027, 6, 1), "01/06/2027 is more than a year ahead"),
]


@pytest.mark.parametrize(("sources", "into", "on", "expected"), REFUSALS)
async def test_a_refused_merge_says_why_and_leaves_the_database_as_it_was(db, sources, into, on, expected):
    async with db.transaction() as session:
        await make_agency(session, "Sở Du lịch", short_name="Sở DL")
        await make_agency(session, "Sở Ngoại vụ")
    with pytest.raises(RegistryError) as refused:
        async with db.transaction() as session:
            await registry.merge(session, sources, into=into, on=on, today=TODAY)
    assert str(refused.value).startswith(expected)
    async with db.snapshot() as session:
        statuses = list(await session.scalars(select(Agency.status).order_by(Agency.id)))
        events = await session.scalar(select(func.count(AgencyEvent.id)))
    assert (statuses, events) == (["active", "active"], 0)


async def test_merging_back_into_a_predecessor_is_refused_as_a_cycle(db):
    async with db.transaction() as session:
        await make_agency(session, "Sở Du lịch")
        await make_agency(session, "Sở Văn hóa và Thể thao")
        await registry.merge(
            session, ["Sở Du lịch"], into="Sở Văn hóa và Thể thao", on=MERGE_DAY, today=TODAY
        )
    with pytest.raises(RegistryError) as refused:
        async with db.transaction() as session:
            await registry.merge(
                session, ["Sở Văn hóa và Thể thao"], into="Sở Du lịch", on=MERGE_DAY, today=TODAY
            )
    expected = "Sở Du lịch was itself merged or renamed into one of these agencies: that would make a cycle"
    assert str(refused.value) == expected


async def test_a_rename_keeps_the_old_row_as_predecessor_and_is_idempotent(db):
    async with db.transaction() as session:
        old = await make_agency(session, "Sở Văn hóa và Thể thao", short_name="Sở VHTT")
        change = await registry.rename(
            session, "Sở VHTT", "Sở Văn hóa, Thể thao và Du lịch", on=MERGE_DAY, today=TODAY
        )
        again = await registry.rename(
            session, "Sở VHTT", "Sở Văn hóa, Thể thao và Du lịch", on=MERGE_DAY, today=TODAY
        )
    assert change.changed and not again.changed
    async with db.snapshot() as session:
        old = await session.get(Agency, old.id)
        successor = await registry.current(session, old)
    assert (old.status, successor.name) == ("renamed", "Sở Văn hóa, Thể thao và Du lịch")


async def test_an_alias_that_names_another_agency_is_refused(db):
    async with db.transaction() as session:
        await make_agency(session, "Sở Du lịch", short_name="Sở DL")
        await make_agency(session, "Sở Ngoại vụ")
    with pytest.raises(RegistryError) as refused:
        async with db.transaction() as session:
            await registry.alias(session, "Sở Ngoại vụ", ["Sở DL"])
    assert str(refused.value) == '"Sở DL" already names Sở Du lịch; an alias can lead to only one agency'


async def test_an_alias_then_finds_the_agency(db):
    async with db.transaction() as session:
        await make_agency(session, "Sở Ngoại vụ")
        await registry.alias(session, "so ngoai vu", ["SNgV Hà Nội"])
    async with db.snapshot() as session:
        found = await registry.find(session, "sngv ha noi")
    assert found.name == "Sở Ngoại vụ"


async def test_dissolving_cancels_pending_reminders_and_twice_is_the_same(db):
    async with db.transaction() as session:
        _old, _new, _tttt, _lan = await _two_plans(session)
        first = await registry.dissolve(session, "Sở TTTT", on=dt.date(2026, 1, 1), today=TODAY)
        second = await registry.dissolve(session, "Sở TTTT", on=dt.date(2026, 1, 1), today=TODAY)
    assert (first.changed, first.moved_reminders, second.changed) == (True, 1, False)
    async with db.snapshot() as session:
        assert await session.scalar(select(Reminder.status)) == "cancelled"


async def test_a_group_of_three_wards_has_three_members_registered_as_agencies(db):
    wards = ["UBND phường Ba Đình", "UBND phường Ngọc Hà", "UBND phường Giảng Võ"]
    async with db.transaction() as session:
        change = await registry.define_group(session, "UBND các xã, phường", wards)
        again = await registry.define_group(session, "UBND xã, phường", wards)
    assert change.changed and not again.changed
    assert change.created == ["UBND các xã, phường", *wards]
    async with db.snapshot() as session:
        group = await registry.find(session, "UBND cấp xã")
        members = [m.name for m in await registry.group_members(session, group.id)]
    assert (group.is_group, members) == (True, wards)


async def test_a_group_cannot_contain_itself(db):
    with pytest.raises(RegistryError) as refused:
        async with db.transaction() as session:
            await registry.define_group(session, "UBND các xã, phường", ["UBND xã, phường"])
    assert str(refused.value) == "UBND các xã, phường cannot be a member of itself"


async def test_after_a_merge_the_old_name_leads_current_work_to_the_successor(db):
    from storage.agencies import find_agencies, resolve_current_agency

    async with db.transaction() as session:
        await make_agency(session, "Sở Thông tin và Truyền thông", short_name="Sở TTTT")
        await registry.merge(session, ["Sở TTTT"], into="Sở Khoa học và Công nghệ", on=MERGE_DAY, today=TODAY)
    async with db.snapshot() as session:
        exact = await resolve_current_agency(session, "so tttt")
        offered = [a.name for a in await find_agencies(session, "tttt")]
    assert (exact.name, offered) == ("Sở Khoa học và Công nghệ", ["Sở Khoa học và Công nghệ"])


async def test_a_dissolved_agency_is_offered_to_nobody(db):
    from storage.agencies import find_agencies, resolve_current_agency

    async with db.transaction() as session:
        await make_agency(session, "Phòng Văn hóa và Thông tin quận Ba Đình")
        await registry.dissolve(
            session, "Phòng Văn hóa và Thông tin quận Ba Đình", on=dt.date(2025, 7, 1), today=TODAY
        )
    async with db.snapshot() as session:
        assert await resolve_current_agency(session, "Phòng Văn hóa và Thông tin quận Ba Đình") is None
        assert await find_agencies(session, "van hoa") == []


async def test_a_report_made_before_the_merge_still_counts_in_that_cycle_after_it(db):
    from storage.summary import build_summary

    async with db.transaction() as session:
        _old, new, _tttt, _lan = await _two_plans(session)
        await registry.merge(session, ["Sở TTTT"], into="Sở KH&CN", on=MERGE_DAY, today=TODAY)
    async with db.snapshot() as session:
        summary = await build_summary(session, new.plan.id, cycle=dt.date(2026, 6, 20), today=TODAY)
    reported = {agency.name for agency in summary.reported_agencies}
    missing = {agency.name for agency in summary.missing_agencies}
    assert "Sở Khoa học và Công nghệ" in reported
    assert "Sở Khoa học và Công nghệ" not in missing


async def test_a_closed_plan_keeps_its_links_when_its_agency_is_merged(db):
    from storage.models.plan import CLOSED

    async with db.transaction() as session:
        _old, new, _tttt, _lan = await _two_plans(session)
        new.plan.lifecycle = CLOSED
        await session.flush()
        change = await registry.merge(session, ["Sở TTTT"], into="Sở KH&CN", on=MERGE_DAY, today=TODAY)
    async with db.snapshot() as session:
        leads = await _lead_names(session, new.tasks["I.1"].id)
    assert (change.moved_tasks, leads) == (0, ["Sở Thông tin và Truyền thông"])
