"""`nhacviec run`: every platform the deployment is configured for, served by one process.

Telegram (polling or webhook), the Zalo Bot Platform (polling or webhook) and the Zalo Official
Account (webhook) run side by side on one event loop and share:

- one Core, taking one update at a time on SQLite whichever platform it came from (SQLite has one
  writer, and its busy wait is neither fair nor quick);
- one transport registry (bot.transports.registry), so that a reply addressed to a chat on another
  platform — a coordinator on Telegram asked to approve someone who wrote on Zalo — goes out there,
  and a send-only transport for each configured platform this process does not serve;
- one reminder engine sending on every platform;
- one ReplyCourier, delivering every chat reply and keeping those a platform refuses for a while;
- /healthz and /metrics on the webhook servers, or on a server of their own when nothing here takes
  webhooks;
- one graceful stop: no new updates anywhere, no new reminders, the updates already taken handled
  (their replies may still go to the other platforms), then the connections closed.

The Telegram and Zalo webhooks listen on their own ports (`[telegram] webhook_port`, `[zalo]
webhook_port`); the Bot Platform's and the Official Account's webhooks share the Zalo one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.app import App
from bot.ops.http import maybe_start_ops_server
from bot.ops.shutdown import GracefulShutdown
from bot.transports.base import SetupError
from bot.transports.registry import PLATFORMS, Transports
from bot.transports.replies import ReplyCourier

log = logging.getLogger(__name__)


class TurnTakingCore:
    """The process's Core, taking turns with the Telegram bot's updates (same lock)."""

    def __init__(self, core, turn):
        self.core = core
        self.turn = turn

    async def handle(self, incoming):
        async with self.turn:
            return await self.core.handle(incoming)


class Bots:
    """The runners of the platforms named, built (and their settings checked) up front;
    `await start()`, then on the way out the `stop_steps()`."""

    def __init__(self, app: App, platforms: Sequence[str]):
        from bot.core.service import Core

        unknown = sorted(set(platforms) - set(PLATFORMS))
        if unknown:
            raise ValueError(f"no runner for {', '.join(unknown)}")
        self.app = app
        self.platforms = [platform for platform in PLATFORMS if platform in platforms]
        self.transports = Transports()
        self.courier = ReplyCourier(app, self.transports)
        core = Core(app)
        turn = asyncio.Lock() if app.db.sqlite else contextlib.nullcontext()
        shared = {
            "transports": self.transports,
            "courier": self.courier,
            "reminders": False,
            "serve_ops": False,
        }
        self.telegram = None
        self.zalo_runners = []
        if "telegram" in self.platforms:
            from bot.transports.telegram.runner import TelegramBot

            self.telegram = TelegramBot(app, core=core, core_turn=turn, **shared)
        if "zalo" in self.platforms or "zalo_oa" in self.platforms:
            from bot.transports.zalo.runner import ZaloRunner

            zalo_core = TurnTakingCore(core, turn)
            official = None
            if "zalo_oa" in self.platforms:
                official = ZaloRunner(app, official_account=True, core=zalo_core, **shared)
                self.zalo_runners.append(official)
            if "zalo" in self.platforms:
                self.zalo_runners.append(
                    ZaloRunner(
                        app,
                        official_account=False,
                        core=zalo_core,
                        # The Official Account's server (it always has one) takes the bot's webhook too.
                        share_server_with=official,
                        **shared,
                    )
                )
        self.engine = None
        self._ops_server = None
        self._core = core
        self._web_server = None

    @property
    def runners(self) -> list:
        return [*([self.telegram] if self.telegram else []), *self.zalo_runners]

    async def start(self) -> None:
        # Sending works everywhere before any update comes in.
        await self.transports.add_send_only(self.app)
        for runner in self.zalo_runners:  # a host's server before its guest's setWebhook
            await runner.start()
        if self.telegram is not None:
            await self.telegram.start()
        if not any(runner.serves_http for runner in self.runners):
            self._ops_server = await maybe_start_ops_server(self.app)
        if self.app.config.web.enabled:
            from bot.web.server import deliver_through, start_web_server

            try:
                self._web_server = await start_web_server(
                    self.app, core=self._core, deliver=deliver_through(self.app, self.transports)
                )
            except OSError as exc:
                # The bots matter more than the dashboard: they run on, and the log says why it is not.
                log.error(
                    "web dashboard not started on %s:%s: %s",
                    self.app.config.web.host,
                    self.app.config.web.port,
                    exc.strerror or exc,
                )
        from bot.reminders import start_reminder_engine

        self.engine = await start_reminder_engine(self.app, self.transports)
        await self.courier.start()
        log.info("serving %s; sending on %s", ", ".join(self.platforms), ", ".join(self.transports))

    def stop_steps(self) -> list[Callable[[], Awaitable[object]]]:
        """No new updates on any platform; no new reminders (a send in flight finishes); the updates
        already taken handled, while every transport can still send their replies; then closing."""
        runners = self.runners
        return [
            *(runner.stop_intake for runner in runners),
            self._stop_engine,
            *(runner.finish for runner in runners),
            self.courier.stop,
            *(runner.close for runner in runners),
            self.transports.aclose,
            self._stop_ops_server,
            self._stop_web_server,
        ]

    async def stop(self) -> None:
        for step in self.stop_steps():
            try:
                await step()
            except Exception:  # a runner that never started may fail to stop; the next step still runs
                log.exception("stopping: %s failed", getattr(step, "__qualname__", step))

    async def _stop_engine(self) -> None:
        if self.engine is not None:
            engine, self.engine = self.engine, None
            await engine.stop()

    async def _stop_web_server(self) -> None:
        if self._web_server is not None:
            server, self._web_server = self._web_server, None
            await server.stop()

    async def _stop_ops_server(self) -> None:
        if self._ops_server is not None:
            server, self._ops_server = self._ops_server, None
            await server.stop()


async def run_bots(app: App, platforms: Sequence[str]) -> int:
    """Serve `platforms` until SIGTERM or SIGINT (a second one exits at once)."""
    from bot.transports.telegram import ptb_loader

    # Before anything else here imports PTB (bot.transports.telegram.ptb_loader says why).
    ptb_loader.load()
    from telegram.error import InvalidToken

    from bot.cli import CommandError

    # httpx logs request URLs at INFO, and Bot API URLs carry the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        bots = Bots(app, platforms)
    except SetupError as exc:
        raise CommandError(str(exc)) from exc
    async with GracefulShutdown(app.config.ops.shutdown_grace_seconds) as shutdown:
        try:
            await bots.start()
        except SetupError as exc:
            await bots.stop()
            raise CommandError(str(exc)) from exc
        except InvalidToken as exc:
            await bots.stop()
            raise CommandError("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN") from exc
        except BaseException:
            await bots.stop()
            raise
        from bot import startup

        # Serving: what start-up built lives as long as the process (bot.startup).
        startup.resume()
        await shutdown.wait()
        await shutdown.stop(*bots.stop_steps())
    return 0
