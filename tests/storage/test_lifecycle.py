"""When a plan is active, ended or closed, and the day an ended plan is judged from; multi-year
plans read from their header."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from storage.plans import lifecycle
from storage.plans.header import parse_header


@dataclass
class StoredPlan:
    year: int = 2026
    end_year: int = 2026
    last_deadline: dt.date | None = dt.date(2026, 12, 31)
    lifecycle: str = "auto"
    lifecycle_changed_at: dt.datetime | None = None
    lifecycle_changed_by: str | None = None


NOW = dt.datetime(2026, 5, 4, 2, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("today", "grace", "expected"),
    [
        (dt.date(2026, 5, 4), 30, "active"),
        (dt.date(2027, 1, 30), 30, "active"),
        (dt.date(2027, 1, 31), 30, "ended"),
        (dt.date(2027, 1, 1), 0, "ended"),
        (dt.date(2026, 12, 31), 0, "active"),
    ],
)
def test_a_plan_ends_on_its_own_its_grace_after_its_last_deadline(today, grace, expected):
    assert lifecycle.plan_status(StoredPlan(), today, grace_days=grace) == expected


def test_a_configured_extra_deadline_after_the_last_one_moves_the_end():
    plan = StoredPlan(last_deadline=dt.date(2026, 11, 15))
    assert lifecycle.ends_on(plan, 30, [dt.date(2026, 12, 20)]) == dt.date(2027, 1, 19)


def test_closing_then_reopening_while_its_dates_run_lets_it_end_on_its_own_again():
    plan = StoredPlan()
    closed = lifecycle.close(plan, today=NOW.date(), now=NOW, by="An")
    assert (closed.before, closed.after) == ("active", "closed")
    assert lifecycle.plan_status(plan, NOW.date()) == "closed"
    reopened = lifecycle.reopen(plan, today=NOW.date(), now=NOW, by="An")
    assert (reopened.after, plan.lifecycle) == ("active", "auto")
    assert lifecycle.plan_status(plan, dt.date(2027, 3, 1)) == "ended"


def test_reopening_an_ended_plan_keeps_it_active_until_closed():
    plan = StoredPlan()
    later = dt.date(2028, 1, 1)
    change = lifecycle.reopen(plan, today=later, now=NOW, by="An")
    assert (change.before, change.after, plan.lifecycle) == ("ended", "active", "open")
    assert lifecycle.plan_status(plan, dt.date(2030, 1, 1)) == "active"


def test_an_ended_plan_is_judged_from_the_day_after_its_last_deadline():
    assert lifecycle.judging_day(StoredPlan(), dt.date(2028, 6, 1)) == dt.date(2027, 1, 1)
    assert lifecycle.judging_day(StoredPlan(), dt.date(2026, 6, 1)) == dt.date(2026, 6, 1)


def test_a_plan_closed_early_is_judged_from_the_day_it_was_closed():
    plan = StoredPlan()
    lifecycle.close(plan, today=NOW.date(), now=NOW, by="An")
    assert (
        lifecycle.judging_day(plan, dt.date(2026, 9, 1), tz=dt.timezone(dt.timedelta(hours=7))) == NOW.date()
    )


HEADER = [
    "ỦY BAN NHÂN DÂN",
    "THÀNH PHỐ HÀ NỘI",
    "Số: 12/KH-UBND",
    "Hà Nội, ngày 5 tháng 1 năm 2021",
    "KẾ HOẠCH",
    "Phát triển chính quyền số giai đoạn 2021 - 2025",
    "",
    "Các sở, ngành định kỳ báo cáo UBND Thành phố trước ngày 15/12 hằng năm.",
]


def test_a_multi_year_plan_gets_its_years_its_issuer_and_a_deadline_each_year():
    header = parse_header(HEADER)
    assert (header.number, header.issuer, header.year, header.end_year) == (
        "12/KH-UBND",
        "UBND thành phố Hà Nội",
        2021,
        2025,
    )
    expected = [dt.date(year, 12, 15) for year in range(2021, 2026)]
    assert header.reporting_deadlines == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("UBND TỈNH LAM GIANG", "UBND tỉnh Lam Giang"),
        ("Ủy ban nhân dân tỉnh Quảng Ninh", "UBND tỉnh Quảng Ninh"),
        ("UBND QUẬN BA ĐÌNH", "UBND quận Ba Đình"),
    ],
)
def test_the_issuer_is_read_from_the_letterhead(line, expected):
    assert parse_header([line, "Số: 3/KH-UBND", "KẾ HOẠCH", "Việc gì đó năm 2026"]).issuer == expected


def test_a_header_naming_no_issuer_leaves_it_empty():
    assert parse_header(["Số: 3/KH-UBND", "KẾ HOẠCH", "Việc gì đó năm 2026"]).issuer == ""
