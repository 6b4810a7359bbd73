"""Apps and runners the Zalo tests start against the emulators."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from bot.app import App
from bot.config import load_config
from bot.transports.zalo.runner import ZaloRunner, bot_transport
from tests.bot.delivery import unpaced
from tests.emulators.zalo_bot import ZaloBotEmulator
from tests.emulators.zalo_oa import ZaloOAEmulator


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_app(db, clock, env: dict[str, str], **zalo) -> App:
    config = load_config(env=env)
    config.ops.http_enabled = False
    config.reminders.enabled = False
    # A stalled answer (the timeout fault) fails within seconds rather than the default ten, and a
    # loaded machine (the suite runs in parallel workers) does not stall a normal answer that long.
    config.zalo.request_timeout = 2.5
    unpaced(config)
    for key, value in zalo.items():
        setattr(config.zalo, key, value)
    return App(config=config, db=db, clock=clock)


async def start_official_account(db, clock, api, bot_api=None, **settings) -> ZaloRunner:
    """An OA runner on a free port, its webhook registered with the emulator `api`; `settings` are
    more `[zalo]` keys. With `bot_api`, the Zalo Bot Platform is configured too, as a second transport."""
    env = api.environment()
    if bot_api is not None:
        env["ZALO_BOT_TOKEN"] = bot_api.token
        settings["api_base_url"] = bot_api.base_url
    app = make_app(
        db,
        clock,
        env,
        oa_api_base_url=api.api_base_url,
        oa_oauth_url=api.oauth_url,
        zns_api_url=api.zns_url,
        webhook_port=0,
        **settings,
    )
    others = {"zalo": bot_transport(app)} if bot_api is not None else None
    runner = ZaloRunner(app, official_account=True, other_transports=others)
    await runner.start()
    api.webhook_url = f"http://127.0.0.1:{runner.port}/zalo-oa"
    return runner


def polling_runner(db, clock, api: ZaloBotEmulator) -> ZaloRunner:
    """A Zalo Bot Platform runner polling the emulator `api`, not started yet: tests set its waits first."""
    app = make_app(db, clock, {"ZALO_BOT_TOKEN": api.token}, api_base_url=api.base_url, poll_timeout=1)
    return ZaloRunner(app, official_account=False)


def webhook_runner(
    db, clock, api: ZaloBotEmulator, secret: str = "s3cret-webhook-token", *, serve_files=False, **settings
) -> ZaloRunner:
    """A Zalo Bot Platform runner taking webhooks on a free port, not started yet; with `serve_files`
    it also serves reports as links on that port; `settings` are more `[zalo]` keys."""
    port = free_port()
    if serve_files:
        settings["public_base_url"] = f"http://127.0.0.1:{port}"
    app = make_app(
        db,
        clock,
        {"ZALO_BOT_TOKEN": api.token, "ZALO_WEBHOOK_SECRET": secret},
        api_base_url=api.base_url,
        mode="webhook",
        webhook_port=port,
        webhook_url=f"http://127.0.0.1:{port}/zalo",
        **settings,
    )
    return ZaloRunner(app, official_account=False)


MODES = ("polling", "webhook", "official_account")


@dataclass
class Zalo:
    """One way of reaching people on Zalo, seen from the people's side."""

    mode: str
    api: ZaloBotEmulator | ZaloOAEmulator
    runner: ZaloRunner

    @property
    def platform(self) -> str:
        return self.runner.transport.platform

    async def say(self, user_id: str, text: str, name: str = "Trần Thị Lan") -> list[str]:
        """Send as the user; the texts the bot answered with."""
        before = len(self.texts(user_id))
        await self.api.user_sends(user_id, text, name=name)
        if self.mode == "polling":
            # The update is first fetched by the runner: wait for the first answer to arrive.
            await self.api.wait_for_messages(user_id, before + 1)
        await self.runner.queue.drain()
        return self.texts(user_id)[before:]

    def texts(self, user_id: str) -> list[str]:
        return self.api.texts_to(user_id)


async def start_zalo(mode: str, db, clock) -> tuple[Zalo, callable]:
    if mode == "official_account":
        api = await ZaloOAEmulator(clock=clock).start()
        runner = await start_official_account(db, clock, api)
    else:
        api = await ZaloBotEmulator(clock=clock).start()
        if mode == "webhook":
            runner = webhook_runner(db, clock, api, poll_timeout=1)
        else:
            runner = polling_runner(db, clock, api)
        await runner.start()

    async def stop() -> None:
        await runner.stop()
        await api.stop()

    return Zalo(mode, api, runner), stop
