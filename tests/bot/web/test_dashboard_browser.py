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
from tests.factories import make_member, make_update

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
