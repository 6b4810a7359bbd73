"""A province's overview details only what its page shows: the tasks on the page of tasks and the
agencies' on the page of agencies. Whatever the filters and pages, it must show exactly what it
showed when it detailed every task needing attention."""

from __future__ import annotations

from lxml import html
from sqlalchemy import select

from bot.web import pages
from storage.models import Agency, Section
from tests.bot.web.conftest import signed_in
from tests.storage.test_summary_sql import random_world

QUERIES = [
    "",
    "?page=2",
    "?apage=2",
    "?page=2&apage=3",
    "?overdue=1",
    "?overdue=1&apage=2",
    "?reported=blocked",
    "?reported=not_reported&timing=overdue",
    "?timing=not_due&page=2",
    "?missing=1",
    "?q=thu nghiem 3",
    "?agency={agency}",
    "?agency={agency}&overdue=1",
    "?agency={agency}&reported=done&apage=2",
    "?section={section}",
    "?section={section}&reported=blocked&q=so",
]


def main_of(body: str) -> str:
    return html.tostring(html.fromstring(body).xpath("//main")[0], encoding="unicode")


def task_codes(body: str) -> list[str]:
    return [
        link.text_content()
        for link in html.fromstring(body).xpath('//table[contains(@class, "tasks")]/tbody/tr/th/a')
    ]


def chips(body: str) -> list[str]:
    return [
        link.text_content() for link in html.fromstring(body).xpath('//table[@class="matrix"]//a[@class]')
    ]


async def test_a_large_overview_shows_what_it_showed_detailing_every_task(
    coordinator, browsers, db, app, monkeypatch
):
    plan_ids = await random_world(db, 7)
    async with db.snapshot() as session:
        agency = await session.scalar(select(Agency.id).where(Agency.name == "Sở thử nghiệm 4"))
        section = await session.scalar(
            select(Section.id).where(Section.plan_id == plan_ids[1]).order_by(Section.position)
        )
    app.config.web.agencies_per_page = 2
    monkeypatch.setattr(pages, "TASKS_PER_PAGE", 3)
    monkeypatch.setattr(pages, "LARGE_PLAN_TASKS", 0)
    browser = await signed_in(coordinator, browsers())
    urls = [
        f"/plans/{plan_id}{query.format(agency=agency, section=section)}"
        for plan_id in plan_ids
        for query in QUERIES
    ]

    picked = [(await browser.get(url))[1] for url in urls]
    choose = pages._Layout.pick

    def every_candidate(layout, refs, agencies):
        choose(layout, refs, agencies)
        return {ref.id for ref in refs}

    monkeypatch.setattr(pages._Layout, "pick", every_candidate)
    whole = [(await browser.get(url))[1] for url in urls]

    # The world has something to show: tasks on the first pages, chips in the agency table.
    assert task_codes(picked[0]) and chips(picked[0]) and task_codes(picked[len(QUERIES)])
    for url, mine, theirs in zip(urls, picked, whole, strict=True):
        assert main_of(mine) == main_of(theirs), url
