"""The dashboard over real HTTP: sign-in from chat, who may open what, forms that act through the
chat core, CSRF, and user text shown as text."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from lxml import html
from sqlalchemy import select

from bot.web import pages
from storage.models import Invite, Member, Plan
from storage.models.people import PENDING, RETIRED
from storage.models.web import WebLoginLink, WebSession
from tests.bot.web.conftest import sign_in_link, signed_in
from tests.factories import make_earlier_plans, make_member, make_update


async def test_a_coordinator_signs_in_from_chat_and_reads_the_plans(coordinator, browsers, plan):
    browser = await signed_in(coordinator, browsers())

    status, body = await browser.get("/")

    assert status == 200
    assert "87/KH-UBND" in body
    assert "An" in body  # who is signed in


async def test_the_sign_in_link_is_single_use_and_stored_hashed(coordinator, browsers, db):
    link = await sign_in_link(coordinator)
    token = link.rsplit("/", 1)[1]
    first, second = browsers(), browsers()

    await signed_in_with(first, link)
    status, body = await second.post(link, csrf=False)

    assert status == 403
    assert "đã được dùng" in body
    async with db.snapshot() as session:
        hashes = list(await session.scalars(select(WebLoginLink.token_hash)))
    assert len(token) >= 32  # 192 random bits, URL-safe
    assert token not in hashes and len(hashes) == 1


async def signed_in_with(browser, link):
    status, _ = await browser.post(link, csrf=False)
    assert status == 200


async def test_opening_the_link_does_not_use_it_up_so_a_link_preview_cannot(coordinator, browsers):
    link = await sign_in_link(coordinator)
    preview = browsers()
    await preview.get(link)
    await preview.get(link)

    person = browsers()
    await signed_in_with(person, link)
    status, _ = await person.get("/")

    assert status == 200


async def test_an_expired_link_is_refused_with_a_way_forward(coordinator, browsers, clock):
    link = await sign_in_link(coordinator)
    clock.advance(dt.timedelta(minutes=11))

    status, body = await browsers().post(link, csrf=False)

    assert status == 403
    assert "/web" in body


async def test_without_a_session_every_page_sends_you_to_sign_in(server, browsers, plan):
    browser = browsers()
    for path in ("/", f"/plans/{plan.plan.id}", "/people", f"/plans/{plan.plan.id}/export/docx"):
        status, body = await browser.get(path)
        assert status == 200 and "/web" in body, path  # the signed-out page, after a redirect
        assert "87/KH-UBND" not in body


async def test_the_session_cookie_is_httponly_and_strict(coordinator, browsers):
    browser = browsers()
    link = await sign_in_link(coordinator)
    async with browser.http.post(link, allow_redirects=False) as response:
        cookie = response.headers["Set-Cookie"]

    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Max-Age=28800" in cookie


async def test_a_session_ends_after_eight_hours(coordinator, browsers, clock):
    browser = await signed_in(coordinator, browsers())
    clock.advance(dt.timedelta(hours=8, minutes=1))

    _status, body = await browser.get("/people")

    assert "Bạn chưa đăng nhập" in body  # the signed-out page, in the default language


async def test_signing_out_ends_the_session(coordinator, browsers, db):
    browser = await signed_in(coordinator, browsers())

    await browser.post("/logout")
    _status, body = await browser.get("/people")

    assert "Bạn chưa đăng nhập" in body  # the signed-out page, in the default language
    async with db.snapshot() as session:
        ended = list(await session.scalars(select(WebSession.ended_at)))
    assert ended and all(moment is not None for moment in ended)


async def test_pages_have_a_strict_content_security_policy(coordinator, browsers):
    browser = await signed_in(coordinator, browsers())
    async with browser.http.get(browser.url("/")) as response:
        headers = response.headers

    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


# ---------------------------------------------------------------- who sees what


async def test_a_focal_point_sees_only_their_own_agency(focal, browsers, plan):
    browser = await signed_in(focal, browsers())
    plan_id = plan.plan.id
    own = plan.agencies["Sở Du lịch"].id
    other = plan.agencies["Sở Ngoại vụ"].id

    status_own, body_own = await browser.get(f"/plans/{plan_id}/agencies/{own}")
    status_other, body_other = await browser.get(f"/plans/{plan_id}/agencies/{other}")
    _status, overview = await browser.get(f"/plans/{plan_id}")

    assert status_own == 200 and "Quảng bá du lịch" in body_own
    assert status_other == 403 and "Xuất bản đặc san" not in body_other
    # The overview of the whole plan is for coordinators: a focal point lands on their agency.
    assert "Quảng bá du lịch" in overview and "Xuất bản đặc san" not in overview


@pytest.mark.parametrize("path", ["/people", "/plans/{plan}/reminders", "/plans/{plan}/export/docx"])
async def test_coordinator_pages_are_refused_to_a_focal_point(focal, browsers, plan, path):
    browser = await signed_in(focal, browsers())

    status, body = await browser.get(path.format(plan=plan.plan.id))

    assert status == 403
    assert "Bạn không được xem trang này" in body  # in her language


async def test_a_focal_point_cannot_read_the_history_of_another_agencys_task(focal, browsers, plan):
    browser = await signed_in(focal, browsers())
    foreign = plan.tasks["III.1"].id
    own = plan.tasks["II.1"].id

    assert (await browser.get(f"/plans/{plan.plan.id}/tasks/{foreign}"))[0] == 403
    assert (await browser.get(f"/plans/{plan.plan.id}/tasks/{own}"))[0] == 200


async def test_a_retired_member_is_signed_out_at_the_next_click(focal, browsers, db, plan):
    browser = await signed_in(focal, browsers())
    async with db.transaction() as session:
        member = await session.scalar(select(Member).where(Member.name == "Lan"))
        member.status = RETIRED

    _status, body = await browser.get(f"/plans/{plan.plan.id}/agencies/{plan.agencies['Sở Du lịch'].id}")

    assert "Quảng bá du lịch" not in body
    assert "/web" in body


async def test_a_hand_over_takes_the_agency_pages_away_at_once(focal, browsers, db, plan):
    browser = await signed_in(focal, browsers())
    own = plan.agencies["Sở Du lịch"].id
    async with db.transaction() as session:
        member = await session.scalar(select(Member).where(Member.name == "Lan"))
        member.agency_id = plan.agencies["Sở Ngoại vụ"].id

    status, _body = await browser.get(f"/plans/{plan.plan.id}/agencies/{own}")

    assert status == 403


# ---------------------------------------------------------------- what is shown


async def test_the_overview_shows_what_each_agency_said_and_who_has_not_reported(
    coordinator, browsers, plan, db, clock
):
    async with db.transaction() as session:
        await make_update(
            session,
            plan.tasks["II.1"],
            agency=plan.agencies["Sở Du lịch"],
            cycle=dt.date(2020, 6, 20),
            at=clock.now(),
            status="blocked",
            note="Chưa có kinh phí",
        )
    browser = await signed_in(coordinator, browsers())

    _status, body = await browser.get(f"/plans/{plan.plan.id}")

    assert "Chưa có kinh phí" in body
    assert "1/3" in body  # agencies reported
    assert "Sở Ngoại vụ" in body.split("Not reported yet")[1].split("</ul>")[0]


async def test_filters_show_only_overdue_tasks(coordinator, browsers, plan, db):
    async with db.transaction() as session:  # two tasks were due before today (1 June 2020)
        for code in ("I.2", "III.1"):
            task = await session.get(type(plan.tasks[code]), plan.tasks[code].id)
            task.end_on = dt.date(2020, 5, 15)
    browser = await signed_in(coordinator, browsers())

    _status, everything = await browser.get(f"/plans/{plan.plan.id}")
    _status, overdue = await browser.get(f"/plans/{plan.plan.id}?overdue=1")
    _status, overdue_here = await browser.get(
        f"/plans/{plan.plan.id}?overdue=1&agency={plan.agencies['Sở Ngoại vụ'].id}"
    )

    assert "8 tasks" in everything
    assert "2 tasks" in overdue
    assert "Theo dõi dư luận" in overdue and "Quảng bá du lịch" not in overdue.split('id="tasks"')[1]
    assert "1 task<" in overdue_here and "Xuất bản đặc san" in overdue_here


async def test_user_text_is_shown_as_text_never_as_markup(coordinator, browsers, plan, db, clock):
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    async with db.transaction() as session:
        await make_update(
            session,
            plan.tasks["II.1"],
            agency=plan.agencies["Sở Du lịch"],
            cycle=dt.date(2020, 6, 20),
            at=clock.now(),
            note=hostile,
        )
        await make_member(session, '"><b>Mallory</b>', agency=plan.agencies["Sở Ngoại vụ"], status=PENDING)
        # A plan's header comes from the imported file: the Plans list joins its issuer and title.
        imported = await session.get(Plan, plan.plan.id)
        imported.issuer, imported.title = '"><b>Mallory</b>', hostile
    browser = await signed_in(coordinator, browsers())

    pages = [
        (await browser.get(f"/plans/{plan.plan.id}"))[1],
        (await browser.get(f"/plans/{plan.plan.id}/tasks/{plan.tasks['II.1'].id}"))[1],
        (await browser.get("/people"))[1],
        (await browser.get("/"))[1],
    ]

    for body in pages:
        assert "<script>" not in body and "<img src=x" not in body and "<b>Mallory" not in body
    assert "&lt;script&gt;" in pages[0]
    assert "&lt;b&gt;Mallory" in pages[2]
    assert '<div class="sub">&#34;&gt;&lt;b&gt;Mallory&lt;/b&gt; · &lt;script&gt;' in pages[3]


async def test_the_docx_export_is_a_word_document(coordinator, browsers, plan):
    browser = await signed_in(coordinator, browsers())

    status, content_type, body = await browser.get_bytes(f"/plans/{plan.plan.id}/export/docx")

    assert status == 200
    assert "wordprocessingml" in content_type
    assert body[:2] == b"PK"


# ---------------------------------------------------------------- actions


async def test_approving_a_request_registers_the_member_and_tells_them(
    coordinator, browsers, plan, db, delivered
):
    async with db.transaction() as session:
        asker = await make_member(session, "Minh", agency=plan.agencies["Sở Ngoại vụ"], status=PENDING)
    browser = await signed_in(coordinator, browsers())
    await browser.get("/people")

    status, body = await browser.post(f"/people/requests/{asker.id}/approve")

    assert status == 200 and "Approved: Minh" in body
    async with db.snapshot() as session:
        assert (await session.get(Member, asker.id)).status == "active"
    assert any("approved" in reply.text or "được duyệt" in reply.text for reply in delivered)


async def test_a_form_without_its_csrf_token_changes_nothing(coordinator, browsers, plan, db):
    async with db.transaction() as session:
        asker = await make_member(session, "Minh", agency=plan.agencies["Sở Ngoại vụ"], status=PENDING)
    browser = await signed_in(coordinator, browsers())

    status_missing, _ = await browser.post(f"/people/requests/{asker.id}/approve", csrf=False)
    status_forged, _ = await browser.post(f"/people/requests/{asker.id}/approve", {"csrf": "x" * 64})

    assert status_missing == 403 and status_forged == 403
    async with db.snapshot() as session:
        assert (await session.get(Member, asker.id)).status == PENDING


async def test_a_focal_point_cannot_approve_even_with_a_valid_token(focal, browsers, plan, db):
    async with db.transaction() as session:
        asker = await make_member(session, "Minh", agency=plan.agencies["Sở Ngoại vụ"], status=PENDING)
    browser = await signed_in(focal, browsers())
    await browser.get("/")

    status, body = await browser.post(f"/people/requests/{asker.id}/approve")

    assert status == 200 and "Minh" not in body.split("<main>")[1].split("Approved")[0] or "không" in body
    async with db.snapshot() as session:
        assert (await session.get(Member, asker.id)).status == PENDING


async def test_a_coordinator_creates_and_revokes_an_invite(coordinator, browsers, plan, db):
    browser = await signed_in(coordinator, browsers())
    await browser.get("/people")

    _status, created = await browser.post(
        "/people/invites", {"role": "focal", "agency_id": str(plan.agencies["Sở Ngoại vụ"].id)}
    )
    async with db.snapshot() as session:
        invite = await session.scalar(select(Invite))
    _status, revoked = await browser.post(f"/people/invites/{invite.id}/revoke")

    assert "/start " in created
    assert f"#{invite.id}" in revoked
    async with db.snapshot() as session:
        assert (await session.get(Invite, invite.id)).revoked_at is not None


async def test_the_web_command_is_refused_in_a_group(core, coordinator):
    from bot.core.messages import Incoming

    replies = await core.handle(
        Incoming(platform="console", chat_id="group-1", user_id="an", text="/web", is_group=True)
    )

    assert "private chat" in replies[0].text
    assert "/login/" not in replies[0].text


async def test_a_coordinator_closes_and_reopens_a_plan_and_reminds_through_the_chat_core(
    coordinator, browsers, plan, db, delivered
):
    from storage.models import Plan

    async with db.transaction() as session:
        await make_member(
            session, "Lan", agency=plan.agencies["Sở Du lịch"], platform="console", user_id="lan"
        )
    browser = await signed_in(coordinator, browsers())
    await browser.get("/")

    _status, reminded = await browser.post(f"/plans/{plan.plan.id}/remind")
    _status, closed = await browser.post(f"/plans/{plan.plan.id}/close")
    _status, listing = await browser.get("/")
    async with db.snapshot() as session:
        lifecycle_after_close = (await session.get(Plan, plan.plan.id)).lifecycle
    _status, reopened = await browser.post(f"/plans/{plan.plan.id}/reopen")

    assert "Reminded" in reminded and "Sở Du lịch" in reminded
    assert any(reply.to_chat_id == "lan" and "An" in reply.text for reply in delivered)  # in her language
    assert "Closed plan 87/KH-UBND (2020)" in closed
    assert lifecycle_after_close == "closed"
    assert "closed" in listing and "Reopen" in listing
    assert "Reopened plan 87/KH-UBND (2020)" in reopened


async def test_a_focal_point_cannot_close_a_plan(focal, browsers, plan, db):
    from storage.models import Plan

    browser = await signed_in(focal, browsers())
    await browser.get("/")

    _status, body = await browser.post(f"/plans/{plan.plan.id}/close")

    async with db.snapshot() as session:
        assert (await session.get(Plan, plan.plan.id)).lifecycle != "closed"
    assert "Closed plan" not in body and "Đã đóng" not in body


async def test_evidence_is_downloaded_by_its_agency_and_coordinators_only(
    coordinator, focal, browsers, plan, db, clock, app, tmp_path
):
    from bot.evidence import Fetcher
    from storage import evidence as evidence_rows

    app.config.evidence.dir = str(tmp_path / "evidence")
    sent = tmp_path / "biên bản.pdf"
    sent.write_bytes(b"%PDF-1.4\n% the minutes of the meeting\n")
    async with db.transaction() as session:
        update = await make_update(
            session,
            plan.tasks["II.1"],
            agency=plan.agencies["Sở Du lịch"],
            cycle=dt.date(2020, 6, 20),
            at=clock.now(),
        )
        update.evidence = f"console:{sent}"  # as /capnhat stores a file sent from the console
        row = await evidence_rows.add_pending(
            session, update, source=f"console:{sent}", original_name="biên bản.pdf", now=clock.now()
        )
    fetcher = Fetcher(app)
    try:
        assert await fetcher.fetch(row.id) == "stored"
    finally:
        await fetcher.close()
    async with db.snapshot() as session:
        sha = (await evidence_rows.of_updates(session, [update.id]))[update.id][0].sha256
    async with db.transaction() as session:
        await make_member(session, "Mai", agency=plan.agencies["Sở Ngoại vụ"], user_id="mai")
    from tests.bot.core.chat import ChatUser

    own = await signed_in(focal, browsers())
    other = await signed_in(ChatUser(focal.core, "mai"), browsers())
    boss = await signed_in(coordinator, browsers())

    _status, page = await own.get(f"/plans/{plan.plan.id}/agencies/{plan.agencies['Sở Du lịch'].id}")
    status_own, _type, body_own = await own.get_bytes(f"/evidence/{sha}")
    status_boss, _type, body_boss = await boss.get_bytes(f"/evidence/{sha}")
    status_other, _type, body_other = await other.get_bytes(f"/evidence/{sha}")
    status_unknown, _type, _body = await boss.get_bytes("/evidence/" + "0" * 64)

    assert f'href="/evidence/{sha}">biên bản.pdf</a>' in page
    assert (status_own, body_own) == (200, sent.read_bytes())
    assert (status_boss, body_boss) == (200, sent.read_bytes())
    assert status_other == 403 and b"%PDF" not in body_other
    assert status_unknown == 404


async def test_the_zip_bundles_the_report_the_workbook_and_a_folder_per_agency(coordinator, browsers, plan):
    import io
    import zipfile

    browser = await signed_in(coordinator, browsers())

    status, content_type, body = await browser.get_bytes(f"/plans/{plan.plan.id}/export/zip")

    assert status == 200 and content_type == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert any(name.endswith(".docx") for name in names) and any(name.endswith(".xlsx") for name in names)


def _task_tables(body: str) -> list[tuple[str, list[str]]]:
    """Each task table of an agency page: its heading, and the tasks it lists with what it says."""
    tree = html.fromstring(body)
    tables = []
    for table in tree.xpath('//table[contains(@class, "tasks")]'):
        heading = table.xpath("preceding-sibling::h2[1]")[0].text_content()
        rows = [" ".join(row.text_content().split()) for row in table.xpath("./tbody/tr")]
        tables.append((heading, rows))
    return tables


async def test_a_large_plans_agency_page_lists_what_a_small_plans_does(
    coordinator, browsers, db, plan, monkeypatch
):
    """A province's plan is counted whole and detailed only where needed: the agency page must still
    list every task the agency answers for and every task it helps with, as the page of a city's
    plan (judged task by task) does."""
    async with db.transaction() as session:
        await make_update(
            session,
            plan.tasks["II.1"],
            agency=plan.agencies["Sở Du lịch"],
            cycle=dt.date(2020, 6, 20),
            at=dt.datetime(2020, 6, 1, 2, 0, tzinfo=dt.UTC),
            note="Đã phát 12 chương trình",
            percent=40,
        )
    browser = await signed_in(coordinator, browsers())
    helper = plan.agencies["Sở Thông tin và Truyền thông"].id
    url = f"/plans/{plan.plan.id}/agencies/{helper}"
    _status, judged = await browser.get(url)

    monkeypatch.setattr(pages, "LARGE_PLAN_TASKS", 0)
    _status, counted = await browser.get(url)

    tables = _task_tables(judged)
    assert [heading for heading, _rows in tables] == ["Tasks it answers for", "Tasks it helps with"]
    helped = tables[1][1]
    assert len(helped) == 3 and "II.1" in helped[0] and "Đã phát 12 chương trình" in helped[0]
    assert _task_tables(counted) == tables


def _task_rows(body: str) -> list[str]:
    return [
        " ".join(row.text_content().split())
        for row in html.fromstring(body).xpath('//table[contains(@class, "tasks")]/tbody/tr')
    ]


HUGE = "9" * 30  # no database integer holds it
PAST_INT32 = str(2**31)  # an id column (PostgreSQL INTEGER) holds up to 2**31 - 1


@pytest.mark.parametrize("bad", ["abc", "-1", HUGE, PAST_INT32, "1e3", "0", "١٢"])
async def test_an_address_whose_number_is_not_an_id_finds_nothing(
    coordinator, browsers, plan, bad, monkeypatch
):
    browser = await signed_in(coordinator, browsers())
    some_task = plan.tasks["II.1"].id
    some_agency = plan.agencies["Sở Du lịch"].id

    for path in (
        f"/plans/{bad}",
        f"/plans/{bad}/agencies/{some_agency}",
        f"/plans/{plan.plan.id}/agencies/{bad}",
        f"/plans/{bad}/tasks/{some_task}",
        f"/plans/{plan.plan.id}/tasks/{bad}",
        f"/plans/{bad}/reminders",
        f"/plans/{bad}/export/docx",
    ):
        status, _body = await browser.get(path)
        assert status == 404, path
    # The forms answer as chat does for a request, an invite or a plan that is not there.
    for path, answer in (
        (f"/people/requests/{bad}/approve", "That request no longer exists."),
        (f"/people/requests/{bad}/reject", "That request no longer exists."),
        (f"/people/invites/{bad}/revoke", "That invite no longer exists."),
        (f"/plans/{bad}/close", "That plan no longer exists."),
        (f"/plans/{bad}/reopen", "That plan no longer exists."),
        (f"/plans/{bad}/remind", "That plan no longer exists."),
    ):
        status, body = await browser.post(path)
        shown = " ".join(html.fromstring(body).xpath("//main")[0].text_content().split())
        assert (status, shown) == (200, f"{answer} Back"), path
    # As a filter, it filters nothing: the page is the unfiltered one, on a small plan and on a
    # large one (where the agency filter reaches the database).
    unfiltered = (await browser.get(f"/plans/{plan.plan.id}"))[1]
    for large in (False, True):
        monkeypatch.setattr(pages, "LARGE_PLAN_TASKS", 0 if large else 2000)
        for name in ("agency", "section"):
            status, body = await browser.get(f"/plans/{plan.plan.id}?{name}={bad}")
            assert status == 200, (name, large)
            if not large:
                assert _task_rows(body) == _task_rows(unfiltered)


@pytest.mark.parametrize(("rule", "done"), [("all", False), ("any", True)])
async def test_the_dashboard_judges_a_co_led_task_by_the_configured_rule(
    coordinator, browsers, db, app, plan, rule, done
):
    """A task with two leads, one of which reported it done: done when any lead's word is enough,
    not when all must say so, on the task's page and in the overview, as in chat."""
    from storage.models import TaskAgency
    from storage.models.plan import LEAD

    task = plan.tasks["II.1"]
    async with db.transaction() as session:
        await session.execute(TaskAgency.__table__.delete().where(TaskAgency.task_id == task.id))
        for position, name in enumerate(("Sở Du lịch", "Sở Ngoại vụ")):
            session.add(
                TaskAgency(task_id=task.id, agency_id=plan.agencies[name].id, role=LEAD, position=position)
            )
        await make_update(
            session,
            task,
            agency=plan.agencies["Sở Du lịch"],
            cycle=dt.date(2020, 6, 20),
            at=dt.datetime(2020, 5, 30, 2, 0, tzinfo=dt.UTC),
            status="done",
        )
    app.config.report.co_lead_done = rule
    browser = await signed_in(coordinator, browsers())

    _status, page = await browser.get(f"/plans/{plan.plan.id}/tasks/{task.id}")
    _status, overview = await browser.get(f"/plans/{plan.plan.id}")

    chip = html.fromstring(page).xpath('//dl[@class="facts"]//span[contains(@class, "reported-")]')[0]
    assert ("reported-done" in chip.get("class")) is done
    row = next(
        " ".join(tr.text_content().split())
        for tr in html.fromstring(overview).xpath('//table[contains(@class, "tasks")]/tbody/tr')
        if "II.1" in tr.text_content()
    )
    assert ("done on time" in row) is done, row


