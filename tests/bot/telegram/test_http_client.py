"""The bot's HTTP client for the Bot API (aiohttp under PTB), against the emulator: files keep their
names, long polls are not cut short, and what a failed call says never carries the bot token."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from telegram.error import NetworkError

from bot.core.messages import Document, Reply
from bot.transports.base import Recipient
from bot.transports.telegram.http import AiohttpRequest, without_token
from bot.transports.telegram.runner import build_application
from bot.transports.telegram.transport import TelegramTransport
from tests.bot.telegram.conftest import telegram_config

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def application(telegram):
    application = build_application(telegram_config(telegram), telegram.token)
    async with application:
        yield application


def test_the_bot_talks_to_telegram_through_aiohttp(telegram):
    application = build_application(telegram_config(telegram), telegram.token)

    assert isinstance(application.bot.request, AiohttpRequest)


async def test_a_file_named_in_vietnamese_arrives_under_its_own_name(telegram, application):
    lan = telegram.user(1001, "Lan")
    report = Document("Báo cáo kỳ 20-6 (nháp).xlsx", b"PK xlsx bytes", XLSX, caption="Báo cáo")

    await TelegramTransport(application.bot).send(
        Recipient("telegram", str(lan.id), "vi"), Reply("", documents=[report])
    )

    sent = telegram.sent_to(lan.id)[0]
    expected = ("Báo cáo kỳ 20-6 (nháp).xlsx", b"PK xlsx bytes", XLSX)
    assert (sent.document.filename, sent.document.content, sent.document.mime_type) == expected


async def test_a_long_poll_waits_for_an_update_past_the_request_timeout(telegram):
    # request_timeout 0.5 s, poll 2 s: the poll must not be read as timed out after 0.5 s.
    application = build_application(
        telegram_config(telegram, request_timeout=0.5, poll_timeout=2), telegram.token
    )
    lan = telegram.user(1001, "Lan")
    async with application:
        poll = asyncio.create_task(application.bot.get_updates(timeout=2))
        await asyncio.sleep(1.0)
        await telegram.send_text(lan, "/trogiup")
        updates = await poll

    assert [update.message.text for update in updates] == ["/trogiup"]


async def test_a_server_that_is_gone_is_a_network_error(telegram):
    # A fresh client: a kept-alive connection closed a moment before a call is a race of its own.
    request = AiohttpRequest()
    await request.initialize()
    await telegram.stop()

    try:
        with pytest.raises(NetworkError) as failed:
            await request.post(f"{telegram.api_base_url}{telegram.token}/getMe")
    finally:
        await request.shutdown()

    assert failed.value.message.startswith("aiohttp.ClientConnectorError")


def test_a_failure_message_quoting_a_bot_api_url_loses_the_token():
    message = "Connection timeout to host https://api.telegram.org/bot123456:AAE-secret_token/sendMessage"
    files = "Server disconnected while reading https://api.telegram.org/file/bot123456:AAE-secret/docs/a.pdf"

    assert (
        without_token(message)
        == "Connection timeout to host https://api.telegram.org/bot[redacted]/sendMessage"
    )
    assert without_token(files) == (
        "Server disconnected while reading https://api.telegram.org/file/bot[redacted]/docs/a.pdf"
    )


async def test_calls_go_through_the_proxy_the_environment_names(monkeypatch):
    # A forward proxy sees the absolute address of each call; this one answers for Telegram.
    seen = []

    async def forward(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.url}")
        return web.json_response({"ok": True, "result": True})

    proxy = web.Application()
    proxy.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(proxy)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    request = AiohttpRequest()
    await request.initialize()
    try:
        for _ in range(2):
            await request.post("http://api.telegram.invalid/bot123:abc/deleteWebhook")
    finally:
        await request.shutdown()
        await runner.cleanup()

    expected = ["POST http://api.telegram.invalid/bot123:abc/deleteWebhook"] * 2
    assert seen == expected
