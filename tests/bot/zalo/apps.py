"""Apps and runners the Zalo tests start against the emulators."""

from __future__ import annotations

import socket

from bot.app import App
from bot.config import load_config
from bot.transports.zalo.runner import ZaloRunner


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_app(db, clock, env: dict[str, str], **zalo) -> App:
    config = load_config(env=env)
    config.ops.http_enabled = False
    config.reminders.enabled = False
    # A stalled answer (the timeout fault) fails within a second rather than the default ten.
    config.zalo.request_timeout = 1.0
    for key, value in zalo.items():
        setattr(config.zalo, key, value)
    return App(config=config, db=db, clock=clock)


async def start_official_account(db, clock, api) -> ZaloRunner:
    """An OA runner on a free port, its webhook registered with the emulator `api`."""
    app = make_app(
        db,
        clock,
        api.environment(),
        oa_api_base_url=api.api_base_url,
        oa_oauth_url=api.oauth_url,
        webhook_port=0,
    )
    runner = ZaloRunner(app, official_account=True)
    await runner.start()
    api.webhook_url = f"http://127.0.0.1:{runner.port}/zalo-oa"
    return runner
