import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from scheduler.calendar import WorkingCalendar
from scheduler.policy import KindPolicy, Policy, slots_for

D = dt.date


def _days(deadline: dt.date, kind: str = "report", policy: Policy | None = None, calendar=None):
    slots = slots_for(deadline, kind, policy or Policy(), calendar or WorkingCalendar())
    return [(slot.kind, slot.label, slot.day) for slot in slots]


def test_reminders_for_saturday_20_june_2020_land_on_working_days():
    expected = [
        ("report", "T-7", D(2020, 6, 12)),  # 13/6 is a Saturday: the Friday before
        ("report", "T-3", D(2020, 6, 17)),
        ("report", "T-1", D(2020, 6, 19)),  # the Friday before the Saturday deadline
        ("overdue", "T+1", D(2020, 6, 22)),
        ("escalation", "T+1", D(2020, 6, 22)),
        ("overdue", "T+3", D(2020, 6, 24)),
    ]
    assert _days(D(2020, 6, 20)) == expected


def test_reminders_go_out_at_eight_in_the_morning_hanoi_time_stored_in_utc():
    slots = slots_for(D(2020, 6, 20), "report", Policy(), WorkingCalendar())
    expected = dt.datetime(2020, 6, 12, 1, 0, tzinfo=dt.UTC)
    assert slots[0].due_at == expected


def test_reminders_that_fall_in_tet_merge_into_one_on_the_last_working_day_before_it():
    # 17/2/2021 is the first working day after Tết: 7, 3 and 1 days before are all days off.
    expected = [
        ("report", "T-7", D(2021, 2, 9)),
        ("overdue", "T+1", D(2021, 2, 18)),
        ("escalation", "T+1", D(2021, 2, 18)),
        ("overdue", "T+3", D(2021, 2, 22)),
    ]
    assert _days(D(2021, 2, 17)) == expected


def test_two_reminders_landing_on_the_same_day_merge_under_the_larger_offset():
    # Monday 22/6/2020: one day before is a Sunday, three days before is the Friday.
    expected = [("report", "T-7", D(2020, 6, 15)), ("report", "T-3", D(2020, 6, 19))]
    assert _days(D(2020, 6, 22))[:2] == expected


def test_national_day_holidays_push_reminders_earlier_and_overdue_later():
    # Friday 3/9/2021 is itself a holiday (2/9 and 3/9 off that year).
    expected = [
        ("report", "T-7", D(2021, 8, 27)),
        ("report", "T-3", D(2021, 8, 31)),
        ("report", "T-1", D(2021, 9, 1)),
        ("overdue", "T+1", D(2021, 9, 6)),
        ("escalation", "T+1", D(2021, 9, 6)),
        ("overdue", "T+3", D(2021, 9, 8)),
    ]
    assert _days(D(2021, 9, 3)) == expected


def test_reminders_cross_the_year_boundary():
    # Saturday 2/1/2021: 1/1 is New Year's Day, 26/12/2020 a Saturday.
    expected = [
        ("report", "T-7", D(2020, 12, 25)),
        ("report", "T-3", D(2020, 12, 30)),
        ("report", "T-1", D(2020, 12, 31)),
        ("overdue", "T+1", D(2021, 1, 4)),
        ("escalation", "T+1", D(2021, 1, 4)),
        ("overdue", "T+3", D(2021, 1, 6)),
    ]
    assert _days(D(2021, 1, 2)) == expected


def test_a_make_up_working_saturday_keeps_its_reminder():
    calendar = WorkingCalendar(extra_working_days=[D(2020, 6, 13)])
    expected = ("report", "T-7", D(2020, 6, 13))
    assert _days(D(2020, 6, 20), calendar=calendar)[0] == expected


def test_another_time_zone_moves_the_utc_instant_but_not_the_local_time():
    policy = Policy(
        timezone=ZoneInfo("America/New_York"), report=KindPolicy(before_days=(3,), send_time=dt.time(9, 30))
    )
    slots = slots_for(D(2020, 6, 20), "report", policy, WorkingCalendar())
    expected = dt.datetime(2020, 6, 17, 13, 30, tzinfo=dt.UTC)  # 09:30 EDT
    assert slots[0].due_at == expected


def test_a_reminder_before_the_deadline_expires_when_the_deadline_day_ends():
    slots = slots_for(D(2020, 6, 20), "report", Policy(), WorkingCalendar())
    expected = dt.datetime(2020, 6, 20, 17, 0, tzinfo=dt.UTC)  # midnight 21/6 in Hanoi
    assert {s.expires_at for s in slots if s.offset_days >= 0} == {expected}


def test_each_kind_has_its_own_policy():
    policy = Policy(task=KindPolicy(before_days=(14,), overdue_working_days=(), escalation_working_days=(2,)))
    expected = [("task", "T-14", D(2020, 6, 16)), ("escalation", "T+2", D(2020, 7, 2))]
    assert _days(D(2020, 6, 30), "task", policy) == expected


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        KindPolicy(before_days=(-1,))
