"""Logs: JSON lines on request, delivery lines that say which reminder, and no secret ever printed."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from types import SimpleNamespace

import httpx
import pytest
from aiohttp import web

from bot.config import load_config
from bot.ops.logging import REDACTED, configure_logging, log_delivery

TOKEN = "7012345678:AAHk3xQ-ZzT9_pL0m2nB4vC6xD8fG1hJ3kL"
WEBHOOK_SECRET = "hook-secret-8f3a91c2"


@pytest.fixture
def config(tmp_path):
    def make(json_lines: bool = False, db_url: str = "sqlite+aiosqlite:///nhacviec.db"):
        path = tmp_path / "config.toml"
        path.write_text(
            f'[logging]\njson_lines = {str(json_lines).lower()}\n[database]\nurl = "{db_url}"\n',
            encoding="utf-8",
        )
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET}
        return load_config(path, env=env)

    return make


@pytest.fixture
def logs():
    """The process's handler writing to a buffer; removed afterwards."""
    stream = io.StringIO()
    installed: list[logging.Handler] = []

    def install(config) -> io.StringIO:
        installed.append(configure_logging(config, stream=stream))
        return stream

    yield install
    root = logging.getLogger()
    for handler in installed:
        root.removeHandler(handler)


def test_a_bot_token_in_a_message_is_redacted(config, logs):
    out = logs(config())
    logging.getLogger("nhacviec.test").warning("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    text = out.getvalue()
    assert TOKEN not in text
    assert f"https://api.telegram.org/bot{REDACTED}/getMe" in text


def test_a_token_shaped_string_is_redacted_even_when_not_configured(config, logs):
    other_bot = "123456789:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"
    out = logs(config())
    logging.getLogger("telegram.ext").error("conflict with %s", other_bot)
    assert other_bot not in out.getvalue()


def test_configured_secrets_are_redacted_from_tracebacks_and_extra_fields(config, logs):
    out = logs(config(json_lines=True))
    try:
        raise RuntimeError(f"webhook rejected: secret {WEBHOOK_SECRET} mismatch")
    except RuntimeError:
        logging.getLogger("aiohttp.server").exception("handler failed", extra={"header": WEBHOOK_SECRET})
    text = out.getvalue()
    assert WEBHOOK_SECRET not in text
    entry = json.loads(text)
    assert entry["header"] == REDACTED
    assert f"secret {REDACTED} mismatch" in entry["exception"]


def test_the_database_password_is_redacted(config, logs):
    out = logs(config(db_url="postgresql+asyncpg://nhacviec:Pg-pass-2020@db.internal/nhacviec"))
    logging.getLogger("sqlalchemy.pool").warning(
        "could not connect to %s", "nhacviec:Pg-pass-2020@db.internal"
    )
    assert "Pg-pass-2020" not in out.getvalue()


def test_json_lines_are_one_object_per_line_with_the_extra_fields(config, logs):
    out = logs(config(json_lines=True))
    log = logging.getLogger("nhacviec.test")
    log.info("first", extra={"agency": "Sở Du lịch"})
    log.info("second with\na newline")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert (first["message"], first["agency"], first["level"]) == ("first", "Sở Du lịch", "INFO")
    assert second["message"] == "second with\na newline"
    assert dt.datetime.fromisoformat(first["ts"]).tzinfo is not None


def reminder():
    agency = SimpleNamespace(name="Sở Thông tin và Truyền thông", short_name="Sở TTTT")
    return SimpleNamespace(
        key="report:2020-06-20:7:m12", kind="report", deadline=dt.date(2020, 6, 20), offset_days=7,
        agency=agency, member_id=12,
    )  # fmt: skip


def test_a_delivery_line_names_the_reminder_key_deadline_and_agency(config, logs):
    out = logs(config())
    log_delivery(
        logging.getLogger("scheduler.sender"), logging.INFO, "reminder sent", reminder(), platform="telegram"
    )
    line = out.getvalue()
    assert "reminder sent reminder_key=report:2020-06-20:7:m12" in line
    assert "deadline=2020-06-20" in line
    assert 'agency="Sở TTTT"' in line
    assert "platform=telegram" in line


def test_a_delivery_line_in_json_carries_the_fields_as_fields(config, logs):
    out = logs(config(json_lines=True))
    log_delivery(
        logging.getLogger("scheduler.sender"), logging.WARNING, "send failed", reminder(), error="429"
    )
    entry = json.loads(out.getvalue())
    expected = {
        "reminder_key": "report:2020-06-20:7:m12",
        "deadline": "2020-06-20",
        "agency": "Sở TTTT",
        "offset_days": 7,
        "error": "429",
    }
    assert {k: entry[k] for k in expected} == expected


async def test_httpx_request_urls_with_the_token_are_not_logged_at_info(config, logs):
    async def get_me(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application()
    web_app.router.add_get("/bot{token}/getMe", get_me)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    out = logs(config())
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{runner.addresses[0][1]}/bot{TOKEN}/getMe")
    finally:
        await runner.cleanup()
    assert response.status_code == 200
    assert "getMe" not in out.getvalue()
    assert TOKEN not in out.getvalue()


def test_an_exception_passed_as_a_field_is_redacted_in_json(config, logs):
    out = logs(config(json_lines=True))
    error = RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage timed out")
    logging.getLogger("bot.reminders").warning("reminder not delivered", extra={"error": error})
    assert TOKEN not in out.getvalue()
    assert json.loads(out.getvalue())["error"].endswith(f"bot{REDACTED}/sendMessage timed out")


def test_invite_tokens_and_linking_codes_in_chat_text_are_redacted(config, logs):
    out = logs(config())
    log = logging.getLogger("telegram.ext.Application")
    log.warning("Processing update Update(message=Message(text='/start kpeMI-8kURA7clq2gEXrjXCp'))")
    log.warning("sending https://t.me/nhacviec_bot?start=JBW_AMJvcELRvymnLn18mYn2 to 1001")
    log.warning("text='/lienket 7K2M-Q9XD-4HVT' and /link@nhacviec_bot 7k2mq9xd4hvt")
    log.warning("Your code: ABCD-EFGH-JKMN")
    text = out.getvalue()
    for secret in (
        "kpeMI-8kURA7clq2gEXrjXCp",
        "JBW_AMJvcELRvymnLn18mYn2",
        "7K2M-Q9XD-4HVT",
        "7k2mq9xd4hvt",
        "ABCD-EFGH-JKMN",
    ):
        assert secret not in text
    assert f"text='/start {REDACTED}'" in text
    assert f"?start={REDACTED} to 1001" in text
