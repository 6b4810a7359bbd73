"""`nhacviec plan …` and `nhacviec agencies list`, run in-process against a SQLite file."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from bot.cli import main
from scheduler.clock import ManualClock
from tests.bot.cli_fixtures import cli_env, db_path, english  # noqa: F401  (fixtures)
from tests.conftest import SAMPLE_PLAN

# While the sample plan (2021) is still running: its reporting cycle of June.
IN_2021 = dt.datetime(2021, 5, 3, 2, 0, tzinfo=dt.UTC)


def run(capsys, db_path, *args, config=None, now=IN_2021):
    argv = (["--config", config] if config else []) + ["--db", f"sqlite+aiosqlite:///{db_path}", *args]
    code = main(argv, clock=ManualClock(now))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows(db_path) -> dict[str, list[tuple]]:
    connection = sqlite3.connect(db_path)
    try:
        tables = [t for (t,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: connection.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall() for t in tables}
    finally:
        connection.close()


def test_importing_the_sample_plan_prints_what_was_imported(capsys, db_path, english):
    code, out, _err = run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    assert code == 0
    lines = out.splitlines()
    assert (
        lines[0] == "Imported plan 45/KH-UBND: Triển khai chuyển đổi số và truyền thông chính sách năm 2021"
    )
    assert lines[1] == "  Issued by: UBND tỉnh Lam Giang · year(s): 2021"
    assert lines[2] == "  Sections: 7 · tasks: 30 · agencies: 18"
    assert lines[3] == "  Reporting deadlines: 15 Jun 2021, 15 Nov 2021"
    assert "Warnings (4):" in lines  # three of the file, one for a group named without members
    assert "  - II.2: no lead agency given; the section's agency, Sở Nội vụ, is taken as lead" in lines


def test_importing_the_same_file_again_says_it_is_unchanged_and_writes_nothing(capsys, db_path, english):
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    before = rows(db_path)
    code, out, _err = run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    assert code == 0
    assert out.splitlines()[0] == "Plan 45/KH-UBND is unchanged: this file holds nothing new."
    assert rows(db_path) == before


def test_a_revised_file_prints_what_changed(capsys, db_path, english, tmp_path):
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    revised = tmp_path / "ke-hoach-45-sua-doi.txt"
    text = SAMPLE_PLAN.read_text(encoding="utf-8").replace(
        "trước ngày 15/6 và 15/11", "trước ngày 30/6 và 15/11"
    )
    revised.write_text(text.replace("\tQuý II/2021\t", "\tQuý III/2021\t"), encoding="utf-8")
    code, out, _err = run(capsys, db_path, "plan", "import", str(revised), config=english)
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("Updated plan 45/KH-UBND")
    assert "  Reporting deadlines changed: 15 Jun 2021, 15 Nov 2021 → 30 Jun 2021, 15 Nov 2021" in lines
    assert lines[lines.index("  Tasks changed:") + 1] == "    IV.5: timeframe"


def test_a_bad_file_exits_with_1_a_clear_message_and_an_untouched_database(
    capsys, db_path, english, tmp_path
):
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    before = rows(db_path)
    bad = tmp_path / "ke-hoach.txt"
    bad.write_bytes(SAMPLE_PLAN.read_text(encoding="utf-8").encode("cp1258", "replace"))
    code, out, err = run(capsys, db_path, "plan", "import", str(bad), config=english)
    assert code == 1
    assert out == ""
    assert "ke-hoach.txt is not UTF-8 text" in err
    assert "Nothing was imported; the database is unchanged." in err
    assert rows(db_path) == before


def test_a_missing_file_exits_with_1(capsys, db_path, english, tmp_path):
    code, _out, err = run(capsys, db_path, "plan", "import", str(tmp_path / "khong-co.txt"), config=english)
    assert code == 1
    assert "khong-co.txt: no such file" in err


def test_plan_show_json_has_the_documented_shape(capsys, db_path, english):
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    code, out, _err = run(capsys, db_path, "plan", "show", "--plan", "45/KH-UBND", "--json", config=english)
    doc = json.loads(out)
    assert code == 0
    assert list(doc) == ["number", "issued", "title", "year", "reporting_deadlines", "sections"]
    assert (doc["number"], doc["issued"], doc["year"]) == ("45/KH-UBND", "2021-03-15", 2021)
    assert doc["reporting_deadlines"] == ["2021-06-15", "2021-11-15"]
    section = doc["sections"][1]
    assert list(section) == ["numeral", "agency", "tasks"]
    assert (section["numeral"], section["agency"]) == ("II", "Sở Nội vụ")
    expected = {
        "number": 2,
        "content": "Hướng dẫn các cơ quan, đơn vị lập và lưu trữ hồ sơ điện tử theo quy định.",
        "timeframe": {"text": "Trước ngày 30/6/2021", "start": None, "end": "2021-06-30"},
        "lead": ["Sở Nội vụ"],
        "coordinating": ["UBND các huyện, thành phố"],
        "responsible": "Giám đốc Sở Nội vụ",
    }
    assert section["tasks"][1] == expected
    assert sum(len(s["tasks"]) for s in doc["sections"]) == 30


def test_plan_show_json_includes_configured_extra_deadlines(capsys, db_path, tmp_path):
    config = tmp_path / "extra.toml"
    config.write_text('[plan]\nextra_reporting_deadlines = ["09-30"]\n', encoding="utf-8")
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=str(config))
    _code, out, _err = run(capsys, db_path, "plan", "show", "--json", config=str(config))
    expected = ["2021-06-15", "2021-09-30", "2021-11-15"]
    assert json.loads(out)["reporting_deadlines"] == expected


def test_plan_show_prints_a_readable_table(capsys, db_path, english):
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    code, out, _err = run(capsys, db_path, "plan", "show", config=english)
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == (
        "Plan 45/KH-UBND of 15 Mar 2021: Triển khai chuyển đổi số và truyền thông chính sách năm 2021"
    )
    assert lines[1] == "Issued by UBND tỉnh Lam Giang"
    assert lines[2] == "Year 2021 · reporting deadlines: 15 Jun 2021, 15 Nov 2021"
    assert "II. Sở Nội vụ" in lines
    start = next(i for i, line in enumerate(lines) if line.startswith("  II.2 "))
    assert lines[start : start + 5] == [
        "  II.2  Hướng dẫn các cơ quan, đơn vị lập và lưu trữ hồ sơ điện tử theo quy định.",
        "        Timeframe: Trước ngày 30/6/2021 (by 30 Jun 2021)",
        "        Lead: Sở Nội vụ",
        "        Coordinating: UBND các huyện, thành phố",
        "        Responsible: Giám đốc Sở Nội vụ",
    ]


def test_plan_show_in_vietnamese_by_default(capsys, db_path):
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN))
    code, out, _err = run(capsys, db_path, "plan", "show", "--plan", "45")
    lines = out.splitlines()
    assert code == 0
    assert lines[2] == "Năm 2021 · hạn báo cáo: 15/6/2021, 15/11/2021"
    assert "        Chủ trì: Sở Nội vụ" in lines


def test_plan_show_without_any_plan_or_with_an_unknown_number_exits_with_1(capsys, db_path, english):
    code, _out, err = run(capsys, db_path, "plan", "show", config=english)
    assert code == 1
    assert "No plan imported yet" in err
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    code, _out, err = run(capsys, db_path, "plan", "show", "--plan", "99/KH-UBND", config=english)
    assert code == 1
    assert err.splitlines()[:2] == [
        "nhacviec: No plan matches “99/KH-UBND”. The plans are:",
        "  #1 45/KH-UBND (2021) · active · Triển khai chuyển đổi số và truyền thông chính sách năm 2021",
    ]


def test_plan_list_names_each_plan_with_its_counts(capsys, db_path, english):
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    code, out, _err = run(capsys, db_path, "plan", "list", config=english)
    expected = (
        "#1 45/KH-UBND (2021) · active · UBND tỉnh Lam Giang · issued 15 Mar 2021\n"
        "    30 tasks, 18 agencies · Triển khai chuyển đổi số và truyền thông chính sách năm 2021\n"
    )
    assert (code, out) == (0, expected)


def test_agencies_list_json_shows_each_agency_once_with_its_aliases(capsys, db_path, english):
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    code, out, _err = run(capsys, db_path, "agencies", "list", "--json", config=english)
    agencies = {a["name"]: a for a in json.loads(out)}
    assert code == 0
    assert len(agencies) == 18
    tttt = agencies["Sở Thông tin và Truyền thông"]
    assert tttt["short_name"] == "Sở TTTT"
    assert {"Sở TT&TT", "Sở Thông tin & Truyền thông"} <= set(tttt["aliases"])
    assert "Sở VHTTDL" == agencies["Sở Văn hóa, Thể thao và Du lịch"]["short_name"]


def test_agencies_list_as_text(capsys, db_path, english):
    code, out, _err = run(capsys, db_path, "agencies", "list", config=english)
    assert (code, out.strip()) == (
        0,
        "No agencies yet: they are registered when a plan is imported (`nhacviec plan import FILE`).",
    )
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    _code, out, _err = run(capsys, db_path, "agencies", "list", config=english)
    assert any(line.endswith("  Sở Thông tin và Truyền thông (Sở TTTT)") for line in out.splitlines())
