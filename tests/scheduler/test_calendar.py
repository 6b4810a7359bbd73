import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from scheduler.calendar import (
    CalendarError,
    PlanFacts,
    PlanTask,
    WorkingCalendar,
    expected_agencies,
    local_instant,
    plan_deadlines,
    quarter_start,
)
from tests.probes import run_python

D = dt.date


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2020, 6, 19), True),  # Friday
        (D(2020, 6, 20), False),  # Saturday: the reference plan's first reporting deadline
        (D(2020, 6, 21), False),  # Sunday
        (D(2020, 9, 2), False),  # National Day
        (D(2021, 9, 3), False),  # the second National Day holiday, from 2021
        (D(2021, 2, 10), False),  # Tết 2021: 29 Tết
        (D(2021, 2, 12), False),  # Mùng 1 Tết
        (D(2021, 2, 16), False),  # Mùng 5 Tết
        (D(2021, 2, 17), True),  # back to work
        (D(2020, 4, 2), False),  # Giỗ Tổ Hùng Vương
        (D(2020, 4, 30), False),
        (D(2020, 5, 1), False),
        (D(2021, 1, 1), False),
        (D(2024, 5, 4), True),  # a Saturday worked to make up for the bridge day 29/4/2024
        (D(2024, 4, 29), False),  # that bridge day
    ],
)
def test_working_days_follow_the_vietnamese_calendar(day, expected):
    assert WorkingCalendar().is_working_day(day) is expected


def test_configured_days_off_and_make_up_saturdays_override_the_weekly_pattern():
    calendar = WorkingCalendar(extra_days_off=[D(2020, 6, 19)], extra_working_days=[D(2020, 6, 13)])
    expected = (False, True)
    assert (calendar.is_working_day(D(2020, 6, 19)), calendar.is_working_day(D(2020, 6, 13))) == expected


def test_a_day_cannot_be_configured_both_off_and_working():
    with pytest.raises(CalendarError, match="2020-06-19"):
        WorkingCalendar(extra_days_off=[D(2020, 6, 19)], extra_working_days=[D(2020, 6, 19)])


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2020, 6, 20), D(2020, 6, 19)),  # Saturday -> Friday
        (D(2020, 6, 17), D(2020, 6, 17)),  # a working day stays
        (D(2021, 2, 16), D(2021, 2, 9)),  # the last day of Tết -> the last working day before it
        (D(2021, 1, 1), D(2020, 12, 31)),  # across the year boundary
    ],
)
def test_previous_working_day(day, expected):
    assert WorkingCalendar().previous_working_day(day) == expected


@pytest.mark.parametrize(
    ("day", "count", "expected"),
    [
        (D(2020, 6, 20), 1, D(2020, 6, 22)),
        (D(2020, 6, 20), 3, D(2020, 6, 24)),
        (D(2021, 2, 9), 1, D(2021, 2, 17)),  # over Tết
        (D(2020, 12, 31), 1, D(2021, 1, 4)),  # over New Year's Day and a weekend
        (D(2021, 9, 1), 1, D(2021, 9, 6)),  # over 2/9 and 3/9 and a weekend
    ],
)
def test_adding_working_days(day, count, expected):
    assert WorkingCalendar().add_working_days(day, count) == expected


def test_a_calendar_with_no_working_days_fails_instead_of_looping():
    every_day = [D(2020, 1, 1) + dt.timedelta(days=n) for n in range(120)]
    calendar = WorkingCalendar(extra_days_off=every_day)
    with pytest.raises(CalendarError):
        calendar.previous_working_day(D(2020, 4, 1))


def test_local_eight_oclock_in_hanoi_is_one_oclock_utc():
    expected = dt.datetime(2020, 6, 17, 1, 0, tzinfo=dt.UTC)
    assert local_instant(D(2020, 6, 17), dt.time(8, 0), ZoneInfo("Asia/Ho_Chi_Minh")) == expected


def test_local_time_follows_daylight_saving_in_another_zone():
    new_york = ZoneInfo("America/New_York")
    expected = [
        dt.datetime(2020, 6, 17, 12, 0, tzinfo=dt.UTC),
        dt.datetime(2020, 1, 17, 13, 0, tzinfo=dt.UTC),
    ]
    assert [
        local_instant(D(2020, 6, 17), dt.time(8), new_york),
        local_instant(D(2020, 1, 17), dt.time(8), new_york),
    ] == expected


