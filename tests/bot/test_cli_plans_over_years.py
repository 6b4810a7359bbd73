"""Hanoi's 87/KH-UBND of 2020 and of 2026 in one database, through `nhacviec plan …`, `reminders
preview` and `report`: each imported, listed, shown and reported by year; closing, reopening and
ending on its own on a moved clock."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from scheduler.clock import ManualClock
from tests.bot.cli_fixtures import cli_env, db_path, english  # noqa: F401  (fixtures)

PLAN_2026 = Path(__file__).resolve().parents[1] / "data" / "ke-hoach-87-KH-UBND-2026.txt"
# 10:00 in Hanoi on 2 March 2026: the 2026 plan runs, the 2020 one ended long ago.
MARCH_2026 = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)


def run(capsys, db_path, *args, config, now=MARCH_2026):
    code = main(["--config", config, "--db", f"sqlite+aiosqlite:///{db_path}", *args], clock=ManualClock(now))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def both(capsys, db_path, english, reference_plan):
    for path in (reference_plan, PLAN_2026):
        code, _out, err = run(capsys, db_path, "plan", "import", str(path), config=english)
        assert code == 0, err
    return db_path


def plan_rows(db_path) -> list[tuple]:
    connection = sqlite3.connect(db_path)
    try:
        return connection.execute(
            "SELECT id, issuer, number, year, lifecycle FROM plan ORDER BY id"
        ).fetchall()
    finally:
        connection.close()


def test_both_years_of_87_kh_ubnd_are_imported_as_two_plans_of_the_same_issuer(both):
    expected = [
        (1, "UBND thành phố Hà Nội", "87/KH-UBND", 2020, "auto"),
        (2, "UBND thành phố Hà Nội", "87/KH-UBND", 2026, "auto"),
    ]
    assert plan_rows(both) == expected


def test_importing_the_2020_plan_in_2026_says_it_has_already_ended(capsys, db_path, english, reference_plan):
    _code, out, _err = run(capsys, db_path, "plan", "import", str(reference_plan), config=english)
    assert (
        "This plan ended on 30 Jan 2021 (its last deadline plus 30 days): it sends no reminders, and stays "
        "readable and exportable. `nhacviec plan reopen` makes it active again."
    ) in out.splitlines()


def test_plan_list_json_gives_each_plan_its_identity_and_status(capsys, both, english):
    code, out, _err = run(capsys, both, "plan", "list", "--json", config=english)
    rows = json.loads(out)
    assert code == 0
    expected = [
        (2, "UBND thành phố Hà Nội", "87/KH-UBND", 2026, "active"),
        (1, "UBND thành phố Hà Nội", "87/KH-UBND", 2020, "ended"),
    ]
    assert [(r["id"], r["issuer"], r["number"], r["year"], r["status"]) for r in rows] == expected
    assert {"id", "issuer", "number", "year", "title", "status", "tasks", "agencies"} <= set(rows[0])
    assert rows[0]["title"] == "Triển khai chuyển đổi số và truyền thông chính sách năm 2026"


def test_plan_list_as_text_names_id_years_status_and_counts(capsys, both, english):
    _code, out, _err = run(capsys, both, "plan", "list", config=english)
    lines = out.splitlines()
    assert lines[0] == "#2 87/KH-UBND (2026) · active · UBND thành phố Hà Nội · issued 12 Jan 2026"
    # 2026: the pre-2025 names resolve to their successors (Sở KH&ĐT is now Sở Tài chính, which the
    # plan also names), so the 18 names of the 2021 sample are 17 agencies.
    assert (
        lines[1] == "    30 tasks, 17 agencies · Triển khai chuyển đổi số và truyền thông chính sách năm 2026"
    )
    assert lines[2].startswith("#1 87/KH-UBND (2020) · ended · UBND thành phố Hà Nội · issued 24 Apr 2020")


@pytest.mark.parametrize(
    ("args", "expected_year"),
    [
        (["--plan", "87", "--year", "2020"], 2020),
        (["--plan", "87/KH-UBND", "--year", "2026"], 2026),
        (["--plan", "1"], 2020),
        (["--plan", "#2"], 2026),
        (["--plan", "87-2020"], 2020),
    ],
)
def test_plan_show_finds_each_year_by_number_and_year_or_by_id(capsys, both, english, args, expected_year):
    code, out, _err = run(capsys, both, "plan", "show", *args, "--json", config=english)
    assert code == 0
    assert json.loads(out)["year"] == expected_year


def test_a_number_shared_by_two_plans_fails_listing_the_candidates(capsys, both, english):
    code, out, err = run(capsys, both, "plan", "show", "--plan", "87", config=english)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "nhacviec: “87” matches several plans; add --year, or give the plan's id:",
        "  #2 87/KH-UBND (2026) · active · Triển khai chuyển đổi số và truyền thông chính sách năm 2026",
        "  #1 87/KH-UBND (2020) · ended · Tổ chức các hoạt động thông tin đối ngoại năm 2020",
    ]


def test_an_unknown_year_fails_listing_the_plans_there_are(capsys, both, english):
    code, _out, err = run(capsys, both, "plan", "show", "--plan", "87", "--year", "2023", config=english)
    assert code == 1
    assert err.splitlines()[0] == "nhacviec: No plan matches “87”. The plans are:"
    assert len(err.splitlines()) == 3


def test_without_plan_the_only_active_plan_is_meant(capsys, both, english):
    code, out, _err = run(capsys, both, "plan", "show", "--json", config=english)
    assert (code, json.loads(out)["year"]) == (0, 2026)


def test_reminders_preview_of_the_ended_plan_says_it_sends_nothing(capsys, both, english):
    args = [
        "reminders",
        "preview",
        "--plan",
        "87",
        "--year",
        "2020",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-31",
    ]
    code, out, _err = run(capsys, both, *args, config=english)
    assert code == 0
    assert out.splitlines() == [
        "Plan 87/KH-UBND (2020): 0 reminders from 2026-03-02 to 2026-03-31",
        "The plan ended on 2021-01-30 (its last deadline plus 30 days): it sends nothing after that day.",
    ]


def test_reminders_preview_of_the_ended_plan_in_its_own_year_shows_its_schedule(capsys, both, english):
    args = ["reminders", "preview", "--plan", "1", "--from", "2020-06-08", "--to", "2020-06-14", "--json"]
    code, out, _err = run(capsys, both, *args, config=english)
    rows = json.loads(out)
    assert code == 0
    assert rows and {row["deadline"] for row in rows} == {"2020-06-20"}


def test_reminders_preview_of_the_2026_plan_lists_its_own_deadlines(capsys, both, english):
    args = [
        "reminders",
        "preview",
        "--plan",
        "87",
        "--year",
        "2026",
        "--from",
        "2026-06-08",
        "--to",
        "2026-06-08",
    ]
    code, out, _err = run(capsys, both, *args, "--json", config=english)
    assert code == 0
    assert {row["deadline"] for row in json.loads(out)} == {"2026-06-15"}


def test_closing_and_reopening_a_plan_on_a_moved_clock(capsys, both, english):
    code, out, _err = run(capsys, both, "plan", "close", "87", "--year", "2026", config=english)
    assert (code, out.strip()) == (
        0,
        "Closed plan 87/KH-UBND (2026): it sends no more reminders and stays readable and exportable.",
    )
    _code, out, _err = run(capsys, both, "plan", "list", "--json", config=english)
    assert [r["status"] for r in json.loads(out)] == ["closed", "ended"]
    args = ["reminders", "preview", "--plan", "2", "--from", "2026-06-08", "--to", "2026-06-08"]
    _code, out, _err = run(capsys, both, *args, config=english)
    assert out.splitlines() == [
        "Plan 87/KH-UBND (2026): 0 reminders from 2026-06-08 to 2026-06-08",
        "The plan is closed: it sends no reminders (`nhacviec plan reopen` makes it active again).",
    ]

    a_month_later = MARCH_2026 + dt.timedelta(days=30)
    code, out, _err = run(capsys, both, "plan", "reopen", "2", config=english, now=a_month_later)
    assert (code, out.strip()) == (
        0,
        "Reopened plan 87/KH-UBND (2026): active again until 30 Jan 2027, its last deadline plus 30 days.",
    )
    _code, out, _err = run(capsys, both, "plan", "list", "--json", config=english, now=a_month_later)
    assert [r["status"] for r in json.loads(out)] == ["active", "ended"]


def test_the_2026_plan_ends_on_its_own_after_its_last_deadline_and_the_grace(capsys, both, english):
    def status_on(moment):
        _code, out, _err = run(capsys, both, "plan", "list", "--json", config=english, now=moment)
        return json.loads(out)[0]["status"]

    # Its last task ends on 31 December 2026; 30 days later, at 23:59 in Hanoi, it still runs.
    last_active_day = dt.datetime(2027, 1, 30, 16, 59, tzinfo=dt.UTC)
    assert status_on(last_active_day) == "active"
    assert status_on(last_active_day + dt.timedelta(minutes=1)) == "ended"


def test_reopening_an_ended_plan_keeps_it_active_until_closed_again(capsys, both, english):
    years_later = dt.datetime(2027, 6, 1, 3, 0, tzinfo=dt.UTC)
    code, out, _err = run(
        capsys, both, "plan", "reopen", "87", "--year", "2020", config=english, now=years_later
    )
    assert (code, out.strip()) == (
        0,
        "Reopened plan 87/KH-UBND (2020): it had ended, so it now stays active until it is closed again.",
    )
    _code, out, _err = run(capsys, both, "plan", "list", "--json", config=english, now=years_later)
    assert {r["year"]: r["status"] for r in json.loads(out)} == {2026: "ended", 2020: "active"}
    code, out, _err = run(capsys, both, "plan", "close", "1", config=english, now=years_later)
    assert code == 0
    code, out, _err = run(capsys, both, "plan", "close", "1", config=english, now=years_later)
    assert out.strip() == "Plan 87/KH-UBND (2020) is already closed; nothing changed."


def test_a_report_per_plan_and_year(capsys, both, english, tmp_path):
    for year in (2020, 2026):
        target = tmp_path / f"bao-cao-{year}.json"
        args = ["report", "--plan", "87", "--year", str(year), "--format", "json", "-o", str(target)]
        code, _out, err = run(capsys, both, *args, config=english)
        assert code == 0, err
        report = json.loads(target.read_text(encoding="utf-8"))
        assert report["plan"]["year"] == year
