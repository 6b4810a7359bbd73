"""Telegram and Zalo served by one process (`nhacviec run` with both tokens set): one core, one
transport registry, one reminder engine, one health server, one stop. Both platforms over real
HTTP: the Telegram Bot API emulator through python-telegram-bot, the Zalo emulator through the
Zalo runner; each scenario with both platforms polling and with both on webhooks."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.app import App
from bot.cli.run import choose_platforms
from bot.config import Config, load_config
from bot.transports.runner import Bots
from storage.models.people import ACTIVE, COORDINATOR, FOCAL, PENDING, Identity, Member
from tests.emulators.telegram import TelegramEmulator
from tests.emulators.zalo_bot import ZaloBotEmulator
from tests.emulators.zalo_oa import ZaloOAEmulator
from tests.factories import make_member, make_plan
from tests.scheduler.conftest import hanoi

HA = 1001  # the coordinator, on Telegram
TUNG = 2002  # a focal point on Telegram
LAN = "z-lan"  # a focal point on Zalo
FIRST_REMINDER = hanoi(2020, 6, 12)  # seven days before the 20/6 report
REMINDER_TAG = "[87/KH-UBND · 20/6 · T-7]"
TELEGRAM_SECRET = "telegram-webhook-secret_0123"
ZALO_SECRET = "zalo-webhook-secret-0123"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def telegram(clock):
    async with TelegramEmulator(clock=clock.now) as emulator:
        yield emulator


@pytest.fixture
async def zalo(clock):
    emulator = await ZaloBotEmulator(clock=clock).start()
    yield emulator
    await emulator.stop()


def both_platforms(telegram, zalo, mode: str, env: dict[str, str] | None = None) -> Config:
    config = load_config(
        env={
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "ZALO_BOT_TOKEN": zalo.token,
            "ZALO_WEBHOOK_SECRET": ZALO_SECRET,
            **(env or {}),
        }
    )
    settings = config.telegram
    settings.api_base_url, settings.api_file_url = telegram.api_base_url, telegram.file_base_url
    settings.bot_username = telegram.username
    settings.request_timeout, settings.poll_timeout = 3.0, 1
    settings.mode, settings.webhook_port = mode, 0
    config.zalo.api_base_url = zalo.base_url
    config.zalo.request_timeout, config.zalo.poll_timeout = 3.0, 1
    config.zalo.mode = mode
    if mode == "webhook":
        config.zalo.webhook_port = free_port()
        config.zalo.webhook_url = f"http://127.0.0.1:{config.zalo.webhook_port}/zalo"
    # Each test that wants the health server turns it on (on a free port).
    config.ops.http_enabled = False
    # The engine ticks when a test says so, on the test's clock.
    config.reminders.enabled = False
    return config


@pytest.fixture
async def start(db, clock, telegram, zalo):
    """Start the process's runners for `platforms` (both by default) in `mode`."""
    started: list[Bots] = []

    async def start_bots(mode: str, platforms=("telegram", "zalo"), *, health: bool = False) -> Bots:
        config = both_platforms(telegram, zalo, mode)
        config.ops.http_enabled, config.ops.http_port = health, 0
        bots = Bots(App(config=config, db=db, clock=clock), platforms)
        started.append(bots)
        await bots.start()
        return bots

    yield start_bots
    for bots in started:
        await bots.stop()


async def coordinator_ha(db, telegram, *, language: str = "vi"):
    async with db.transaction() as session:
        built = await make_plan(session)
        await make_member(
            session, "Hà", role=COORDINATOR, platform="telegram", user_id=str(HA), language=language
        )
    return built, telegram.user(HA, "Hà", language_code=language)


