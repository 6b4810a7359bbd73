"""The rules of storage.progress_rules, one by one: timing, done, co-led tasks, agency views."""

from __future__ import annotations

import datetime as dt

import pytest

from storage.models.people import BLOCKED, DONE, IN_PROGRESS, NOT_STARTED
from storage.progress_rules import (
    ANY_LEAD,
    LATE,
    NO_DEADLINE,
    NOT_DUE,
    NOT_REPORTED,
    ON_TIME,
    OVERDUE,
    Word,
    agency_view,
    average,
    judge,
    responsible,
    timing,
)

D = dt.date
TODAY = D(2020, 6, 10)
A, B, C = 1, 2, 3


def said(
    agency: int, status: str, day: dt.date = D(2020, 6, 1), *, percent: int | None = None, order: int = 0
):
    return Word(agency, status, percent, day if status == DONE else None, (day, order))


@pytest.mark.parametrize(
    ("end_on", "done_on", "expected"),
    [
        (D(2020, 6, 30), D(2020, 6, 30), ON_TIME),
        (D(2020, 6, 30), D(2020, 7, 1), LATE),
        (D(2020, 6, 9), None, OVERDUE),
        (D(2020, 6, 10), None, NOT_DUE),  # due today is not yet overdue
        (D(2020, 12, 31), None, NOT_DUE),
        (None, None, NO_DEADLINE),
        (None, D(2020, 6, 1), NO_DEADLINE),
    ],
)
def test_each_timing_rule(end_on, done_on, expected):
    assert timing(end_on, done_on, TODAY) == expected


def test_a_task_without_an_end_date_is_never_overdue_however_late_we_look():
    standing = judge(None, [A], [], D(2030, 1, 1))
    assert (standing.reported, standing.timing) == (NOT_REPORTED, NO_DEADLINE)


@pytest.mark.parametrize(
    ("status", "percent", "expected_percent"),
    [
        (NOT_STARTED, None, 0),
        (IN_PROGRESS, 60, 60),
        (IN_PROGRESS, None, None),
        (DONE, None, 100),
        (BLOCKED, 30, 30),
    ],
)
def test_what_was_reported_is_kept_beside_the_timing(status, percent, expected_percent):
    standing = judge(D(2020, 5, 31), [A], [said(A, status, percent=percent)], TODAY)
    expected_timing = LATE if status == DONE else OVERDUE  # reported 1 June, due 31 May
    assert (standing.reported, standing.percent, standing.timing) == (
        status,
        expected_percent,
        expected_timing,
    )


def test_not_started_past_the_end_date_is_reported_not_started_and_overdue():
    standing = judge(D(2020, 4, 30), [A], [said(A, NOT_STARTED)], TODAY)
    assert (standing.reported, standing.timing, standing.needs_attention) == (NOT_STARTED, OVERDUE, True)


def test_with_one_lead_the_latest_word_of_anyone_stands_for_the_task():
    words = [said(A, IN_PROGRESS, D(2020, 6, 1), percent=40), said(B, DONE, D(2020, 6, 2))]
    assert judge(D(2020, 6, 30), [A], words, TODAY).reported == DONE


def test_a_co_led_task_is_done_when_every_lead_said_so_by_default():
    one = [said(A, DONE, D(2020, 6, 2)), said(B, IN_PROGRESS, D(2020, 6, 1), percent=50)]
    both = [said(A, DONE, D(2020, 6, 2)), said(B, DONE, D(2020, 7, 3))]
    partly = judge(D(2020, 6, 30), [A, B], one, TODAY)
    assert (partly.reported, partly.percent, partly.done_by) == (IN_PROGRESS, 75, frozenset({A}))
    whole = judge(D(2020, 6, 30), [A, B], both, D(2020, 7, 5))
    # Done on the day the last lead said so: after the end date.
    assert (whole.reported, whole.done_on, whole.timing) == (DONE, D(2020, 7, 3), LATE)


def test_a_co_led_task_can_be_done_when_any_lead_said_so():
    words = [said(A, DONE, D(2020, 6, 2))]
    standing = judge(D(2020, 6, 30), [A, B], words, TODAY, rule=ANY_LEAD)
    assert (standing.reported, standing.timing) == (DONE, ON_TIME)


def test_a_co_lead_that_reported_done_is_done_for_itself_while_the_other_is_not():
    words = [said(A, DONE, D(2020, 6, 2))]
    task = judge(D(2020, 6, 30), [A, B], words, TODAY)
    mine = agency_view(task, D(2020, 6, 30), A, [A, B], words, TODAY)
    theirs = agency_view(task, D(2020, 6, 30), B, [A, B], words, TODAY)
    assert (mine.reported, mine.timing) == (DONE, ON_TIME)
    assert (theirs.reported, theirs.timing) == (NOT_REPORTED, NOT_DUE)
    assert task.reported == IN_PROGRESS


def test_a_blocked_lead_makes_the_co_led_task_blocked():
    words = [said(A, DONE), said(B, BLOCKED)]
    assert judge(D(2020, 6, 30), [A, B], words, TODAY).reported == BLOCKED


def test_the_agencies_answering_for_a_task_are_its_section_agency_and_its_leads():
    assert responsible(C, [A, B]) == [C, A, B]
    assert responsible(C, []) == [C]
    assert responsible(None, []) == []


def test_average_progress_counts_what_nobody_reported_as_nothing():
    standings = [judge(None, [A], [said(A, DONE)], TODAY), judge(None, [A], [], TODAY)]
    assert average(standings) == 50
    assert average([]) is None
