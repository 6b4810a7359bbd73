"""`nhacviec run` with TELEGRAM_BOT_TOKEN set runs the Telegram bot, as a real process, until SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.emulators.telegram import TelegramEmulator

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


async def test_the_run_command_serves_telegram_until_sigterm(telegram, tmp_path):
    config = tmp_path / "config.toml"
    write_config(config, telegram, tmp_path / "nhacviec.db")
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": telegram.token, "NHACVIEC_CONFIG": str(config)}
    env.pop("TELEGRAM_WEBHOOK_SECRET", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))",
        "run",
        env=env,
        cwd=REPO,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await telegram.wait_for(lambda: telegram.calls_to("getUpdates"), within=30)
        minh = telegram.user(2001, "Minh", language_code="en")
        await telegram.send_text(minh, "/trogiup")
        (reply,) = await telegram.wait_for_messages(minh.id, 1, within=15)
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _out, err = await process.communicate()

    assert "/dangky" in reply.text
    assert process.returncode == 0
    # Bot API URLs carry the token; nothing the process logged may.
    assert telegram.token.split(":")[1] not in err.decode()
    assert {"dangky", "capnhat"} <= {c["command"] for c in telegram.commands_for("vi")}
