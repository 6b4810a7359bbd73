"""Small builders for the rows tests need: agencies, plans, members, invites.

Each takes a session and flushes, never commits; the test owns the unit of work.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.people import ACTIVE, FOCAL, Identity, Member, ProgressUpdate
from storage.models.plan import COORDINATING, LEAD, Agency, AgencyAlias, Plan, Section, Task, TaskAgency
from storage.text import fold

NOW = dt.datetime(2020, 6, 1, 1, 0, tzinfo=dt.UTC)


async def make_agency(
    session: AsyncSession, name: str, *, short_name: str | None = None, aliases: tuple[str, ...] = ()
) -> Agency:
    agency = Agency(name=name, short_name=short_name, key=fold(name), created_at=NOW)
    session.add(agency)
    await session.flush()
    for alias in (*aliases, *([short_name] if short_name else [])):
        session.add(AgencyAlias(agency_id=agency.id, alias=alias, key=fold(alias)))
    await session.flush()
    return agency


@dataclass
class SectionSpec:
    """One appendix section: its agency and its task rows (content, timeframe, end date)."""

    agency: str
    tasks: list[str | tuple[str, str, dt.date | None]]
    short_name: str | None = None
    coordinating: list[str] = field(default_factory=list)


@dataclass
class BuiltPlan:
    plan: Plan
    agencies: dict[str, Agency]
    tasks: dict[str, Task]  # by code, "II.3"


def roman(number: int) -> str:
    """1 → 'I', 14 → 'XIV', 60 → 'LX': section numerals as plans write them."""
    numerals = [
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ]
    text = ""
    for value, letters in numerals:
        while number >= value:
            text += letters
            number -= value
    return text


DEFAULT_SECTIONS = [
    SectionSpec(
        "Sở Thông tin và Truyền thông",
        [
            "Tuyên truyền đối ngoại trên kênh truyền hình đối ngoại",
            "Theo dõi dư luận báo chí nước ngoài về Thành phố",
            ("Tổ chức đoàn công tác trao đổi kinh nghiệm", "Quý IV/2020", dt.date(2020, 12, 31)),
        ],
        short_name="Sở TTTT",
    ),
    SectionSpec(
        "Sở Du lịch",
        [
            "Quảng bá du lịch Thủ đô trên kênh quốc tế",
            "Lắp đặt biển chỉ dẫn du lịch tại các quận",
            "Đón đoàn khảo sát sản phẩm du lịch",
        ],
        coordinating=["Sở Thông tin và Truyền thông"],
    ),
    SectionSpec(
        "Sở Ngoại vụ",
        [
            "Xuất bản đặc san song ngữ đối ngoại",
            "Hỗ trợ tuyên truyền trên báo Trung ương",
        ],
    ),
]


async def make_plan(
    session: AsyncSession,
    sections: list[SectionSpec] | None = None,
    *,
    number: str = "87/KH-UBND",
    year: int = 2020,
    deadlines: tuple[str, ...] = ("2020-06-20", "2020-11-20"),
) -> BuiltPlan:
    """A plan shaped like the reference one: Roman-numbered sections, one agency each."""
    sections = DEFAULT_SECTIONS if sections is None else sections
    plan = Plan(
        number=number,
        issued=dt.date(year, 4, 24),
        title="Kế hoạch tổ chức các hoạt động thông tin đối ngoại",
        year=year,
        reporting_deadlines=list(deadlines),
        imported_at=NOW,
    )
    session.add(plan)
    await session.flush()
    agencies: dict[str, Agency] = {}
    tasks: dict[str, Task] = {}

    async def agency_named(name: str, short_name: str | None = None) -> Agency:
        if name not in agencies:
            # A second plan names the same agencies: they are one registry, as the importer keeps it.
            existing = await session.scalar(select(Agency).where(Agency.key == fold(name)))
            agencies[name] = existing or await make_agency(session, name, short_name=short_name)
        return agencies[name]

    for position, spec in enumerate(sections, start=1):
        owner = await agency_named(spec.agency, spec.short_name)
        numeral = roman(position)
        section = Section(
            plan_id=plan.id,
            numeral=numeral,
            position=position,
            heading=spec.agency.upper(),
            agency_id=owner.id,
        )
        session.add(section)
        await session.flush()
        for number_in_section, row in enumerate(spec.tasks, start=1):
            content, timeframe, end_on = (
                (row, "Cả năm", dt.date(year, 12, 31)) if isinstance(row, str) else row
            )
            task = Task(
                plan_id=plan.id,
                section_id=section.id,
                number=number_in_section,
                code=f"{numeral}.{number_in_section}",
                content=content,
                timeframe_text=timeframe,
                start_on=dt.date(year, 1, 1),
                end_on=end_on,
                lead_text=spec.agency,
                coordinating_text=", ".join(spec.coordinating),
                responsible=f"Giám đốc {spec.agency}",
            )
            session.add(task)
            await session.flush()
            session.add(TaskAgency(task_id=task.id, agency_id=owner.id, role=LEAD, position=0))
            for index, name in enumerate(spec.coordinating, start=1):
                other = await agency_named(name)
                session.add(
                    TaskAgency(task_id=task.id, agency_id=other.id, role=COORDINATING, position=index)
                )
            tasks[task.code] = task
    await session.flush()
    return BuiltPlan(plan=plan, agencies=agencies, tasks=tasks)


async def make_member(
    session: AsyncSession,
    name: str,
    *,
    role: str = FOCAL,
    agency: Agency | None = None,
    platform: str = "console",
    user_id: str | None = None,
    language: str = "vi",
    status: str = ACTIVE,
) -> Member:
    """A member with one identity on `platform`, whose user and chat id default to `name`."""
    member = Member(
        name=name,
        role=role,
        agency_id=agency.id if agency else None,
        status=status,
        language=language,
        preferred_platform=platform,
        created_at=NOW,
    )
    session.add(member)
    await session.flush()
    external = user_id or name
    session.add(
        Identity(
            member_id=member.id, platform=platform, external_id=external, chat_id=external, created_at=NOW
        )
    )
    await session.flush()
    await session.refresh(member, ["identities"])
    return member


async def make_earlier_plans(session: AsyncSession, count: int) -> None:
    """A department's plans of earlier years (2019 back to 2010, `n/KH-UBND` numbered from 1): ended
    by their dates, one in four closed by hand."""
    for n in range(count):
        year = 2019 - n % 10
        session.add(
            Plan(
                number=f"{n + 1}/KH-UBND",
                year=year,
                reporting_deadlines=[f"{year}-06-20", f"{year}-11-20"],
                last_deadline=dt.date(year, 11, 20),
                lifecycle="closed" if n % 4 == 0 else "auto",
            )
        )
    await session.flush()


async def make_plan_with_focal(
    session: AsyncSession,
    name: str,
    *,
    platform: str = "console",
    user_id: str | None = None,
    language: str = "en",
    status: str = ACTIVE,
) -> BuiltPlan:
    """The reference plan with `name` as focal point for Sở Du lịch, the set-up most chat tests start from."""
    built = await make_plan(session)
    await make_member(
        session,
        name,
        agency=built.agencies["Sở Du lịch"],
        platform=platform,
        user_id=user_id,
        language=language,
        status=status,
    )
    return built


async def make_update(
    session: AsyncSession,
    task: Task,
    *,
    agency: Agency,
    cycle: dt.date,
    at: dt.datetime,
    status: str = "in_progress",
    member: Member | None = None,
    note: str = "",
    percent: int | None = None,
    evidence: str | None = None,
) -> ProgressUpdate:
    """A progress update on `task` for `agency`, counted towards `cycle`, stored at `at`."""
    update = ProgressUpdate(
        task_id=task.id,
        agency_id=agency.id,
        member_id=member.id if member else None,
        status=status,
        note=note,
        percent=percent,
        evidence=evidence,
        cycle=cycle,
        created_at=at,
    )
    session.add(update)
    await session.flush()
    return update