def test_quarter_start():
    expected = [D(2020, 1, 1), D(2020, 4, 1), D(2020, 7, 1), D(2020, 10, 1)]
    assert [quarter_start(D(2020, m, 15)) for m in (2, 6, 9, 12)] == expected


def _plan() -> PlanFacts:
    tasks = (
        PlanTask(1, "I.1", "Xuất bản đặc san", D(2020, 12, 31), (10,)),
        PlanTask(2, "I.2", "Tổ chức hội nghị", D(2020, 9, 30), (10, 11)),
        PlanTask(3, "II.1", "Quảng bá du lịch", D(2020, 6, 30), (12,), done=True),
        PlanTask(4, "II.2", "Lắp biển chỉ dẫn", None, (12,)),
    )
    return PlanFacts(1, "87/KH-UBND", 2020, (D(2020, 6, 20), D(2020, 11, 20)), tasks)


def test_a_plans_deadlines_are_its_reports_its_quarter_ends_and_its_unfinished_tasks():
    deadlines = plan_deadlines(_plan(), extra_reporting=["09-15"])
    expected = [
        (D(2020, 3, 31), "quarter", None),
        (D(2020, 6, 20), "report", None),
        (D(2020, 6, 30), "quarter", None),
        (D(2020, 9, 15), "report", None),
        (D(2020, 9, 30), "quarter", None),
        (D(2020, 9, 30), "task", "I.2"),
        (D(2020, 11, 20), "report", None),
        (D(2020, 12, 31), "quarter", None),
        (D(2020, 12, 31), "task", "I.1"),
    ]
    assert [(d.day, d.kind, d.task_code) for d in deadlines] == expected


def test_every_lead_agency_reports_for_the_plan_and_a_tasks_leads_for_the_task():
    plan = _plan()
    deadlines = {(d.kind, d.task_code): d for d in plan_deadlines(plan)}
    expected = ((10, 11, 12), (10, 11))
    assert (
        expected_agencies(plan, deadlines["report", None]),
        expected_agencies(plan, deadlines["task", "I.2"]),
    ) == expected


@pytest.mark.parametrize(
    "day, expected",
    [
        (dt.date(2026, 11, 24), False),  # Vietnamese Culture Day, a day off from 2026
        (dt.date(2026, 8, 22), True),  # Saturday worked to make the 2/9 holiday four days long
        (dt.date(2026, 8, 31), False),  # the day off it pays for
        (dt.date(2026, 4, 27), False),  # Hùng Kings' day fell on a Sunday: observed on Monday
    ],
)
def test_the_calendar_knows_culture_day_and_the_2026_make_up_days(day, expected):
    assert WorkingCalendar().is_working_day(day) is expected


def test_the_calendar_has_the_days_off_and_make_up_days_the_holidays_package_gives_for_vietnam():
    import json

    # The package's ordinary way, in a process of its own (this one may hold the calendar's module).
    probe = (
        "import json, holidays; years = range(2019, 2031); "
        "days = [holidays.country_holidays('VN', years=y) for y in years]; "
        "print(json.dumps([sorted(str(d) for h in days for d in h), "
        "sorted(str(d) for h in days for d in h.weekend_workdays)]))"
    )
    days_off, make_up_days = json.loads(run_python(probe))
    calendar = WorkingCalendar()
    days = [D(2019, 1, 1) + dt.timedelta(days=n) for n in range((D(2031, 1, 1) - D(2019, 1, 1)).days)]
    expected = [str(day) not in days_off and (day.weekday() < 5 or str(day) in make_up_days) for day in days]

    assert [calendar.is_working_day(day) for day in days] == expected


def test_working_days_load_the_vietnamese_holidays_without_the_other_countries():
    probe = (
        "import sys, datetime; from scheduler.calendar import WorkingCalendar; "
        "WorkingCalendar().is_working_day(datetime.date(2026, 2, 17)); "
        "print(sorted(m for m in sys.modules if m.startswith('holidays.countries')))"
    )
    assert run_python(probe) == "['holidays.countries.vietnam']"
