"""/healthz and /metrics over real HTTP on 127.0.0.1."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from aiohttp import web

from bot.app import App
from bot.config import Config
from bot.ops import metrics
from bot.ops.http import add_ops_routes, start_ops_server
from storage.db import Database
from storage.models import Agency, Member, Plan
from storage.models.people import FOCAL
from storage.models.reminders import REPORT
from tests.bot.ops.rows import reminder_row
from tests.bot.ops.scrape import value


@pytest.fixture
async def server(app):
    server = await start_ops_server(app, "127.0.0.1", 0)
    yield server
    await server.stop()


async def get(server, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as client:
        return await client.get(path)


async def test_health_is_ok_when_the_database_answers_and_the_sender_ticked_recently(server, clock):
    metrics.note_tick("sender", clock.now())
    clock.advance(seconds=60)

    response = await get(server, "/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["ticks"]["sender"]["age_seconds"] == 60
    assert body["ticks"]["sender"]["ok"] is True


async def test_health_fails_when_the_sender_has_not_ticked_for_too_long(server, clock):
    metrics.note_tick("sender", clock.now())
    clock.advance(seconds=301)

    response = await get(server, "/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["ticks"]["sender"]["ok"] is False


async def test_a_process_that_never_ticked_is_healthy_only_during_its_first_period(server, clock):
    assert (await get(server, "/healthz")).status_code == 200
    clock.advance(seconds=301)
    response = await get(server, "/healthz")
    assert response.status_code == 503
    assert response.json()["ticks"]["sender"]["last"] is None


async def test_health_fails_when_the_database_cannot_be_read(tmp_path, clock):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 200)
    broken = Database(f"sqlite+aiosqlite:///{junk}")
    metrics.note_tick("sender", clock.now())
    server = await start_ops_server(App(config=Config(), db=broken, clock=clock), "127.0.0.1", 0)
    try:
        response = await get(server, "/healthz")
        metrics_text = (await get(server, "/metrics")).text
    finally:
        await server.stop()
        await broken.dispose()

    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "error": "DatabaseError"}
    assert value(metrics_text, "nhacviec_database_up") == 0


async def test_metrics_show_the_queue_depth_read_from_the_database(server, db, clock):
    now = clock.now()
    async with db.transaction() as session:
        agency = Agency(name="Sở Tư pháp", key="so tu phap")
        plan = Plan(number="87/KH-UBND", year=2020)
        member = Member(name="Lan", role=FOCAL, agency=agency)
        session.add_all([agency, plan, member])
        await session.flush()
        for n in range(3):
            due = now - dt.timedelta(minutes=n)
            session.add(
                reminder_row(f"r{n}", plan_id=plan.id, agency_id=agency.id, member_id=member.id, due=due)
            )
    metrics.REMINDERS_SENT.inc(kind=REPORT, platform="telegram")
    metrics.SEND_SECONDS.observe(0.02, platform="telegram")

    response = await get(server, "/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert value(response.text, "nhacviec_reminders_due") == 3
    assert value(response.text, "nhacviec_reminders_sent_total", kind="report", platform="telegram") == 1
    assert value(response.text, "nhacviec_send_seconds_bucket", platform="telegram", le="0.025") == 1
    assert value(response.text, "nhacviec_send_seconds_bucket", platform="telegram", le="0.01") == 0
    assert value(response.text, "nhacviec_database_up") == 1


async def test_the_routes_can_join_an_existing_webhook_server(app, clock):
    async def webhook(request: web.Request) -> web.Response:
        return web.Response(text="webhook")

    web_app = web.Application()
    web_app.router.add_post("/telegram", webhook)
    add_ops_routes(web_app, app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    metrics.note_tick("sender", clock.now())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/healthz")
            hook = await client.post("/telegram", json={})
            scrape = await client.get("/metrics")
    finally:
        await runner.cleanup()

    assert (health.status_code, hook.text, scrape.status_code) == (200, "webhook", 200)