async def lan_as_stored(db) -> tuple[str, str, str | None, list[str]]:
    async with db.snapshot() as session:
        lan = await session.scalar(select(Member).join(Identity).where(Identity.external_id == LAN))
        platforms = list(await session.scalars(select(Identity.platform).where(Identity.member_id == lan.id)))
        return lan.role, lan.status, lan.agency.name if lan.agency else None, platforms


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_zalo_applicant_is_approved_by_a_telegram_coordinators_tap_and_told_on_zalo(
    db, start, telegram, zalo, mode
):
    await start(mode)
    _built, ha = await coordinator_ha(db, telegram)

    await zalo.user_sends(LAN, "/dangky so du lich", name="Nguyễn Thị Lan")
    (asked,) = await zalo.wait_for_messages(LAN, 1)
    (request,) = await telegram.wait_for_messages(HA, 1)
    await telegram.tap(ha, request, "✓ Duyệt")
    (approved,) = await telegram.next_messages(HA, after=1)
    told = (await zalo.wait_for_messages(LAN, 2))[1]

    assert asked.text.startswith(
        "Cảm ơn bạn. Yêu cầu đăng ký làm đầu mối của Sở Du lịch đã được gửi tới điều phối viên."
    )
    assert request.text == "Nguyễn Thị Lan xin đăng ký làm đầu mối của Sở Du lịch."
    assert request.button_labels == ["✓ Duyệt", "✗ Từ chối"]
    assert approved.text == "Đã duyệt: Nguyễn Thị Lan nay là đầu mối của Sở Du lịch."
    assert told.text.startswith("Đăng ký của bạn đã được duyệt: bạn là đầu mối của Sở Du lịch.")
    expected = (FOCAL, ACTIVE, "Sở Du lịch", ["zalo"])
    assert await lan_as_stored(db) == expected


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_one_reminder_engine_reminds_focal_points_on_telegram_and_on_zalo(
    db, start, telegram, zalo, clock, mode
):
    bots = await start(mode)
    built, _ha = await coordinator_ha(db, telegram)
    async with db.transaction() as session:
        await make_member(session, "Lan", agency=built.agencies["Sở Du lịch"], platform="zalo", user_id=LAN)
        await make_member(
            session, "Tùng", agency=built.agencies["Sở Ngoại vụ"], platform="telegram", user_id=str(TUNG)
        )
    telegram.user(TUNG, "Tùng")
    await zalo.user_sends(LAN, "/ngonngu vi")  # Zalo only lets a bot write to someone who wrote first
    await zalo.wait_for_messages(LAN, 1)

    clock.set(FIRST_REMINDER)
    await bots.engine.run_once()

    assert list(bots.engine.dispatcher.transports) == ["telegram", "zalo"]
    assert REMINDER_TAG in zalo.texts_to(LAN)[-1]
    assert REMINDER_TAG in telegram.sent_to(TUNG)[-1].text


async def test_polling_on_both_platforms_opens_one_health_server_and_stopping_closes_everything(
    db, start, telegram, zalo
):
    bots = await start("polling", health=True)
    url = f"http://127.0.0.1:{bots._ops_server.port}/healthz"
    async with httpx.AsyncClient() as client:
        healthy = await client.get(url)
    servers = [runner.serves_http for runner in bots.runners]

    await bots.stop()

    assert healthy.status_code == 200 and healthy.json()["status"] == "ok"
    assert servers == [False, False]
    assert bots.telegram.application.running is False
    assert bots.zalo_runners[0]._poller.done()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(url)


