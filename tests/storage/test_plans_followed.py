"""Which plans a chat message reads: every plan active that day, not every plan kept for years."""

from __future__ import annotations

import datetime as dt
import itertools

from storage.assignments import all_plans, plans_maybe_active
from storage.models.plan import AUTO, CLOSED, KEPT_OPEN, Plan
from storage.plans import lifecycle

# (start year, year, end year, last deadline) of plans as the importer stores them: one-year plans,
# a plan over 2019–2021, one whose last deadline falls in the year after its own, one with none.
SHAPES = [
    (2018, 2018, 2018, dt.date(2018, 11, 20)),
    (2020, 2020, 2020, dt.date(2020, 11, 20)),
    (2020, 2020, 2020, dt.date(2021, 3, 31)),
    (2019, 2019, 2021, dt.date(2021, 6, 30)),
    (2021, 2021, 2021, None),
]
DAYS = [dt.date(2018, 6, 1), dt.date(2020, 12, 25), dt.date(2021, 1, 15), dt.date(2021, 5, 1)]
DAYS += [dt.date(2022, 1, 20), dt.date(2022, 2, 15), dt.date(2023, 6, 1), dt.date(2030, 1, 1)]


def extra_deadlines(plan: Plan, month_days: tuple[str, ...]) -> list[dt.date]:
    return [dt.date.fromisoformat(f"{year}-{md}") for year in plan.years for md in month_days]


async def test_the_plans_read_hold_every_active_plan_and_leave_out_the_long_ended(db):
    async with db.transaction() as session:
        for n, ((start, year, end, last), state) in enumerate(
            itertools.product(SHAPES, (AUTO, CLOSED, KEPT_OPEN))
        ):
            session.add(
                Plan(
                    number=f"{n + 1}/KH-UBND",
                    year=year,
                    start_year=start,
                    end_year=end,
                    last_deadline=last,
                    lifecycle=state,
                    reporting_deadlines=[],
                )
            )
    left_out = set()
    for today, grace, month_days in itertools.product(DAYS, (0, 30, 400), ((), ("12-31",), ("01-15",))):
        async with db.snapshot() as session:
            read = await plans_maybe_active(session, today=today, grace_days=grace)
            plans = await all_plans(session)
        active = {
            plan.number
            for plan in plans
            if lifecycle.plan_status(plan, today, grace_days=grace, extra=extra_deadlines(plan, month_days))
            == lifecycle.ACTIVE
        }
        numbers = [plan.number for plan in read]
        assert active <= set(numbers), (today, grace, month_days)
        assert all(plan.lifecycle != CLOSED for plan in read)
        # Most recent first, as every list of plans is.
        assert numbers == [plan.number for plan in plans if plan.number in numbers]
        left_out |= {(today, grace, p.number) for p in plans if p.number not in numbers}
    # What it is for: in 2023 the plans of 2018–2021 left to end by their dates are not read.
    ended_by_their_dates = {f"{n + 1}/KH-UBND" for n in range(0, 15, 3)}
    assert {(dt.date(2023, 6, 1), 30, number) for number in ended_by_their_dates} <= left_out
