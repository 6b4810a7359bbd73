"""`nhacviec run` with TELEGRAM_BOT_TOKEN set runs the Telegram bot, as a real process, until SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.app import open_app
from bot.config import load_config
from tests.emulators.telegram import TelegramEmulator
from tests.sqlite_files import count_in_file_alone

REPO = Path(__file__).resolve().parents[3]


def write_config(path: Path, telegram: TelegramEmulator, database: Path) -> None:
    path.write_text(
        f"""
[database]
url = "sqlite+aiosqlite:///{database}"

[telegram]
bot_username = "{telegram.username}"
api_base_url = "{telegram.api_base_url}"
api_file_url = "{telegram.file_base_url}"
request_timeout = 3.0
poll_timeout = 1

[ops]
http_enabled = false
""",
        encoding="utf-8",
    )


@pytest.mark.parametrize("event_loop", ["uvloop", "asyncio"])
async def test_the_run_command_serves_telegram_until_sigterm(telegram, tmp_path, event_loop):
    config = tmp_path / "config.toml"
    write_config(config, telegram, tmp_path / "nhacviec.db")
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": telegram.token, "NHACVIEC_CONFIG": str(config)}
    env.pop("TELEGRAM_WEBHOOK_SECRET", None)
    env.pop("NHACVIEC_EVENT_LOOP", None)
    if event_loop == "asyncio":
        env["NHACVIEC_EVENT_LOOP"] = "asyncio"  # the way back to asyncio's own loop
    # The installed program, as the service starts it: it runs again as `python -OO` (bot/entry.py),
    # so the whole serving path (PTB, aiohttp, the calendar, the core) runs without docstrings.
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("nhacviec")),
        "run",
        env=env,
        cwd=REPO,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await telegram.wait_for(lambda: telegram.calls_to("getUpdates"), within=30)
        command = await asyncio.to_thread(Path(f"/proc/{process.pid}/cmdline").read_bytes)
        assert command.split(b"\0")[1] == b"-OO"
        maps = await asyncio.to_thread(Path(f"/proc/{process.pid}/maps").read_text)
        assert ("uvloop/loop." in maps) == (event_loop == "uvloop")
        minh = telegram.user(2001, "Minh", language_code="en")
        await telegram.send_text(minh, "/trogiup")
        (reply,) = await telegram.wait_for_messages(minh.id, 1, within=15)
        # What it wrote reaches the database file itself within moments, copied from the WAL in
        # the background (storage.checkpoints), not a thousand pages later inside some chat's commit.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        database, copy = tmp_path / "nhacviec.db", tmp_path / "copy.db"
        while not await asyncio.to_thread(
            count_in_file_alone, database, copy, "SELECT count(*) FROM processed_update"
        ):
            if loop.time() > deadline:
                raise AssertionError("the database file still lacks the update after 15 s")
            await asyncio.sleep(0.05)  # polling a process we do not control
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _out, err = await process.communicate()

    assert "/dangky" in reply.text
    assert process.returncode == 0
    # Bot API URLs carry the token; nothing the process logged may.
    assert telegram.token.split(":")[1] not in err.decode()
    assert {"dangky", "capnhat"} <= {c["command"] for c in telegram.commands_for("vi")}


# Loaded at their first use, never by a bot that only waits for messages: the report, chart and
# spreadsheet libraries, the PDF reader, the migration tool, the dashboard's templates, every
# country's holidays but Vietnam's, the Zalo transports when only Telegram is configured, and
# cryptography (Zalo's secret box; PTB would take it for Telegram Passport, which the bot never uses),
# SQLAlchemy's PostgreSQL dialect on a SQLite database.
LOADED_ON_FIRST_USE = (
    "cryptography",
    "sqlalchemy.dialects.postgresql",
    "alembic",
    "docx",
    "docxtpl",
    "openpyxl",
    "matplotlib",
    "lxml",
    "pdfplumber",
    "jinja2",
    "holidays.countries",
    "bot.transports.zalo.runner",
)

# Runs `nhacviec run` and, on SIGUSR1, prints the modules the process holds.
# The installed program's entry point (bot.entry: start-up with the garbage collector paused), with a
# probe: on SIGUSR1 it prints what is loaded and whether the collector runs.
_MODULES_ON_SIGNAL = (
    "import gc, json, signal, sys; "
    "signal.signal(signal.SIGUSR1, lambda *_: print(json.dumps({'modules': sorted(sys.modules), "
    "'collecting': gc.isenabled(), 'frozen': gc.get_freeze_count()}), flush=True)); "
    "from bot.entry import main; sys.exit(main())"
)


async def _line_with(stream: asyncio.StreamReader, text: str) -> str:
    while text not in (line := (await stream.readline()).decode()):
        if not line:
            raise AssertionError(f"the process ended before saying {text!r}")
    return line


async def test_a_started_bot_waiting_for_messages_has_not_loaded_what_only_some_commands_need(
    telegram, tmp_path
):
    import json

    config = tmp_path / "config.toml"
    write_config(config, telegram, tmp_path / "nhacviec.db")
    # The dashboard and /healthz serve too, as in a deployment.
    settings = config.read_text(encoding="utf-8").replace("http_enabled = false", "http_port = 0")
    config.write_text(settings + "\n[web]\nport = 0\n", encoding="utf-8")
    # A database already at its schema's head, as after the first start (creating one is Alembic's use).
    await (await open_app(load_config(config, env={}))).close()
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": telegram.token, "NHACVIEC_CONFIG": str(config)}
    for name in ("TELEGRAM_WEBHOOK_SECRET", "ZALO_BOT_TOKEN", "ZALO_OA_APP_ID", "ZALO_OA_ACCESS_TOKEN"):
        env.pop(name, None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _MODULES_ON_SIGNAL,
        "run",
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            # Start-up is over: the bot polls, the dashboard listens, the reminder engine has started.
            await _line_with(process.stderr, "serving telegram")
            await telegram.wait_for(lambda: telegram.calls_to("getUpdates"), within=30)
            # The collector comes back on just after start-up ends, perhaps a moment after the poll.
            for _ in range(100):
                process.send_signal(signal.SIGUSR1)
                state = json.loads(await process.stdout.readline())
                if state["collecting"]:
                    break
                await asyncio.sleep(0.1)
            modules = set(state["modules"])
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await process.communicate()

    loaded = sorted(name for name in LOADED_ON_FIRST_USE if name in modules)
    assert loaded == []
    # Started with the collector paused (bot.startup): on again once serving, start-up frozen.
    assert state["collecting"] is True and state["frozen"] > 10_000
    # The probe could see them: the bot, its dashboard and its reminder engine are all there.
    assert {"bot.transports.telegram.runner", "bot.web.server", "bot.reminders"} <= modules
