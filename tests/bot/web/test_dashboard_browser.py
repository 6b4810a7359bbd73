"""The dashboard in a real browser: Chromium driven by Playwright, against the dashboard's own
server on 127.0.0.1 with the reference plan loaded. A coordinator signs in from a chat link, reads
the overview, filters overdue tasks, opens an agency, downloads the report, approves a
registration and signs out; a focal point sees only their agency.

Screenshots for the README are written to docs/ when NHACVIEC_SCREENSHOTS=1.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Agency, Member, Task, TaskAgency
from storage.models.people import ACTIVE, PENDING
from storage.models.plan import LEAD
from storage.plans.importer import import_plan_file
from tests.bot.web.conftest import sign_in_link
from tests.factories import SectionSpec, make_member, make_plan, make_update, roman

DOCS = Path(__file__).resolve().parents[3] / "docs"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian package `chromium`; .ci/run installs it)"
)


@pytest.fixture
async def chromium():
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        await browser.close()


@pytest.fixture
async def reference(db, reference_plan, clock):
    """The reference plan with a few reports, as of 22 June 2020 (two days after its first deadline)."""
    clock.set(dt.datetime(2020, 6, 22, 2, 0, tzinfo=dt.UTC))
    async with db.transaction() as session:
        await import_plan_file(session, reference_plan)
        agencies = list(await session.scalars(select(Agency)))
        tourism = next(agency for agency in agencies if agency.name == "Sở Du lịch")
        led = (
            await session.scalars(
                select(Task)
                .join(TaskAgency, TaskAgency.task_id == Task.id)
                .where(TaskAgency.agency_id == tourism.id, TaskAgency.role == LEAD)
                .order_by(Task.id)
            )
        ).all()
        lan = await make_member(session, "Lan", agency=tourism, user_id="lan")
        for task, status, note in zip(
            led,
            ("done", "in_progress", "blocked"),
            ("Đã phát sóng 12 chương trình", "Đang biên tập", "Chưa có kinh phí"),
            strict=False,
        ):
            await make_update(
                session,
                task,
                agency=tourism,
                cycle=dt.date(2020, 6, 20),
                at=clock.now(),
                status=status,
                member=lan,
                note=note,
            )
        await make_member(session, "An", role="coordinator", user_id="an", language="vi")
        await make_member(session, "Minh", agency=agencies[0], status=PENDING)
    return tourism


async def test_a_coordinator_works_through_the_dashboard_in_chromium(
    chromium, server, core, reference, db, tmp_path
):
    from tests.bot.core.chat import ChatUser

    link = await sign_in_link(ChatUser(core, "an"))
    context = await chromium.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    await page.goto(link)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.get_by_role("link", name="87/KH-UBND").click()

    await page.wait_for_selector("h1")
    assert "Kế hoạch số 87/KH-UBND" in await page.inner_text("h1")
    assert "Chưa có kinh phí" in await page.inner_text("main")
    if os.environ.get("NHACVIEC_SCREENSHOTS"):
        await page.screenshot(path=str(DOCS / "dashboard-overview.png"), full_page=False)

    await page.get_by_label("Đã báo cáo").select_option("blocked")
    await page.get_by_role("button", name="Lọc").click()
    rows = page.locator("table.tasks tbody tr")
    assert await rows.count() == 1
    assert "Chưa có kinh phí" in await rows.first.inner_text()

    await page.get_by_role("link", name=reference.short_name or reference.name).first.click()
    await page.wait_for_selector("h1")
    assert reference.name in await page.inner_text("h1")
    assert "Đã phát sóng 12 chương trình" in await page.inner_text("main")
    if os.environ.get("NHACVIEC_SCREENSHOTS"):
        await page.screenshot(path=str(DOCS / "dashboard-agency.png"), full_page=False)

    await page.go_back()
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Tải DOCX").click()
    download = await download_info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.suffix == ".docx"
    with zipfile.ZipFile(io.BytesIO(saved.read_bytes())) as docx:
        assert "word/document.xml" in docx.namelist()

    await page.get_by_role("link", name="Thành viên").click()
    await page.get_by_role("button", name="Duyệt").click()
    assert "Minh" in await page.inner_text("main")
    async with db.snapshot() as session:
        minh = await session.scalar(select(Member).where(Member.name == "Minh"))
    assert minh.status == ACTIVE

    await page.get_by_role("button", name="Đăng xuất").click()
    assert "Bạn chưa đăng nhập" in await page.inner_text("main")
    await page.goto(server.url + "/people")
    assert "Bạn chưa đăng nhập" in await page.inner_text("main")
    assert errors == []  # nothing the CSP blocked, no script error
    await context.close()


async def test_a_focal_point_on_a_phone_sees_only_their_agency(chromium, server, core, reference):
    from tests.bot.core.chat import ChatUser

    link = await sign_in_link(ChatUser(core, "lan"))
    context = await chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = await context.new_page()

    await page.goto(link)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.get_by_role("link", name="87/KH-UBND").click()

    assert reference.name in await page.inner_text("h1")
    assert await page.get_by_role("link", name="Thành viên").count() == 0
    # No horizontal scrolling on a phone.
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    await context.close()


@pytest.fixture
async def province(db, app):
    """A plan of 25 agencies, "Sở số 1" to "Sở số 25", one task each, ten agencies a page; the
    first five have reported. An is a coordinator reading Vietnamese."""
    app.config.web.agencies_per_page = 10
    async with db.transaction() as session:
        built = await make_plan(
            session, [SectionSpec(f"Sở số {n}", [f"Nhiệm vụ của sở số {n}"]) for n in range(1, 26)]
        )
        for n in range(1, 6):
            await make_update(
                session,
                built.tasks[f"{roman(n)}.1"],
                agency=built.agencies[f"Sở số {n}"],
                cycle=dt.date(2020, 6, 20),
                at=dt.datetime(2020, 5, 30, 2, 0, tzinfo=dt.UTC),
            )
        await make_member(session, "An", role="coordinator", user_id="an", language="vi")
    return built


async def test_a_coordinator_pages_through_a_province_and_finds_an_agency_in_chromium(
    chromium, server, core, province
):
    from tests.bot.core.chat import ChatUser

    expect = pytest.importorskip("playwright.async_api").expect
    link = await sign_in_link(ChatUser(core, "an"))
    context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(link)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.get_by_role("link", name="87/KH-UBND").click()
    agencies = page.locator("table.matrix tbody th")
    pages_of_agencies = page.get_by_role("navigation", name="Các trang đơn vị")

    await expect(agencies).to_have_text([f"Sở số {n}" for n in range(1, 11)])
    await pages_of_agencies.get_by_role("link", name="Trang sau").click()
    await expect(agencies).to_have_text([f"Sở số {n}" for n in range(11, 21)])
    await expect(page.get_by_text("Đơn vị 11–20 trong số 25", exact=True)).to_be_visible()
    await expect(page.locator("p.printonly")).to_be_hidden()  # on the screen

    # Only those not reported yet, then the next page of them: the filter stays ticked.
    await page.get_by_label("Chỉ đơn vị chưa báo cáo").check()
    await page.get_by_role("button", name="Lọc").click()
    await expect(agencies).to_have_text([f"Sở số {n}" for n in range(6, 16)])
    await pages_of_agencies.get_by_role("link", name="2", exact=True).click()
    await expect(agencies).to_have_text([f"Sở số {n}" for n in range(16, 26)])
    await expect(page.get_by_label("Chỉ đơn vị chưa báo cáo")).to_be_checked()

    await page.get_by_label("Chỉ đơn vị chưa báo cáo").uncheck()
    await page.get_by_label("Tìm đơn vị").fill("so so 2")
    await page.get_by_role("button", name="Lọc").click()
    await expect(agencies).to_have_text(["Sở số 2", *(f"Sở số {n}" for n in range(20, 26))])
    await expect(pages_of_agencies).to_have_count(0)

    # Printing shows the page as it is, and says which part of the plan it is.
    await page.goto(server.url + f"/plans/{province.plan.id}?apage=3")
    await page.emulate_media(media="print")
    await expect(page.locator("p.printonly")).to_have_text(
        "In từ bảng theo dõi: đơn vị 21–25 trong số 25 và nhiệm vụ 1–25 trong số 25."
    )
    await expect(page.locator("p.printonly")).to_be_visible()
    await expect(pages_of_agencies).to_be_hidden()
    await context.close()
