"""A province's plan on the overview: agencies and tasks a page at a time, the filters kept across
pages, an agency search instead of a picker of thousands, and the Plans list's figures."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import html

from bot.web import pages
from tests.bot.web.conftest import signed_in
from tests.factories import SectionSpec, make_plan, make_update, roman

CYCLE = dt.date(2020, 6, 20)


def agency_rows(body: str) -> list[str]:
    """The agency table's row headers, as the page shows them."""
    return [
        cell.text_content().strip()
        for cell in html.fromstring(body).xpath('//table[@class="matrix"]/tbody/tr/th')
    ]


def task_codes(body: str) -> list[str]:
    return [
        link.text_content()
        for link in html.fromstring(body).xpath('//table[contains(@class, "tasks")]/tbody/tr/th/a')
    ]


def page_links(body: str, label: str) -> dict[str, str]:
    """The page links under a table: their text, and where they lead."""
    tree = html.fromstring(body)
    found = tree.xpath(f'//nav[@aria-label="{label}"]//a')
    return {link.text_content(): link.get("href") for link in found}


def picker(body: str, name: str) -> list[str]:
    tree = html.fromstring(body)
    return [option.text_content() for option in tree.xpath(f'//select[@name="{name}"]/option')][1:]


@pytest.fixture
async def province(db, app):
    """A plan of 25 agencies, "Sở số 1" to "Sở số 25", one task each, ten agencies a page; the
    first five have reported."""
    app.config.web.agencies_per_page = 10
    async with db.transaction() as session:
        built = await make_plan(
            session,
            [SectionSpec(f"Sở số {n}", [f"Nhiệm vụ của sở số {n}"]) for n in range(1, 26)],
            number="90/KH-UBND",
        )
        for n in range(1, 6):
            await make_update(
                session,
                built.tasks[f"{roman(n)}.1"],
                agency=built.agencies[f"Sở số {n}"],
                cycle=CYCLE,
                at=dt.datetime(2020, 5, 30, 2, 0, tzinfo=dt.UTC),
            )
    return built


async def test_the_agency_table_shows_a_page_of_agencies_with_links_to_the_others(
    coordinator, browsers, province
):
    browser = await signed_in(coordinator, browsers())

    _status, first = await browser.get(f"/plans/{province.plan.id}")
    _status, last = await browser.get(f"/plans/{province.plan.id}?apage=3")

    assert agency_rows(first) == [f"Sở số {n}" for n in range(1, 11)]
    assert "Agencies 1–10 of 25" in first
    assert page_links(first, "Pages of agencies") == {
        "2": "?apage=2#agencies",
        "3": "?apage=3#agencies",
        "Next": "?apage=2#agencies",
    }
    assert agency_rows(last) == [f"Sở số {n}" for n in range(21, 26)]
    assert "Agencies 21–25 of 25" in last
    assert "Next" not in page_links(last, "Pages of agencies")


async def test_a_page_past_the_last_shows_the_last(coordinator, browsers, province):
    browser = await signed_in(coordinator, browsers())

    _status, body = await browser.get(f"/plans/{province.plan.id}?apage=99")

    assert agency_rows(body) == [f"Sở số {n}" for n in range(21, 26)]


async def test_page_links_keep_the_filters(coordinator, browsers, province):
    browser = await signed_in(coordinator, browsers())

    _status, first = await browser.get(f"/plans/{province.plan.id}?missing=1&reported=not_reported")
    links = page_links(first, "Pages of agencies")
    _status, second = await browser.get(f"/plans/{province.plan.id}{links['2']}")

    # Twenty agencies have not reported: two pages of them, the filters in every link.
    assert links == {
        "2": "?missing=1&reported=not_reported&apage=2#agencies",
        "Next": "?missing=1&reported=not_reported&apage=2#agencies",
    }
    assert agency_rows(first) == [f"Sở số {n}" for n in range(6, 16)]
    assert agency_rows(second) == [f"Sở số {n}" for n in range(16, 26)]
    assert 'name="missing" value="1" checked' in second


async def test_the_task_list_is_paged_and_its_links_keep_the_filters(
    coordinator, browsers, province, monkeypatch
):
    monkeypatch.setattr(pages, "TASKS_PER_PAGE", 10)
    browser = await signed_in(coordinator, browsers())

    _status, first = await browser.get(f"/plans/{province.plan.id}?reported=not_reported")
    links = page_links(first, "Pages of tasks")
    _status, second = await browser.get(f"/plans/{province.plan.id}{links['Next']}")

    assert "20 tasks" in first and "Tasks 1–10 of 20" in first
    assert links == {
        "2": "?reported=not_reported&page=2#tasks",
        "Next": "?reported=not_reported&page=2#tasks",
    }
    assert task_codes(first) == [f"{roman(n)}.1" for n in range(6, 16)]
    assert task_codes(second) == [f"{roman(n)}.1" for n in range(16, 26)]
    assert "Tasks 11–20 of 20" in second


async def test_the_agency_search_finds_names_without_diacritics(coordinator, browsers, province):
    browser = await signed_in(coordinator, browsers())

    _status, body = await browser.get(f"/plans/{province.plan.id}?q=so+so+2")
    _status, nothing = await browser.get(f"/plans/{province.plan.id}?q=bo+cong+an")

    # "Sở số 2" exactly first, then the names it begins; never "Sở số 12".
    expected = ["Sở số 2", "Sở số 20", "Sở số 21", "Sở số 22", "Sở số 23", "Sở số 24", "Sở số 25"]
    assert agency_rows(body) == expected
    assert 'name="q" value="so so 2"' in body
    assert agency_rows(nothing) == [] and "No agency matches these filters." in nothing


