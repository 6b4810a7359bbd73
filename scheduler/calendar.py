"""The deadline calendar: Vietnamese working days and the deadlines a plan sets.

Everything here is a pure function of its arguments. Days are local calendar days in the plan's
time zone; turning a local day and time into a stored UTC instant happens in `local_instant`, the one
boundary between the two.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import holidays

from storage.models.reminders import QUARTER, REPORT, TASK

_SATURDAY = 5

# Far enough for the longest run of days off in Vietnam (Tết with its bridge days is about nine),
# short enough that a misconfigured calendar with no working days fails loudly instead of looping.
_MAX_DAYS_OFF_IN_A_ROW = 60


_VIETNAM = "holidays.countries.vietnam"


@cache
def _vietnam() -> type[holidays.HolidayBase]:
    """The holidays package's Vietnamese calendar, without the other countries'.

    However it is asked for (`holidays.country_holidays("VN")`, `import holidays.countries.vietnam`),
    Python first runs the `holidays.countries` package, which imports every country the library
    knows (some 250 modules: 8 MB and a tenth of a second of CPU in a process that needs one). The
    module is loaded from its own file instead, under its own name, so that whoever imports it
    later, the package included, gets this one. Should a release move the file, the ordinary way
    still works."""
    if _VIETNAM not in sys.modules:
        path = Path(holidays.__file__).parent / "countries" / "vietnam.py"
        if not path.is_file():
            return type(holidays.country_holidays("VN"))
        spec = importlib.util.spec_from_file_location(_VIETNAM, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[_VIETNAM] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[_VIETNAM]
            raise
    return sys.modules[_VIETNAM].Vietnam


class CalendarError(ValueError):
    """The configured calendar has no working day where one is needed."""


class WorkingCalendar:
    """Working days in Vietnam: Monday to Friday except public holidays (Tết included), plus the
    Saturdays the government moves work to (make-up days), with the days off and make-up working
    days a deployment adds in its configuration on top."""

    def __init__(self, extra_days_off: Iterable[dt.date] = (), extra_working_days: Iterable[dt.date] = ()):
        self.extra_days_off = frozenset(extra_days_off)
        self.extra_working_days = frozenset(extra_working_days)
        overlap = self.extra_days_off & self.extra_working_days
        if overlap:
            days = ", ".join(sorted(d.isoformat() for d in overlap))
            raise CalendarError(f"a day cannot be both an extra day off and an extra working day: {days}")
        self._years: dict[int, holidays.HolidayBase] = {}
        self._cache: dict[dt.date, bool] = {}

    def _public_holidays(self, year: int) -> holidays.HolidayBase:
        if year not in self._years:
            self._years[year] = _vietnam()(years=year)
        return self._years[year]

    def holiday_name(self, day: dt.date) -> str | None:
        return self._public_holidays(day.year).get(day)

    def is_working_day(self, day: dt.date) -> bool:
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        if day in self.extra_working_days:
            working = True
        elif day in self.extra_days_off:
            working = False
        else:
            public = self._public_holidays(day.year)
            if day in public:
                working = False
            elif day.weekday() >= _SATURDAY:
                # The holidays package knows the weekend days decreed as make-up working days.
                working = day in public.weekend_workdays
            else:
                working = True
        self._cache[day] = working
        return working

    def previous_working_day(self, day: dt.date) -> dt.date:
        """`day` itself when it is a working day, else the closest working day before it."""
        for back in range(_MAX_DAYS_OFF_IN_A_ROW + 1):
            candidate = day - dt.timedelta(days=back)
            if self.is_working_day(candidate):
                return candidate
        raise CalendarError(f"no working day in the {_MAX_DAYS_OFF_IN_A_ROW} days up to {day.isoformat()}")

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """The `count`-th working day after `day` (`day` itself not counted)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        candidate = day
        found = 0
        gap = 0
        while found < count:
            candidate += dt.timedelta(days=1)
            if self.is_working_day(candidate):
                found += 1
                gap = 0
            else:
                gap += 1
                if gap > _MAX_DAYS_OFF_IN_A_ROW:
                    raise CalendarError(f"no working day in the {gap} days after {day.isoformat()}")
        return candidate


