"""Where a task stands: the one place that decides it.

Two facts per task, never merged into one label:

- **What was reported** (`reported`): not reported / not started / in progress (with %) / done /
  blocked, with the note. It is what the agencies said, nothing inferred.
- **Timing** (`timing`) against the task's end date: on time / late (done, before or after the end
  date), overdue (not done, end date passed), not due (not done, end date still ahead), no end date.
  A task without an end date ("chưa xác định ngày") is never overdue.

**Done.** A task has lead agencies (the lead cell, or its section's agency when the cell names none).
With one lead, the task's word is the latest update anyone recorded on it. With several, each lead
speaks for itself: the task is done *for an agency* when that agency's latest update says done, and
*done* when every lead has said so (`ALL_LEADS`, the default) or when any has (`ANY_LEAD`,
`[report] co_lead_done = "any"`). The day it became done is the day the deciding lead reported it.

Everything that needs "is this task done?" — the summary and every report drawn from it, the task
list in chat, the reminder calendar — calls `judge` (or `agency_view` for one agency's side).

**In SQL, for counting.** A province's plan has tens of thousands of tasks, too many to judge one by
one in Python for an overview. The one-lead branch of `judge` — where every agency that answers for
the task stands as the task does — is also stated below as SQL expressions (`reported_sql`,
`progress_sql`, `timing_sql`), which `storage.summary_sql` uses to count those tasks inside the
database. Co-led tasks are judged only here. The SQL is checked against `judge`, not generated from
it: tests/storage/test_summary_sql.py builds random plans and requires the counted figures to equal
the judged ones; change one side, and that test tells you the other must follow.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import case, func

from storage.models.people import BLOCKED, DONE, IN_PROGRESS, NOT_STARTED

NOT_REPORTED = "not_reported"
# In the order a coordinator reads them: what needs attention first.
REPORTED = (BLOCKED, IN_PROGRESS, NOT_STARTED, NOT_REPORTED, DONE)

ON_TIME = "on_time"
LATE = "late"
OVERDUE = "overdue"
NOT_DUE = "not_due"
NO_DEADLINE = "no_deadline"
TIMINGS = (OVERDUE, NOT_DUE, NO_DEADLINE, LATE, ON_TIME)

ALL_LEADS = "all"
ANY_LEAD = "any"
CO_LEAD_RULES = (ALL_LEADS, ANY_LEAD)


@dataclass(frozen=True, slots=True)
class Word:
    """One agency's latest update on a task."""

    agency_id: int
    status: str
    percent: int | None
    done_on: dt.date | None  # local day it was recorded, when it says done
    order: tuple  # sorts the words of one task oldest to newest (cycle, id) or (created_at, id)


@dataclass(frozen=True, slots=True)
class Standing:
    """A task's two facts, and what they rest on."""

    reported: str
    percent: int | None  # 100 when done; the reported % otherwise (mean of the leads' when co-led)
    timing: str
    done_on: dt.date | None
    done_by: frozenset[int]  # leads whose own latest update says done

    @property
    def done(self) -> bool:
        return self.reported == DONE

    @property
    def needs_attention(self) -> bool:
        return self.reported == BLOCKED or self.timing == OVERDUE

    @property
    def progress(self) -> int:
        """The share done, for averages: what was reported, 0 when nothing was."""
        return self.percent if self.percent is not None else 0


def timing(end_on: dt.date | None, done_on: dt.date | None, as_of: dt.date) -> str:
    """The timing rule, first that applies: no end date; done by the end date; done after it;
    end date before `as_of` (the day the summary looks from); otherwise not yet due."""
    if end_on is None:
        return NO_DEADLINE
    if done_on is not None:
        return ON_TIME if done_on <= end_on else LATE
    if end_on < as_of:
        return OVERDUE
    return NOT_DUE


def word_percent(word: Word) -> int | None:
    if word.status == DONE:
        return 100
    if word.status == NOT_STARTED:
        return 0 if word.percent is None else word.percent
    return word.percent


