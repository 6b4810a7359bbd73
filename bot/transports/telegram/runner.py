"""`nhacviec run --transport telegram`: the bot on Telegram through python-telegram-bot.

One handler takes every update: Update → Incoming → Core.handle → replies rendered and sent. Long
polling by default; in webhook mode this process serves the webhook (the secret checked on every
call), /healthz and /metrics on one aiohttp server, and PTB only processes what it is handed
(PTB's "custom webhook server" arrangement). The reminder engine runs in the same process and
sends through the same bot; both draw on the sending budget shared with the other instances
(scheduler.ratelimit, through App.rate_limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from collections.abc import Callable

from aiohttp import web
from telegram import MenuButtonCommands, Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot import groups
from bot.app import App
from bot.config import Config
from bot.core.messages import Incoming, Reply
from bot.ops.http import add_ops_routes, maybe_start_ops_server
from bot.transports.base import SetupError, Transport
from bot.transports.replies import ReplyCourier
from bot.transports.telegram.http import AiohttpRequest
from bot.transports.telegram.menus import MenuKeeper
from bot.transports.telegram.ordering import ChatOrderedUpdates
from bot.transports.telegram.render import CallbackData
from bot.transports.telegram.transport import TelegramTransport
from bot.transports.telegram.updates import (
    ALLOWED_UPDATES,
    PLATFORM,
    ChatMessage,
    plain_message,
    shape_problem,
    to_incoming,
)
from bot.transports.webhook import NotAnUpdate, limited_application, parse_json_object, serve, server_limits

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are a few kilobytes; anything far larger is not from Telegram.
MAX_WEBHOOK_BODY = 1024 * 1024
_SECRET_ALPHABET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramSetupError(SetupError):
    """The Telegram settings cannot work; the message says which and why."""


def build_application(
    config: Config, token: str, *, on_poll_sent: Callable[[], object] | None = None
) -> Application:
    """PTB's application for `token`; `on_poll_sent` is called as each getUpdates goes out."""
    settings = config.telegram
    timeout = settings.request_timeout
    builder = (
        Application.builder()
        .token(token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_url)
        .concurrent_updates(ChatOrderedUpdates(settings.concurrent_updates))
        # aiohttp rather than PTB's default httpx: a quarter of the CPU per call (see .http).
        .request(
            AiohttpRequest(
                read_timeout=timeout, write_timeout=timeout, connect_timeout=timeout, pool_timeout=timeout
            )
        )
        .get_updates_request(
            AiohttpRequest(
                connection_pool_size=1,
                # A long poll legitimately stays open for poll_timeout seconds before answering.
                read_timeout=settings.poll_timeout + timeout,
                write_timeout=timeout,
                connect_timeout=timeout,
                pool_timeout=timeout,
                on_sent=on_poll_sent,
            )
        )
        # Reminders are scheduled by the engine from the database, not by PTB's job queue.
        .job_queue(None)
    )
    if settings.mode == "webhook":
        builder = builder.updater(None)
    return builder.build()