async def test_a_province_picker_lists_what_the_search_found_and_keeps_the_chosen(
    coordinator, browsers, province, monkeypatch
):
    monkeypatch.setattr(pages, "AGENCY_PICKER_LIMIT", 5)
    browser = await signed_in(coordinator, browsers())
    chosen = province.agencies["Sở số 17"].id
    chosen_section = province.tasks["XVIII.1"].section_id

    _status, plain = await browser.get(f"/plans/{province.plan.id}")
    _status, searched = await browser.get(
        f"/plans/{province.plan.id}?q=so+so+2&agency={chosen}&section={chosen_section}"
    )

    assert picker(plain, "agency") == [f"Sở số {n}" for n in range(1, 6)]
    assert "offer the first 5: type part of a name in Find agency" in plain
    assert picker(searched, "agency") == [
        "Sở số 17",
        "Sở số 2",
        "Sở số 20",
        "Sở số 21",
        "Sở số 22",
        "Sở số 23",
    ]
    assert f'<option value="{chosen}" selected>' in searched
    assert picker(plain, "section") == [f"{roman(n)}. SỞ SỐ {n}" for n in range(1, 6)]
    assert picker(searched, "section") == [
        "XVIII. SỞ SỐ 18",
        "II. SỞ SỐ 2",
        "XX. SỞ SỐ 20",
        "XXI. SỞ SỐ 21",
        "XXII. SỞ SỐ 22",
        "XXIII. SỞ SỐ 23",
    ]


async def test_not_reported_names_the_first_and_links_to_the_rest(
    coordinator, browsers, province, monkeypatch
):
    monkeypatch.setattr(pages, "MISSING_LISTED", 3)
    browser = await signed_in(coordinator, browsers())

    _status, body = await browser.get(f"/plans/{province.plan.id}")

    section = html.fromstring(body.split("Not reported yet")[1].split("</section>")[0])
    assert [item.text_content() for item in section.xpath(".//li")] == ["Sở số 6", "Sở số 7", "Sở số 8"]
    assert [(link.text_content(), link.get("href")) for link in section.xpath(".//p/a")] == [
        ("and 17 more agencies", "?missing=1#agencies")
    ]


async def test_a_paged_overview_says_printing_prints_the_page_shown(coordinator, browsers, province, plan):
    browser = await signed_in(coordinator, browsers())

    _status, paged = await browser.get(f"/plans/{province.plan.id}?apage=2")
    _status, whole = await browser.get(f"/plans/{plan.plan.id}")

    tree = html.fromstring(paged)
    assert "Printing prints this page as shown" in paged
    assert [p.text_content() for p in tree.xpath('//p[@class="printonly"]')] == [
        "Printed from the dashboard: agencies 11–20 of 25 and tasks 1–25 of 25."
    ]
    assert "Printing prints this page" not in whole and "printonly" not in whole


async def test_the_plans_list_counts_reports_done_and_what_needs_attention(
    coordinator, focal, browsers, plan, db, clock
):
    tourism = plan.agencies["Sở Du lịch"]
    async with db.transaction() as session:
        for code, status in (("II.1", "done"), ("II.2", "blocked")):
            await make_update(
                session, plan.tasks[code], agency=tourism, cycle=CYCLE, at=clock.now(), status=status
            )
        for code in ("I.2", "II.2"):
            task = await session.get(type(plan.tasks[code]), plan.tasks[code].id)
            task.end_on = dt.date(2020, 5, 15)  # overdue: today is 1 June 2020
    staff = await signed_in(coordinator, browsers())
    own = await signed_in(focal, browsers())

    _status, listing = await staff.get("/")
    _status, own_listing = await own.get("/")

    row = [cell.text_content().split()[0] for cell in html.fromstring(listing).xpath("//tbody/tr/td")]
    own_row = [cell.text_content().split()[0] for cell in html.fromstring(own_listing).xpath("//tbody/tr/td")]
    # Reported 1 of 3 agencies; 1 of 8 tasks done; one overdue, one blocked and overdue (once).
    assert row[2:] == ["1/3", "1/8", "2"]
    # The focal point's own agency: 1 of its 3 tasks done, one blocked and overdue, counted once.
    assert own_row[2:] == ["1/3", "1"]


async def test_a_focal_point_whose_agency_only_helps_sees_the_plan_and_one_linked_to_nothing_does_not(
    core, browsers, plan, db
):
    """An agency named only as a coordinating agency answers for no task, but its page lists the
    tasks it helps with: the Plans list shows the plan, with nothing of its own to report."""
    from storage.models import TaskAgency
    from storage.models.plan import COORDINATING
    from tests.bot.core.chat import ChatUser
    from tests.factories import make_agency, make_member

    async with db.transaction() as session:
        helper = await make_agency(session, "Sở Tư pháp")
        bystander = await make_agency(session, "Sở Y tế")
        session.add(
            TaskAgency(task_id=plan.tasks["II.1"].id, agency_id=helper.id, role=COORDINATING, position=9)
        )
        await make_member(session, "Hạnh", agency=helper, user_id="hanh", language="en")
        await make_member(session, "Bình", agency=bystander, user_id="binh", language="en")

    _status, helping = await (await signed_in(ChatUser(core, "hanh"), browsers())).get("/")
    _status, unrelated = await (await signed_in(ChatUser(core, "binh"), browsers())).get("/")

    rows = [" ".join(row.text_content().split()) for row in html.fromstring(helping).xpath("//tbody/tr")]
    assert len(rows) == 1 and "87/KH-UBND" in rows[0]
    assert [cell.text_content().split()[0] for cell in html.fromstring(helping).xpath("//tbody/tr/td")][
        2:
    ] == [
        "0/0",
        "0",
    ]
    assert html.fromstring(unrelated).xpath("//tbody/tr") == []