def local_instant(day: dt.date, at: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The UTC instant of wall-clock time `at` on local `day`: computed local, stored UTC."""
    return dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC)


def local_day(instant: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return instant.astimezone(tz).date()


def quarter_ends(year: int) -> list[dt.date]:
    return [dt.date(year, 3, 31), dt.date(year, 6, 30), dt.date(year, 9, 30), dt.date(year, 12, 31)]


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


@dataclass(frozen=True)
class PlanTask:
    """What the calendar needs to know of one task."""

    id: int
    code: str  # "IV.3"
    content: str
    end_on: dt.date | None
    lead_agency_ids: tuple[int, ...]
    done: bool = False
    start_on: dt.date | None = None
    done_by: frozenset[int] = frozenset()  # leads that reported it done (storage.progress_rules)

    def under_way_by(self, day: dt.date) -> bool:
        """Whether the task's timeframe has begun by `day` (a "Quý IV" task owes nothing in June)."""
        return self.start_on is None or self.start_on <= day


@dataclass(frozen=True)
class PlanFacts:
    """A plan as the calendar sees it: its reporting deadlines and its tasks."""

    id: int
    number: str  # "87/KH-UBND"
    year: int
    reporting_deadlines: tuple[dt.date, ...]
    tasks: tuple[PlanTask, ...]
    # The years it covers and what its lifecycle needs (storage.plans.lifecycle.plan_status).
    end_year: int = 0
    last_deadline: dt.date | None = None
    lifecycle: str = "auto"
    lifecycle_changed_at: dt.datetime | None = None

    @property
    def years(self) -> range:
        return range(self.year, max(self.end_year, self.year) + 1)

    @cached_property
    def lead_agency_ids(self) -> tuple[int, ...]:
        """Every agency leading a task: who is expected to report for the plan as a whole."""
        seen: dict[int, None] = {}
        for task in self.tasks:
            for agency_id in task.lead_agency_ids:
                seen.setdefault(agency_id)
        return tuple(seen)

    @cached_property
    def tasks_by_id(self) -> dict[int, PlanTask]:
        return {task.id: task for task in self.tasks}

    @cached_property
    def tasks_led_by(self) -> dict[int, tuple[PlanTask, ...]]:
        found: dict[int, list[PlanTask]] = {}
        for task in self.tasks:
            for agency_id in task.lead_agency_ids:
                found.setdefault(agency_id, []).append(task)
        return {agency_id: tuple(tasks) for agency_id, tasks in found.items()}


@dataclass(frozen=True)
class Deadline:
    """One date something is due. For a task deadline, `task` is the task; else None."""

    plan_id: int
    day: dt.date
    kind: str  # report | quarter | task
    task: PlanTask | None = field(default=None, compare=False)
    task_id: int | None = None

    @property
    def task_code(self) -> str | None:
        return self.task.code if self.task else None


def extra_deadlines(years: int | Iterable[int], month_days: Iterable[str]) -> list[dt.date]:
    """Configured extra reporting deadlines ("MM-DD") as dates in each year the plan covers."""
    years = [years] if isinstance(years, int) else list(years)
    month_days = list(month_days)
    return [dt.date.fromisoformat(f"{year:04d}-{value}") for year in years for value in month_days]


def plan_deadlines(
    plan: PlanFacts, *, extra_reporting: Iterable[str] = (), merge_window: dt.timedelta = dt.timedelta(0)
) -> list[Deadline]:
    """Every deadline of a plan, in date order: its reporting deadlines (with configured extras),
    each quarter end of the years it covers (a quarterly check-in) unless a reporting deadline lies
    within `merge_window` of it (that deadline's reminders cover it), and the end of each task not yet
    done."""
    reporting = sorted({*plan.reporting_deadlines, *extra_deadlines(plan.years, extra_reporting)})
    deadlines = [Deadline(plan.id, day, REPORT) for day in reporting]
    deadlines += [
        Deadline(plan.id, day, QUARTER)
        for year in plan.years
        for day in quarter_ends(year)
        if not (merge_window and any(abs(day - report) <= merge_window for report in reporting))
    ]
    deadlines += [
        Deadline(plan.id, task.end_on, TASK, task=task, task_id=task.id)
        for task in plan.tasks
        if task.end_on is not None and not task.done
    ]
    order = {REPORT: 0, QUARTER: 1, TASK: 2}
    return sorted(deadlines, key=lambda d: (d.day, order[d.kind], d.task_code or ""))


def expected_agencies(plan: PlanFacts, deadline: Deadline) -> tuple[int, ...]:
    """Who must report for a deadline: every lead agency of the plan for a reporting deadline or a
    quarter end, the task's lead agencies for a task deadline — less a co-lead that already reported
    the task done (storage.progress_rules)."""
    if deadline.kind == TASK:
        if deadline.task is None:
            return ()
        return tuple(a for a in deadline.task.lead_agency_ids if a not in deadline.task.done_by)
    return plan.lead_agency_ids
