"""A small world for the reminder tests: the default plan, one focal point per agency, a coordinator,
and an engine built from the real parts on a clock the test moves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from bot.app import App
from bot.config import Config
from bot.reminders import Engine, build_engine
from scheduler.clock import ManualClock
from storage.models.people import COORDINATOR, Member
from storage.models.plan import LEAD, Agency, Plan, Section, Task, TaskAgency
from tests.factories import make_agency, make_member, make_plan
from tests.recording_transport import RecordingTransport

HANOI = dt.timezone(dt.timedelta(hours=7))


def hanoi(year: int, month: int, day: int, hour: int = 8, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=HANOI)


@dataclass
class World:
    plan: Plan
    agencies: dict[str, Agency]  # by short label: "tttt", "dulich", "ngoaivu"
    tasks: dict[str, Task]
    focal: dict[str, Member]  # by the same labels
    coordinator: Member


LABELS = {"Sở Thông tin và Truyền thông": "tttt", "Sở Du lịch": "dulich", "Sở Ngoại vụ": "ngoaivu"}


async def build_world(db, *, deadlines=("2020-06-20", "2020-11-20"), platform: str = "console") -> World:
    async with db.transaction() as session:
        built = await make_plan(session, deadlines=deadlines)
        agencies = {LABELS[name]: agency for name, agency in built.agencies.items()}
        focal = {
            label: await make_member(session, f"focal-{label}", agency=agency, platform=platform)
            for label, agency in agencies.items()
        }
        coordinator = await make_member(session, "coordinator", role=COORDINATOR, platform=platform)
    return World(built.plan, agencies, built.tasks, focal, coordinator)


@pytest.fixture
async def world(db) -> World:
    return await build_world(db)


def manual_sleep(clock: ManualClock):
    """Waiting on a manual clock moves it: the test sees when each send would have happened."""

    async def sleep_until(when: dt.datetime) -> None:
        if clock.now() < when:
            clock.set(when)

    return sleep_until


def make_engine(db, clock, transports, config: Config | None = None) -> Engine:
    app = App(config=config or Config(), db=db, clock=clock)
    return build_engine(app, {t.platform: t for t in transports}, sleep_until=manual_sleep(clock))


@pytest.fixture
def transport(clock) -> RecordingTransport:
    return RecordingTransport(clock)


async def build_crowd(db, agencies: int, *, platform: str = "console") -> list[Member]:
    """A plan of one section whose tasks each have their own lead agency, one focal point per agency
    (more agencies than a Roman-numbered appendix has sections)."""
    async with db.transaction() as session:
        plan = Plan(
            number="87/KH-UBND", year=2020, title="", reporting_deadlines=["2020-06-20", "2020-11-20"]
        )
        session.add(plan)
        await session.flush()
        section = Section(plan_id=plan.id, numeral="I", position=1, heading="CÁC QUẬN, HUYỆN")
        session.add(section)
        await session.flush()
        members = []
        for n in range(1, agencies + 1):
            agency = await make_agency(session, f"Ủy ban nhân dân quận {n}")
            task = Task(
                plan_id=plan.id,
                section_id=section.id,
                number=n,
                code=f"I.{n}",
                content=f"Nhiệm vụ số {n}",
                end_on=dt.date(2020, 12, 31),
            )
            session.add(task)
            await session.flush()
            session.add(TaskAgency(task_id=task.id, agency_id=agency.id, role=LEAD))
            members.append(
                await make_member(
                    session, f"focal-{n}", agency=agency, platform=platform, user_id=str(1000 + n)
                )
            )
        return members