async def test_on_webhooks_each_webhook_server_answers_the_health_check_and_no_other_server_opens(
    db, start, telegram, zalo
):
    bots = await start("webhook", health=True)
    telegram_port = bots.telegram._web_runner.addresses[0][1]
    zalo_port = bots.zalo_runners[0].port
    async with httpx.AsyncClient() as client:
        answers = [
            (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code
            for port in (telegram_port, zalo_port)
        ]

    assert answers == [200, 200]
    assert bots._ops_server is None


async def test_the_telegram_runner_alone_tells_a_zalo_applicant_of_the_approval_without_polling_zalo(
    db, start, telegram, zalo
):
    """`nhacviec run --transport telegram` with ZALO_BOT_TOKEN set: another process serves Zalo; this
    one sends there (the Telegram runner used to drop replies for other platforms)."""
    await start("polling", platforms=["telegram"])
    built, ha = await coordinator_ha(db, telegram, language="en")
    async with db.transaction() as session:
        await make_member(
            session, "Lan", agency=built.agencies["Sở Du lịch"], platform="zalo", user_id=LAN, status=PENDING
        )
    await zalo.user_sends(LAN, "/dangky so du lich")  # queued for the Zalo process, which is not running

    await telegram.send_text(ha, "/choduyet")
    (waiting,) = await telegram.wait_for_messages(HA, 1)
    await telegram.tap(ha, waiting, "✓ Lan")
    await telegram.next_messages(HA, after=1)
    (told,) = await zalo.wait_for_messages(LAN, 1)

    assert told.text.startswith("Đăng ký của bạn đã được duyệt")
    assert "getUpdates" not in zalo.calls
    assert zalo.pending_updates == 1


@pytest.mark.parametrize(
    ("env", "requested", "expected"),
    [
        ({"TELEGRAM_BOT_TOKEN": "1:t", "ZALO_BOT_TOKEN": "2:z"}, "auto", ["telegram", "zalo"]),
        (
            {"TELEGRAM_BOT_TOKEN": "1:t", "ZALO_BOT_TOKEN": "2:z", "ZALO_OA_APP_ID": "123"},
            "auto",
            ["telegram", "zalo", "zalo_oa"],
        ),
        ({"ZALO_OA_ACCESS_TOKEN": "oa"}, "auto", ["zalo_oa"]),
        ({"TELEGRAM_BOT_TOKEN": "1:t", "ZALO_BOT_TOKEN": "2:z"}, "telegram", ["telegram"]),
        ({}, "auto", ["console"]),
    ],
)
def test_nhacviec_run_serves_every_platform_with_credentials_unless_told_one(
    db, clock, env, requested, expected
):
    app = App(config=load_config(env=env), db=db, clock=clock)

    assert choose_platforms(app, requested) == expected


async def test_the_zalo_bot_and_the_official_account_answer_on_one_web_server(db, clock, telegram, zalo):
    official = await ZaloOAEmulator(clock=clock).start()
    oa_secrets = official.environment()
    config = both_platforms(telegram, zalo, "webhook", env=oa_secrets)
    config.zalo.oa_api_base_url, config.zalo.oa_oauth_url = official.api_base_url, official.oauth_url
    bots = Bots(App(config=config, db=db, clock=clock), ["zalo", "zalo_oa"])
    try:
        await bots.start()
        oa_runner, bot_runner = bots.zalo_runners
        official.webhook_url = f"http://127.0.0.1:{oa_runner.port}/zalo-oa"
        await zalo.user_sends("u-1", "/ngonngu en")
        await official.user_sends("f-1", "/ngonngu en")
        (on_the_bot,) = await zalo.wait_for_messages("u-1", 1)
        (on_the_oa,) = await official.wait_for_messages("f-1", 1)
    finally:
        await bots.stop()
        await official.stop()

    expected = "From now on I will write to you in English."
    assert (on_the_bot.text, on_the_oa.text) == (expected, expected)
    assert bot_runner.port == oa_runner.port == config.zalo.webhook_port
    assert zalo.webhook_url == config.zalo.webhook_url
    # Telegram is configured but served elsewhere: sent on from here, never polled.
    assert sorted(bots.transports) == ["telegram", "zalo", "zalo_oa"]
    assert telegram.calls_to("getUpdates") == []


@pytest.mark.slow
async def test_nhacviec_run_with_both_tokens_answers_on_telegram_and_zalo_and_stops_on_sigterm(
    telegram, zalo, tmp_path
):
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[database]
url = "sqlite+aiosqlite:///{tmp_path / "nhacviec.db"}"

[telegram]
bot_username = "{telegram.username}"
api_base_url = "{telegram.api_base_url}"
api_file_url = "{telegram.file_base_url}"
request_timeout = 3.0
poll_timeout = 1

[zalo]
api_base_url = "{zalo.base_url}"
poll_timeout = 1

[ops]
http_enabled = false
shutdown_grace_seconds = 5
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "NHACVIEC_"))}
    env.update(TELEGRAM_BOT_TOKEN=telegram.token, ZALO_BOT_TOKEN=zalo.token, NHACVIEC_CONFIG=str(config))
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("nhacviec")),  # what `make run` runs
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await telegram.wait_for(
            lambda: telegram.calls_to("getUpdates") and "getUpdates" in zalo.calls, within=30
        )
        minh = telegram.user(2001, "Minh", language_code="en")
        await telegram.send_text(minh, "/ngonngu en")
        await zalo.user_sends("u-1", "/ngonngu en")
        (on_telegram,) = await telegram.wait_for_messages(minh.id, 1, within=30)
        (on_zalo,) = await zalo.wait_for_messages("u-1", 1, within=30)
        process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = (await process.stdout.read()).decode()

    expected = "From now on I will write to you in English."
    assert (on_telegram.text, on_zalo.text) == (expected, expected)
    assert status == 0, output
    assert "reminder engine started (telegram, zalo)" in output
    assert "stopped cleanly" in output
    for token in (telegram.token, zalo.token):
        assert token.split(":")[1] not in output  # Bot API URLs carry the tokens; the logs never do
