"""The console's TravelClock: the wall clock until sent somewhere, then forward only."""

from __future__ import annotations

import datetime as dt

import pytest

from scheduler.clock import ClockBackwards, ManualClock, TravelClock

WALL = dt.datetime(2026, 12, 2, 5, 0, tzinfo=dt.UTC)


def test_an_unmoved_travel_clock_is_the_wall_clock():
    wall = ManualClock(WALL)

    clock = TravelClock(wall)

    assert clock.now() == WALL
    assert not clock.travelled


def test_a_travel_clock_may_first_go_into_a_past_plan_and_then_runs_on_with_the_wall_clock():
    wall = ManualClock(WALL)
    clock = TravelClock(wall)

    clock.move_to(dt.datetime(2020, 6, 12, 1, 0, tzinfo=dt.UTC))
    wall.advance(minutes=5)

    expected = dt.datetime(2020, 6, 12, 1, 5, tzinfo=dt.UTC)
    assert clock.now() == expected
    assert clock.travelled


def test_once_moved_a_travel_clock_refuses_to_go_back():
    clock = TravelClock(ManualClock(WALL))
    clock.move_to(dt.datetime(2020, 6, 19, 1, 0, tzinfo=dt.UTC))

    with pytest.raises(ClockBackwards):
        clock.move_to(dt.datetime(2020, 6, 12, 1, 0, tzinfo=dt.UTC))
    assert clock.now() == dt.datetime(2020, 6, 19, 1, 0, tzinfo=dt.UTC)
