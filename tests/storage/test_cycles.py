from __future__ import annotations

import datetime as dt

import pytest

from storage.cycles import cycle_bounds, cycle_for, previous_cycle, reporting_deadlines
from storage.models import Plan

D = dt.date


def plan_87(**overrides) -> Plan:
    values = dict(
        number="87/KH-UBND",
        year=2020,
        issued=D(2020, 4, 24),
        reporting_deadlines=["2020-06-20", "2020-11-20"],
    )
    values.update(overrides)
    return Plan(**values)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2020, 1, 2), D(2020, 6, 20)),
        (D(2020, 6, 1), D(2020, 6, 20)),
        (D(2020, 6, 20), D(2020, 6, 20)),
        (D(2020, 6, 21), D(2020, 11, 20)),
        (D(2020, 11, 20), D(2020, 11, 20)),
        (D(2020, 12, 31), D(2020, 11, 20)),
        (D(2021, 3, 1), D(2020, 11, 20)),
    ],
)
def test_a_day_belongs_to_the_first_deadline_on_or_after_it_and_late_days_to_the_last(day, expected):
    assert cycle_for(plan_87(), day) == expected


def test_the_first_cycle_starts_on_new_years_day_of_the_plan_year():
    expected = (D(2020, 1, 1), D(2020, 6, 20))
    assert cycle_bounds(plan_87(), D(2020, 6, 20)) == expected


def test_a_later_cycle_starts_the_day_after_the_previous_deadline():
    expected = (D(2020, 6, 21), D(2020, 11, 20))
    assert cycle_bounds(plan_87(), D(2020, 11, 20)) == expected


def test_a_plan_issued_the_year_before_starts_its_first_cycle_on_the_issue_date():
    plan = plan_87(year=2021, issued=D(2020, 12, 15), reporting_deadlines=["2021-06-20"])
    expected = (D(2020, 12, 15), D(2021, 6, 20))
    assert cycle_bounds(plan, D(2021, 6, 20)) == expected


def test_a_plan_without_deadlines_has_one_cycle_ending_on_new_years_eve():
    plan = plan_87(reporting_deadlines=[])
    expected = D(2020, 12, 31)
    assert cycle_for(plan, D(2020, 3, 3)) == expected
    assert cycle_bounds(plan, expected) == (D(2020, 1, 1), expected)


def test_configured_extra_deadlines_split_a_cycle():
    extra = [D(2020, 9, 30)]
    assert cycle_for(plan_87(), D(2020, 8, 1), extra=extra) == D(2020, 9, 30)
    assert cycle_bounds(plan_87(), D(2020, 11, 20), extra=extra) == (D(2020, 10, 1), D(2020, 11, 20))
    assert reporting_deadlines(plan_87(), extra) == [D(2020, 6, 20), D(2020, 9, 30), D(2020, 11, 20)]


def test_a_date_that_closes_no_cycle_is_refused_naming_the_deadlines():
    with pytest.raises(ValueError, match="2020-06-20, 2020-11-20"):
        cycle_bounds(plan_87(), D(2020, 6, 30))


def test_the_previous_cycle_of_the_first_is_none():
    assert previous_cycle(plan_87(), D(2020, 6, 20)) is None
    assert previous_cycle(plan_87(), D(2020, 11, 20)) == D(2020, 6, 20)
