"""Plans issued after the 2025 reorganisation: every department's name whole, old names linked to
their successors with a note, and groups followed as one agency until their members are defined."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import registry
from storage.agency_names import split_agencies
from storage.models import Agency, Task, TaskAgency
from storage.models.plan import COORDINATING, LEAD
from storage.plans.importer import import_plan_file
from tests.factories import SectionSpec, make_plan

PLAN_2026 = Path(__file__).resolve().parents[1] / "data" / "ke-hoach-12-KH-UBND-2026.txt"

# Nghị định 45/2025/NĐ-CP: the standard departments and those a province may have besides.
DEPARTMENTS_2025 = [
    "Sở Nội vụ",
    "Sở Tư pháp",
    "Sở Tài chính",
    "Sở Công Thương",
    "Sở Nông nghiệp và Môi trường",
    "Sở Xây dựng",
    "Sở Khoa học và Công nghệ",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Giáo dục và Đào tạo",
    "Sở Y tế",
    "Thanh tra Thành phố",
    "Văn phòng UBND Thành phố",
    "Sở Ngoại vụ",
    "Sở Dân tộc và Tôn giáo",
    "Sở Văn hóa và Thể thao",
    "Sở Du lịch",
    "Sở Quy hoạch - Kiến trúc",
    "Sở An toàn thực phẩm",
]
CELLS = [
    ("{name}", ["{name}"]),
    ("{name} và Sở Nội vụ", ["{name}", "Sở Nội vụ"]),
    ("Công an Thành phố, {name} và các cơ quan liên quan", ["Công an Thành phố", "{name}"]),
    ("{name}; UBND các xã, phường", ["{name}", "UBND các xã, phường"]),
    ("- {name}\n- Ban Tuyên giáo và Dân vận Thành ủy", ["{name}", "Ban Tuyên giáo và Dân vận Thành ủy"]),
]


@pytest.mark.parametrize("name", DEPARTMENTS_2025)
@pytest.mark.parametrize(("cell", "expected"), CELLS)
def test_every_department_of_2025_is_kept_whole_in_a_cell(name, cell, expected):
    wanted = [part.format(name=name) for part in expected]
    if name == "Sở Nội vụ" and "Sở Nội vụ" in cell.replace("{name}", ""):
        wanted = list(dict.fromkeys(wanted))
    assert split_agencies(cell.format(name=name)) == wanted


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Sở Nông nghiệp và Môi trường", ["Sở Nông nghiệp và Môi trường"]),
        ("Sở Tài nguyên và Môi trường tỉnh Lam Giang", ["Sở Tài nguyên và Môi trường tỉnh Lam Giang"]),
        ("So Nong nghiep va Moi truong, So Noi vu", ["So Nong nghiep va Moi truong", "So Noi vu"]),
        ("Sở Nội vụ và mọi cơ quan, đơn vị", ["Sở Nội vụ"]),
        ("Sở Nội vụ và các cơ quan liên quan", ["Sở Nội vụ"]),
    ],
)
def test_moi_truong_is_a_name_and_moi_is_a_generic_word(cell, expected):
    assert split_agencies(cell) == expected


async def _links(session, code: str) -> dict[str, list[str]]:
    rows = await session.execute(
        select(TaskAgency.role, Agency.name)
        .join(Agency, Agency.id == TaskAgency.agency_id)
        .join(Task, Task.id == TaskAgency.task_id)
        .where(Task.code == code)
        .order_by(TaskAgency.position)
    )
    found: dict[str, list[str]] = {LEAD: [], COORDINATING: []}
    for role, name in rows:
        found[role].append(name)
    return found


async def test_a_2026_plan_imports_with_every_name_whole_and_old_names_following_their_successor(db):
    async with db.transaction() as session:
        report = await import_plan_file(session, PLAN_2026)
    async with db.snapshot() as session:
        farming = await _links(session, "II.1")
        old_name = await _links(session, "I.2")
        wards = await _links(session, "III.1")
        tttt = await session.scalar(select(Agency).where(Agency.name == "Sở Thông tin và Truyền thông"))
    assert farming == {
        LEAD: ["Sở Nông nghiệp và Môi trường"],
        COORDINATING: ["Sở Công Thương", "Sở Xây dựng"],
    }
    assert old_name[LEAD] == ["Sở Khoa học và Công nghệ"]
    assert wards == {
        LEAD: ["UBND các xã, phường"],
        COORDINATING: ["Sở Nông nghiệp và Môi trường", "Sở Khoa học và Công nghệ"],
    }
    assert (tttt.status, tttt.status_since) == ("merged", dt.date(2025, 3, 1))
    notes = [str(w) for w in report.warnings]
    assert (
        '"Sở Thông tin và Truyền thông" became Sở Khoa học và Công nghệ on 1/3/2025: its tasks in this plan are '
        "linked to Sở Khoa học và Công nghệ"
    ) in notes
    group_notes = [n for n in notes if n.startswith("UBND các xã, phường is a group with no members")]
    assert len(group_notes) == 1
    assert not any("Sở Nông nghiệp\n" in name or name == "Sở Nông nghiệp" for name in report.agencies)


async def test_a_plan_naming_an_agency_the_deployment_merged_links_to_the_successor(db):
    async with db.transaction() as session:
        await make_plan(session, [SectionSpec("Sở Thông tin và Truyền thông", ["Việc cũ"])])
        await registry.merge(
            session,
            ["Sở Thông tin và Truyền thông"],
            into="Sở Khoa học và Công nghệ",
            on=dt.date(2025, 3, 1),
            today=dt.date(2026, 1, 5),
        )
        report = await import_plan_file(session, PLAN_2026)
    async with db.snapshot() as session:
        assert (await _links(session, "I.2"))[LEAD] == ["Sở Khoa học và Công nghệ"]
    assert any(
        str(w).startswith('"Sở Thông tin và Truyền thông" became Sở Khoa học') for w in report.warnings
    )


async def test_a_group_with_members_is_linked_and_not_warned_about(db):
    async with db.transaction() as session:
        await registry.define_group(
            session,
            "UBND các xã, phường",
            ["UBND phường Ba Đình", "UBND phường Ngọc Hà", "UBND phường Giảng Võ"],
        )
        report = await import_plan_file(session, PLAN_2026)
    assert not any("UBND các xã, phường is a group" in str(w) for w in report.warnings)
    async with db.snapshot() as session:
        assert (await _links(session, "III.1"))[LEAD] == ["UBND các xã, phường"]


async def test_the_sectors_phrase_is_linked_only_once_the_group_has_members(db):
    async with db.transaction() as session:
        await import_plan_file(session, PLAN_2026)
    async with db.snapshot() as session:
        before = (await _links(session, "II.7"))[COORDINATING]
    async with db.transaction() as session:
        await registry.define_group(session, "Các Sở, ban, ngành", ["Sở Nội vụ", "Sở Tài chính"])
        await import_plan_file(session, PLAN_2026)
    async with db.snapshot() as session:
        after = (await _links(session, "II.7"))[COORDINATING]
    assert (before, after) == ([], ["Các Sở, ban, ngành"])


async def test_an_old_name_still_active_here_follows_the_built_in_history_and_the_note_says_how_to_merge(db):
    async with db.transaction() as session:
        await make_plan(session, [SectionSpec("Sở Thông tin và Truyền thông", ["Việc năm 2020"])])
        report = await import_plan_file(session, PLAN_2026)
    async with db.snapshot() as session:
        lead = (await _links(session, "I.2"))[LEAD]
        tttt = await session.scalar(select(Agency).where(Agency.name == "Sở Thông tin và Truyền thông"))
    expected = (
        '"Sở Thông tin và Truyền thông" was merged into Sở Khoa học và Công nghệ on 1/3/2025 (Nghị định 45/2025 '
        "and after): its tasks in this plan are linked to Sở Khoa học và Công nghệ. To move its focal points and "
        'open work too: nhacviec agencies merge "Sở Thông tin và Truyền thông" --into "Sở Khoa học và Công nghệ" '
        "--from 2025-03-01"
    )
    assert lead == ["Sở Khoa học và Công nghệ"]
    assert expected in [str(w) for w in report.warnings]
    # The deployment has not recorded the merge: the row stays as it was until an admin runs it.
    assert tttt.status == "active"
