"""`nhacviec agencies …` run as the command line runs it, on a real SQLite file: the registry's
changes, their JSON listing, groups from a file, and refusals that leave the database unchanged."""

from __future__ import annotations

import json
import sqlite3

import pytest

from bot.cli import main
from tests.bot.cli_fixtures import cli_env, db_path, english  # noqa: F401  (fixtures)
from tests.conftest import SAMPLE_PLAN

PLAN_2026 = SAMPLE_PLAN.parents[2] / "tests" / "data" / "ke-hoach-12-KH-UBND-2026.txt"


def run(capsys, db_path, *args, config=None):
    argv = (["--config", config] if config else []) + ["--db", f"sqlite+aiosqlite:///{db_path}", *args]
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def listing(capsys, db_path, config) -> dict[str, dict]:
    code, out, _err = run(capsys, db_path, "agencies", "list", "--json", config=config)
    assert code == 0
    return {row["name"]: row for row in json.loads(out)}


def dump(db_path) -> list[tuple]:
    connection = sqlite3.connect(db_path)
    try:
        return [
            connection.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall()
            for table in (
                "agency",
                "agency_alias",
                "agency_event",
                "agency_group_member",
                "member",
                "task_agency",
            )
        ]
    finally:
        connection.close()


def group_from_file(capsys, db_path, config, members_file, text: str) -> tuple[int, str, dict]:
    """`agencies group "UBND các xã, phường" --members-file` with `text` as the file: exit code, output
    and the group's row in the listing."""
    members_file.write_text(text, encoding="utf-8")
    code, out, _err = run(
        capsys,
        db_path,
        "agencies",
        "group",
        "UBND các xã, phường",
        "--members-file",
        str(members_file),
        config=config,
    )
    return code, out, listing(capsys, db_path, config)["UBND các xã, phường"]


def test_add_then_list_json_carries_the_registry_fields(capsys, db_path, english):
    code, out, _err = run(
        capsys,
        db_path,
        "agencies",
        "add",
        "Sở Dân tộc và Tôn giáo",
        "--short",
        "Sở DTTG",
        "--alias",
        "Sở DTTG Hà Nội",
        config=english,
    )
    row = listing(capsys, db_path, english)["Sở Dân tộc và Tôn giáo"]

    assert (code, out) == (0, "Added Sở Dân tộc và Tôn giáo (Sở DTTG).\n")
    assert {key: row[key] for key in ("name", "short_name", "status", "since", "successor")} == {
        "name": "Sở Dân tộc và Tôn giáo",
        "short_name": "Sở DTTG",
        "status": "active",
        "since": None,
        "successor": None,
    }
    assert "Sở DTTG Hà Nội" in row["aliases"]


def test_names_typed_on_the_command_line_are_stored_without_control_characters(capsys, db_path, english):
    # Pasted from a terminal or a spreadsheet: an escape sequence, a form feed, a C1 control and an
    # XML non-character, none of which a person can read or a report can hold.
    code, out, _err = run(
        capsys,
        db_path,
        "agencies",
        "add",
        "Sở Dân tộc\x1b[31m và Tôn giáo\x0c",
        "--short",
        "Sở\x85 DTTG",
        "--alias",
        "Sở DTTG\ufffe Hà Nội",
        config=english,
    )
    renamed, _out, _err = run(
        capsys,
        db_path,
        "agencies",
        "rename",
        "Sở DTTG",
        "Sở Dân tộc\x07 mới",
        "--from",
        "2026-01-01",
        config=english,
    )
    rows = listing(capsys, db_path, english)

    assert (code, out) == (0, "Added Sở Dân tộc[31m và Tôn giáo (Sở DTTG).\n")
    assert renamed == 0
    assert rows["Sở Dân tộc[31m và Tôn giáo"]["short_name"] == "Sở DTTG"
    assert "Sở DTTG Hà Nội" in rows["Sở Dân tộc[31m và Tôn giáo"]["aliases"]
    assert "Sở Dân tộc mới" in rows
    stored = "".join(str(cell) for table in dump(db_path) for row in table for cell in row)
    assert not [ch for ch in stored if ch in "\x1b\x0c\x85\ufffe\x07"]


def test_group_members_read_from_a_file_are_cleaned_like_typed_names(capsys, db_path, english, tmp_path):
    code, out, row = group_from_file(
        capsys,
        db_path,
        english,
        tmp_path / "phuong.txt",
        "UBND phường Ba\x00 Đình\n\x01\x02\nUBND phường\x9b Ngọc Hà\n",
    )

    assert code == 0
    # What the user is told is the cleaned names too, not the raw bytes of the file.
    assert out.splitlines()[:3] == [
        "UBND các xã, phường has 2 members, each reporting for itself:",
        "- UBND phường Ba Đình",
        "- UBND phường Ngọc Hà",
    ]
    assert row["members"] == ["UBND phường Ba Đình", "UBND phường Ngọc Hà"]