def judge(
    end_on: dt.date | None,
    leads: Sequence[int],
    words: Iterable[Word],
    as_of: dt.date,
    *,
    rule: str = ALL_LEADS,
) -> Standing:
    """A task's standing from each agency's latest update on it (`words`, any order)."""
    words = sorted(words, key=lambda word: word.order)
    if not words:
        return Standing(NOT_REPORTED, None, timing(end_on, None, as_of), None, frozenset())
    if len(leads) <= 1:
        latest = words[-1]
        done_on = latest.done_on if latest.status == DONE else None
        done_by = frozenset(leads) if done_on is not None else frozenset()
        reported = latest.status
        return Standing(reported, word_percent(latest), timing(end_on, done_on, as_of), done_on, done_by)
    by_lead = {word.agency_id: word for word in words if word.agency_id in leads}
    done_days = {key: word.done_on for key, word in by_lead.items() if word.status == DONE}
    done_by = frozenset(done_days)
    if rule == ANY_LEAD and done_days:
        done_on = min(done_days.values())
    elif rule == ALL_LEADS and len(done_days) == len(set(leads)):
        done_on = max(done_days.values())
    else:
        done_on = None
    percents = [word_percent(by_lead[key]) if key in by_lead else None for key in dict.fromkeys(leads)]
    known = [p for p in percents if p is not None]
    percent = round(sum(p or 0 for p in percents) / len(percents)) if known else None
    if done_on is not None:
        reported, percent = DONE, 100
    elif any(word.status == BLOCKED for word in by_lead.values()):
        reported = BLOCKED
    elif any(word.status in (IN_PROGRESS, DONE) for word in by_lead.values()):
        reported = IN_PROGRESS
    elif by_lead:
        reported = NOT_STARTED
    else:
        # Only agencies that are not leads have spoken (a section's own agency, say): their word
        # stands for the task until a lead reports.
        latest = words[-1]
        reported, percent = (IN_PROGRESS if latest.status == DONE else latest.status), word_percent(latest)
    return Standing(reported, percent, timing(end_on, done_on, as_of), done_on, done_by)


def agency_view(
    standing: Standing,
    end_on: dt.date | None,
    agency_id: int,
    leads: Sequence[int],
    words: Iterable[Word],
    as_of: dt.date,
) -> Standing:
    """The task as one agency answers for it: a co-lead's own word (done for it once it said
    done, whatever the others said); the task's standing for anyone else."""
    if len(leads) <= 1 or agency_id not in leads:
        return standing
    own = [word for word in words if word.agency_id == agency_id]
    if not own:
        if standing.done:
            return standing
        return Standing(NOT_REPORTED, None, timing(end_on, None, as_of), None, standing.done_by)
    word = max(own, key=lambda item: item.order)
    done_on = word.done_on if word.status == DONE else (standing.done_on if standing.done else None)
    reported = DONE if done_on is not None else word.status
    percent = 100 if done_on is not None else word_percent(word)
    return Standing(reported, percent, timing(end_on, done_on, as_of), done_on, standing.done_by)


def average(standings: Iterable[Standing]) -> float | None:
    """Mean progress in percent (None for no task)."""
    values = [standing.progress for standing in standings]
    return sum(values) / len(values) if values else None


def responsible(section_agency_id: int | None, lead_ids: Sequence[int]) -> list[int]:
    """The agencies that answer for a task, in the order the chat numbers them: its section's agency
    (the appendix lists a department's work under it) and its leads. The same rule as
    `storage.assignments`, so `/nhiemvu` and `/tonghop` count the same tasks for an agency."""
    leads = leads_of(section_agency_id, lead_ids)
    first = [section_agency_id] if section_agency_id is not None else []
    return list(dict.fromkeys([*first, *leads]))


def leads_of(section_agency_id: int | None, lead_ids: Sequence[int]) -> list[int]:
    """The task's lead agencies: its lead cell, or its section's agency when the cell named none."""
    if lead_ids:
        return list(dict.fromkeys(lead_ids))
    return [section_agency_id] if section_agency_id is not None else []


# ---------------------------------------------------------------- the one-lead rules in SQL


def reported_sql(status):
    """What was reported, from the latest word's status (NULL when nobody spoke)."""
    return func.coalesce(status, NOT_REPORTED)


def progress_sql(status, percent):
    """`Standing.progress` of the latest word: 100 when done, the % reported, 0 when none."""
    return case((status == DONE, 100), else_=func.coalesce(percent, 0))


def timing_sql(end_on, status, done_by_end, as_of: dt.date):
    """`timing` of the latest word: `done_by_end` is true when the update was recorded no later
    than the end date's local day (the caller knows the time zone)."""
    return case(
        (end_on.is_(None), NO_DEADLINE),
        (status == DONE, case((done_by_end, ON_TIME), else_=LATE)),
        (end_on < as_of, OVERDUE),
        else_=NOT_DUE,
    )