async def test_the_plans_list_shows_the_plans_followed_then_the_earlier_ones_a_page_at_a_time(
    coordinator, browsers, plan, db
):
    async with db.transaction() as session:
        await make_earlier_plans(session, 25)
    browser = await signed_in(coordinator, browsers())

    _status, first = await browser.get("/")
    _status, second = await browser.get("/?earlier=20")
    _status, beyond = await browser.get("/?earlier=400")
    _status, garbled = await browser.get("/?earlier=-3%3Cb%3E")

    def plans_in(page: str) -> list[str]:
        return re.findall(r'<a href="/plans/\d+">([^<]+)</a>', page)

    assert plans_in(first)[0] == "87/KH-UBND (2020)"
    assert len(plans_in(first)) == 21 and '<a href="/?earlier=20">5 earlier plans ›</a>' in first
    assert len(plans_in(second)) == 5 and "87/KH-UBND (2020)" not in plans_in(second)
    assert '<a href="/">The plans followed</a>' in second and "earlier plans ›" not in second
    assert len(set(plans_in(first) + plans_in(second))) == 26
    assert plans_in(beyond) == [] and '<a href="/">The plans followed</a>' in beyond
    assert plans_in(garbled) == plans_in(first)  # not a number: the first page


async def test_a_focal_points_plans_list_pages_only_the_earlier_plans_their_agency_has_a_part_in(
    focal, browsers, plan, db
):
    """Years of plans, some of them other agencies' business only: the focal point's pages list the
    plans followed, then earlier plans where their agency answers for a task or helps with one,
    twenty a page, and the link counts what is left of those."""
    from storage.models import Section, Task, TaskAgency
    from storage.models.plan import COORDINATING, LEAD, Plan

    tourism, other = plan.agencies["Sở Du lịch"], plan.agencies["Sở Ngoại vụ"]
    not_theirs = {"2/KH-UBND", "24/KH-UBND", "25/KH-UBND"}
    async with db.transaction() as session:
        await make_earlier_plans(session, 25)
        earlier = (
            await session.scalars(
                select(Plan).where(Plan.id != plan.plan.id).order_by(Plan.year.desc(), Plan.id.desc())
            )
        ).all()
        for target in earlier:
            if target.number in {"24/KH-UBND", "25/KH-UBND"}:
                continue  # nobody's tasks yet
            helps = target.number == "10/KH-UBND"
            owner = other if helps or target.number in not_theirs else tourism
            section = Section(
                plan_id=target.id, numeral="I", position=1, heading="Nhiệm vụ", agency_id=owner.id
            )
            session.add(section)
            await session.flush()
            task = Task(
                plan_id=target.id, section_id=section.id, number=1, code="I.1", content="Tuyên truyền"
            )
            session.add(task)
            await session.flush()
            session.add(TaskAgency(task_id=task.id, agency_id=owner.id, role=LEAD, position=0))
            if helps:
                session.add(TaskAgency(task_id=task.id, agency_id=tourism.id, role=COORDINATING, position=1))
        theirs = [f"{p.number} ({p.year})" for p in earlier if p.number not in not_theirs]
    browser = await signed_in(focal, browsers())

    _status, first = await browser.get("/")
    _status, second = await browser.get("/?earlier=20")

    def plans_in(page: str) -> list[str]:
        return re.findall(r'<a href="/plans/\d+/agencies/\d+">([^<]+)</a>', page)

    assert len(theirs) == 22
    assert plans_in(first) == ["87/KH-UBND (2020)", *theirs[:20]]
    assert '<a href="/?earlier=20">2 kế hoạch trước đó ›</a>' in first
    assert plans_in(second) == theirs[20:]
    assert "?earlier=" not in second
    # Under each plan, its issuer and title where it has them: no stray separator in their place.
    assert '<div class="sub">Kế hoạch tổ chức các hoạt động thông tin đối ngoại</div>' in first
    assert " · <" not in first and '"sub"> ·' not in first
