"""`nhacviec run` with a Zalo token set runs the Zalo bot: the real command, in its own process,
against the emulator on 127.0.0.1, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.emulators.zalo_bot import ZaloBotEmulator

pytestmark = pytest.mark.slow


@pytest.fixture
async def bot_api():
    emulator = await ZaloBotEmulator().start()
    yield emulator
    await emulator.stop()


async def wait_until(condition, within: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)  # polling a subprocess we do not control; not a clock in a test


async def test_nhacviec_run_with_a_zalo_token_answers_on_zalo_and_stops_on_sigterm(bot_api, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[database]
url = "sqlite+aiosqlite:///{tmp_path / "nhacviec.db"}"

[zalo]
api_base_url = "{bot_api.base_url}"
poll_timeout = 1

[ops]
http_enabled = false
shutdown_grace_seconds = 5
""",
        encoding="utf-8",
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "ZALO_", "NHACVIEC_"))
    }
    env.update(ZALO_BOT_TOKEN=bot_api.token, NHACVIEC_CONFIG=str(config))
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("nhacviec")),  # what `make run` runs
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await wait_until(lambda: "getUpdates" in bot_api.calls or process.returncode is not None)
        assert process.returncode is None, (await process.stdout.read()).decode()
        await bot_api.user_sends("u-1", "/ngonngu en")
        (reply,) = await bot_api.wait_for_messages("u-1", 1, within=30)
        process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(process.wait(), 20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = (await process.stdout.read()).decode()
    assert reply.text == "From now on I will write to you in English."
    assert status == 0, output
    assert "reminder engine started (zalo)" in output
    assert bot_api.token.split(":")[1] not in output  # the token never reaches the logs