class TelegramBot:
    """The running bot. `async with TelegramBot(app) as bot:` or start()/stop()."""

    def __init__(
        self,
        app: App,
        *,
        token: str | None = None,
        reminders: bool = True,
        core=None,
        transports: dict[str, Transport] | None = None,
        core_turn=None,
        serve_ops: bool = True,
        courier: ReplyCourier | None = None,
    ):
        """`core`, `core_turn`: the process's Core and the lock giving it one update at a time on
        SQLite, when other platforms' runners share them; `transports`: the process's registry
        (bot.transports.registry), which this bot's transport joins and replies to chats on other
        platforms go through; `reminders`, `serve_ops`: this bot starts the reminder engine and, when
        polling, the /healthz server itself; `courier`: the process's ReplyCourier, which the process
        starts and stops (without one, the bot delivers its replies through one of its own)."""
        from bot.core.service import Core

        secret = app.config.secrets.telegram_bot_token
        token = token or (secret.get_secret_value() if secret else None)
        if not token:
            raise TelegramSetupError("TELEGRAM_BOT_TOKEN is not set")
        self.app = app
        self.settings = app.config.telegram
        self.webhook_secret = self._webhook_secret() if self.settings.mode == "webhook" else None
        self.core = core or Core(app)
        self._polling = asyncio.Event()
        self.application = build_application(app.config, token, on_poll_sent=self._polling.set)
        # One limit for all it sends: the shared budget ([reminders.rates.telegram]), which PTB's own
        # rate limiter would only duplicate, without seeing the other instances.
        limiter = app.rate_limits().for_platform(PLATFORM)
        self.transport = TelegramTransport(
            self.application.bot,
            callbacks=CallbackData(),
            pace=limiter.acquire,
            answered=limiter.answered,
        )
        self.transports: dict[str, Transport] = transports if transports is not None else {}
        self.transports[PLATFORM] = self.transport
        self.menus = MenuKeeper(app, self.application.bot)
        self._own_courier = courier is None
        self.courier = courier or ReplyCourier(app, self.transports)
        self.serve_ops = serve_ops
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_handler(TypeHandler(ChatMessage, self._on_chat_message))
        self.application.add_error_handler(self._on_error)
        self.reminders = reminders
        self.engine = None
        self.webhook_url: str | None = None
        self._web_runner: web.AppRunner | None = None
        self._ops_server = None
        self.username = self.settings.bot_username
        # SQLite takes one writer at a time, and its busy wait is neither fair nor quick (writers
        # poll with growing sleeps): updates queue here for the core instead, first come first
        # served, while replies still go out concurrently. PostgreSQL handles them side by side.
        if core_turn is None:
            core_turn = asyncio.Lock() if app.db.sqlite else contextlib.nullcontext()
        self._core_turn = core_turn

    def _webhook_secret(self) -> str:
        secret = self.app.config.secrets.telegram_webhook_secret
        value = secret.get_secret_value() if secret else ""
        if not value:
            raise TelegramSetupError(
                "webhook mode needs TELEGRAM_WEBHOOK_SECRET (1-256 characters: A-Z, a-z, 0-9, _ and -)"
            )
        if not _SECRET_ALPHABET.fullmatch(value):
            raise TelegramSetupError(
                "TELEGRAM_WEBHOOK_SECRET may only contain A-Z, a-z, 0-9, _ and - (1-256 characters)"
            )
        return value

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.application.initialize()
        me = self.application.bot.bot
        if me.username and me.username.lower() != self.settings.bot_username.lstrip("@").lower():
            log.warning(
                "the token belongs to @%s but [telegram] bot_username is %s: invite links would open another bot",
                me.username,
                self.settings.bot_username,
            )
        self.username = me.username or self.username
        if self.settings.rate_limit_per_second is not None:
            log.warning(
                "[telegram] rate_limit_per_second is no longer used: the sending budget is "
                "[reminders.rates.telegram] (per_second, per_chat_per_second)"
            )
        await self.application.start()
        if self.settings.mode == "webhook":
            await self._set_commands()
            await self._start_webhook()
        else:
            await self.application.updater.start_polling(
                timeout=self.settings.poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=5,
                error_callback=self._on_polling_error,
            )
            # Messages reach the bot from its first getUpdates on: let it go out before the rest of
            # start-up (menus, the dashboard, the reminder engine, their imports) takes the CPU.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.request_timeout):
                    await self._polling.wait()
            await self._set_commands()
            if self.serve_ops:
                self._ops_server = await maybe_start_ops_server(self.app)
        if self.reminders:
            from bot.reminders import start_reminder_engine

            self.engine = await start_reminder_engine(self.app, self.transports)
        if self._own_courier:
            await self.courier.start()
        log.info("Telegram bot @%s running (%s)", self.username, self.settings.mode)

    def stop_steps(self) -> list:
        """Stopping, in the order that loses nothing: no new updates, then no new reminders while
        in-flight sends finish, then the updates already taken are handled, then the connections close.
        Each step is separate so that a grace period can cut one short and still run the next."""
        return [
            self.stop_intake,
            self._stop_engine,
            self.finish,
            self._stop_menus,
            self._stop_courier,
            self.close,
        ]

    async def stop(self) -> None:
        for step in self.stop_steps():
            await step()

    @property
    def serves_http(self) -> bool:
        """The webhook server is up (it answers /healthz and /metrics too)."""
        return self._web_runner is not None

    async def stop_intake(self) -> None:
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        if self._web_runner is not None:
            await self._web_runner.cleanup()
            self._web_runner = None
        if self._ops_server is not None:
            await self._ops_server.stop()
            self._ops_server = None

    async def _stop_engine(self) -> None:
        if self.engine is not None:
            engine, self.engine = self.engine, None
            await engine.stop()

    async def finish(self) -> None:
        """Handle the updates already taken."""
        if self.application.running:
            await self.application.stop()

    async def _stop_menus(self) -> None:
        await self.menus.close()

    async def _stop_courier(self) -> None:
        if self._own_courier:
            await self.courier.stop()

    async def close(self) -> None:
        await self.application.shutdown()

    async def __aenter__(self) -> TelegramBot:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def _set_commands(self) -> None:
        """The command menu in Vietnamese (also for users whose language has no menu) and in English;
        each coordinator's and admin's chat gets their own; the menu button opens the menu. Only
        menus that differ from those last set are sent (bot.transports.telegram.menus)."""
        await self.application.bot.set_chat_menu_button(menu_button=MenuButtonCommands())
        await self.menus.sync(force=True)
        self.menus.watch(self.settings.menu_check_seconds)

    async def update_menus(self) -> None:
        """Set the chats' own menus that changed (coordinators', admins', linked groups'), in the
        background."""
        self.menus.poke()

    # -- webhook ------------------------------------------------------------------------------

    async def _start_webhook(self) -> None:
        limits = server_limits(self.app.config, max_body=MAX_WEBHOOK_BODY)
        server = limited_application(limits)
        server.router.add_post(self.settings.webhook_path, self._on_webhook_call)
        add_ops_routes(server, self.app, public=True)
        self._web_runner = await serve(
            server, self.settings.webhook_listen, self.settings.webhook_port, limits
        )
        host, port = self._web_runner.addresses[0][:2]
        self.webhook_url = self.settings.webhook_url
        if not self.webhook_url:
            self.webhook_url = f"http://{host}:{port}{self.settings.webhook_path}"
            log.warning(
                "[telegram] webhook_url is not set: using %s, which only this machine can reach",
                self.webhook_url,
            )
        await self.application.bot.set_webhook(
            self.webhook_url,
            secret_token=self.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
            max_connections=self.settings.concurrent_updates,
        )
        log.info("webhook listening on %s:%s%s", host, port, self.settings.webhook_path)

    async def _on_webhook_call(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            log.warning(
                "webhook call refused: %s secret, from %s", "wrong" if given else "no", request.remote
            )
            return web.Response(status=403)
        body = await request.read()  # bounded in size and time by the application (bot.transports.webhook)
        try:
            data = parse_json_object(body)
            if not isinstance(data.get("update_id"), int) or isinstance(data.get("update_id"), bool):
                raise NotAnUpdate("no update_id")
            problem = shape_problem(data)
            if problem:
                raise NotAnUpdate(problem)
            update = plain_message(data, bot_username=self.username)
            if update is None:
                update = Update.de_json(data, self.application.bot)
        except (NotAnUpdate, ValueError, TypeError, KeyError, AttributeError, TelegramError) as exc:
            # Whoever sent it knows the secret but did not send an update: say so, in one line.
            reason = str(exc) if isinstance(exc, NotAnUpdate) else type(exc).__name__
            log.warning("webhook call refused with 400 (%d bytes): %s", len(body), reason)
            return web.Response(status=400, text="not a Telegram update")
        await self.application.update_queue.put(update)
        return web.Response()

    # -- updates ------------------------------------------------------------------------------

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            # Answer at once: the user's client shows a spinner on the button until we do.
            try:
                await update.callback_query.answer()
            except TelegramError as exc:
                log.info("callback query not answered: %s", exc)
        change = update.my_chat_member
        if change is not None:
            if change.chat.type in ("group", "supergroup") and change.new_chat_member.status in (
                "left",
                "kicked",
            ):
                async with self._core_turn:
                    notices = await groups.bot_removed(
                        self.app,
                        platform=PLATFORM,
                        chat_id=str(change.chat.id),
                        title=change.chat.title or "",
                    )
                for reply in notices:
                    await self._send_reply(str(change.chat.id), reply)
                await self.update_menus()
            return
        message = update.message
        if message is not None and message.migrate_to_chat_id:
            async with self._core_turn:
                await groups.follow_migration(
                    self.app,
                    platform=PLATFORM,
                    chat_id=str(message.chat.id),
                    new_chat_id=str(message.migrate_to_chat_id),
                )
            await self.update_menus()
            return
        incoming = to_incoming(update, bot_username=self.username, callbacks=self.transport.callbacks)
        if incoming is not None:
            await self._answer(incoming)

    async def _on_chat_message(self, update: ChatMessage, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._answer(update.incoming)

    async def _answer(self, incoming: Incoming) -> None:
        async with self._core_turn:
            verdict = await groups.screen(self.app, incoming, bot_username=self.username)
            replies = list(verdict.replies)
            if verdict.admit:
                # The core answers every failure of its own with a message in the user's language.
                replies += await self.core.handle(incoming)
        # In a group, each answer quotes the message it answers: several people may be talking.
        answered = incoming.message_id if incoming.is_group else None
        for reply in replies:
            await self._send_reply(incoming.chat_id, reply, reply_to=answered)
        # A registration, an approval, a hand-over, a language chosen, a group linked: menus follow.
        await self.update_menus()

    async def _send_reply(self, chat_id: str, reply: Reply, *, reply_to: str | None = None) -> None:
        # A chat on another platform too (an applicant on Zalo told of a coordinator's tap, say):
        # the courier has the process's registry.
        if reply.to_chat_id:
            await self.courier.deliver(reply.to_platform or PLATFORM, reply.to_chat_id, reply)
        else:
            await self.courier.deliver(PLATFORM, chat_id, reply, reply_to=reply_to)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling an update", exc_info=context.error)

    @staticmethod
    def _on_polling_error(error: TelegramError) -> None:
        log.warning("polling Telegram failed, retrying: %s", error)


async def run_telegram(app: App) -> int:
    """Run until SIGTERM or SIGINT (a second one exits at once); the other configured platforms
    are sent on, not served (see bot.transports.runner)."""
    from bot.transports.runner import run_bots

    return await run_bots(app, [PLATFORM])
