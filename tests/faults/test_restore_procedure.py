"""The README's backup and restore procedure, step by step, with the real commands: a backup taken
while `nhacviec run` is serving, a restore refused while it runs, the bot stopped with SIGTERM as
systemd stops it, the restore, and the bot started again on the restored database."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.emulators.telegram import TelegramEmulator
from tests.factories import make_member, make_plan
from tests.faults.harness import REPO, write_config
from tests.processes import finished

pytestmark = pytest.mark.slow

NHACVIEC = str(Path(sys.executable).with_name("nhacviec"))
FOCAL_ID = 2001


async def nhacviec(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        NHACVIEC, *args, cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await finished(process, 60)
    return process.returncode, out.decode()


def members(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [row[0] for row in connection.execute("SELECT name FROM member ORDER BY id")]
    finally:
        connection.close()


async def test_backup_while_running_then_stop_restore_and_start_again(sqlite_db, tmp_path):
    database = sqlite_db.sqlite_path()
    async with sqlite_db.transaction() as session:
        built = await make_plan(session)
        await make_member(
            session, "Lan", agency=built.agencies["Sở Du lịch"], platform="telegram", user_id=str(FOCAL_ID)
        )
    async with TelegramEmulator() as tg:
        config = write_config(
            tmp_path / "config.toml",
            {
                "database": {"url": sqlite_db.url},
                "telegram": {
                    "api_base_url": tg.api_base_url,
                    "api_file_url": tg.file_base_url,
                    "poll_timeout": 1,
                },
                "reminders": {"enabled": False},
                "ops": {"http_enabled": False},
            },
        )
        env = {
            "PATH": str(Path(sys.executable).parent),
            "TELEGRAM_BOT_TOKEN": tg.token,
            "NHACVIEC_CONFIG": str(config),
        }
        lan = tg.user(FOCAL_ID, "Lan")

        async def start_bot() -> asyncio.subprocess.Process:
            polls = len(tg.calls_to("getUpdates"))
            bot = await asyncio.create_subprocess_exec(
                NHACVIEC, "run", "--transport", "telegram", cwd=REPO, env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            await tg.wait_for(lambda: len(tg.calls_to("getUpdates")) > polls, within=30)
            return bot

        bot = await start_bot()
        try:
            code, out = await nhacviec("backup", str(tmp_path / "nightly.db"), env=env)
            assert code == 0, out
            # After the backup, a new member arrives; the restore will take the database back before it.
            async with sqlite_db.transaction() as session:
                await make_member(session, "Tùng", agency=built.agencies["Sở Ngoại vụ"], user_id="tung")

            code, out = await nhacviec("restore", str(tmp_path / "nightly.db"), env=env)
            assert code == 1 and "bot đang chạy trên" in out, out  # the CLI speaks Vietnamese by default

            bot.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.wait(), 30) == 0
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
        await sqlite_db.dispose()

        code, out = await nhacviec("restore", str(tmp_path / "nightly.db"), env=env)
        assert code == 0, out
        assert members(database) == ["Lan"]
        assert "Tùng" in members(next(tmp_path.glob("nhacviec.db.before-restore-*")))

        bot = await start_bot()
        try:
            await tg.send_text(lan, "/nhiemvu")
            (reply,) = await tg.wait_for_messages(FOCAL_ID, 1, within=15)
            assert "Sở Du lịch" in reply.text
        finally:
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), 30)