def test_merging_sở_tttt_after_an_old_plan_keeps_its_past_and_is_idempotent(capsys, db_path, english):
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    before = dump(db_path)[5]

    code, out, _err = run(
        capsys,
        db_path,
        "agencies",
        "merge",
        "Sở TTTT",
        "--into",
        "Sở Khoa học và Công nghệ",
        "--from",
        "1/3/2025",
        config=english,
    )
    again_code, again, _err = run(
        capsys,
        db_path,
        "agencies",
        "merge",
        "Sở TTTT",
        "--into",
        "Sở KH&CN",
        "--from",
        "2025-03-01",
        config=english,
    )
    rows = listing(capsys, db_path, english)

    assert code == 0
    assert (
        out
        == "Merged Sở Thông tin và Truyền thông into Sở Khoa học và Công nghệ from Saturday, 1 March 2025.\n"
    )
    assert (again_code, again) == (
        0,
        "Already so, nothing changed: Sở Thông tin và Truyền thông → Sở Khoa học và Công nghệ.\n",
    )
    tttt = rows["Sở Thông tin và Truyền thông"]
    assert (tttt["status"], tttt["since"], tttt["successor"]) == (
        "merged",
        "2025-03-01",
        "Sở Khoa học và Công nghệ",
    )
    # The 2021 plan is over: its links keep the name its work was done under.
    assert dump(db_path)[5] == before


def test_show_tells_the_status_successor_and_predecessors(capsys, db_path, english):
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    run(
        capsys,
        db_path,
        "agencies",
        "merge",
        "Sở TTTT",
        "--into",
        "Sở KH&CN",
        "--from",
        "1/3/2025",
        config=english,
    )

    _code, old, _err = run(capsys, db_path, "agencies", "show", "so tttt", config=english)
    _code, new, _err = run(capsys, db_path, "agencies", "show", "Sở KH&CN", config=english)

    assert old.splitlines()[:3] == [
        "Sở Thông tin và Truyền thông (Sở TTTT)",
        "Status: merged (since Saturday, 1 March 2025)",
        "Successor: Sở Khoa học và Công nghệ",
    ]
    assert "Predecessors: Sở Thông tin và Truyền thông" in new.splitlines()


def test_show_suggests_the_merge_the_built_in_registry_knows_of(capsys, db_path, english):
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)

    _code, out, _err = run(capsys, db_path, "agencies", "show", "Sở Kế hoạch và Đầu tư", config=english)

    assert (
        "The built-in registry knows it was merged into Sở Tài chính on Saturday, 1 March 2025; to move its people "
        'and open work: nhacviec agencies merge "Sở Kế hoạch và Đầu tư" --into "Sở Tài chính" --from 2025-03-01'
    ) in out


def test_a_group_of_wards_from_a_file(capsys, db_path, english, tmp_path):
    code, out, row = group_from_file(
        capsys,
        db_path,
        english,
        tmp_path / "phuong.txt",
        "UBND phường Ba Đình\n\nUBND phường Ngọc Hà\nUBND phường Giảng Võ\n",
    )

    assert code == 0
    assert out.splitlines()[:4] == [
        "UBND các xã, phường has 3 members, each reporting for itself:",
        "- UBND phường Ba Đình",
        "- UBND phường Ngọc Hà",
        "- UBND phường Giảng Võ",
    ]
    assert (row["group"], row["members"]) == (
        True,
        ["UBND phường Ba Đình", "UBND phường Ngọc Hà", "UBND phường Giảng Võ"],
    )


def test_a_2026_plan_import_names_the_successor_in_its_notes(capsys, db_path, english):
    code, out, _err = run(capsys, db_path, "plan", "import", str(PLAN_2026), config=english)

    assert code == 0
    assert (
        '"Sở Thông tin và Truyền thông" became Sở Khoa học và Công nghệ on 1/3/2025: its tasks in this plan are '
        "linked to Sở Khoa học và Công nghệ"
    ) in out
    assert "Sở Nông nghiệp và Môi trường" in out


REFUSED = [
    (
        ("merge", "Sở Không Có", "--into", "Sở Tài chính", "--from", "1/3/2025"),
        'There is no agency "Sở Không Có" in the registry',
    ),
    (
        ("merge", "Sở TTTT", "--into", "Sở TT&TT", "--from", "1/3/2025"),
        "Sở Thông tin và Truyền thông cannot be merged into itself",
    ),
    (
        ("merge", "Sở Nội vụ", "--into", "Sở Tài chính", "--from", "1/3/2099"),
        "01/03/2099 is more than a year ahead",
    ),
    (
        ("rename", "Sở Nội vụ", "Sở Tài chính", "--from", "1/3/2025"),
        '"Sở Tài chính" already names Sở Tài chính; to bring the two together, merge them',
    ),
    (("dissolve", "Sở Nội vụ", "--from", "hôm qua"), '"hôm qua" is not a date'),
    (
        ("alias", "Sở Nội vụ", "Sở TC"),
        '"Sở TC" already names Sở Tài chính; an alias can lead to only one agency',
    ),
    (
        ("group", "UBND các xã, phường", "--members-file", "/nonexistent/phuong.txt"),
        "Cannot read /nonexistent/phuong.txt",
    ),
]


@pytest.mark.parametrize(("args", "expected"), REFUSED)
def test_a_refused_change_says_why_exits_1_and_changes_nothing(capsys, db_path, english, args, expected):
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    before = dump(db_path)

    code, out, err = run(capsys, db_path, "agencies", *args, config=english)

    assert (code, out) == (1, "")
    assert err.startswith(f"nhacviec: {expected}")
    assert dump(db_path) == before


def test_messages_are_in_vietnamese_by_default(capsys, db_path):
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN))

    code, _out, err = run(
        capsys, db_path, "agencies", "merge", "Sở Du lịch", "--into", "Sở Du lịch", "--from", "1/3/2025"
    )

    assert (code, err) == (1, 'nhacviec: Không có cơ quan "Sở Du lịch" trong danh mục\n')
