"""`nhacviec run --transport zalo|zalo_oa`: Zalo updates in, core replies and reminders out.

Bot Platform: long polling with getUpdates by default; in webhook mode the platform POSTs each update
with the secret given to setWebhook in `X-Bot-Api-Secret-Token`. Official Account: always a webhook,
each call signed in `X-ZEvent-Signature`; Zalo wants an answer within 2 seconds, so updates are
acknowledged at once and handled after. One aiohttp server answers the webhooks, the file links, and
/healthz and /metrics.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hmac
import logging
from collections.abc import Awaitable, Callable

import httpx
from aiohttp import web

from bot.app import App
from bot.ops.http import add_ops_routes, maybe_start_ops_server
from bot.reminders import start_reminder_engine
from bot.transports.base import SetupError, Transport
from bot.transports.replies import ReplyCourier
from bot.transports.webhook import NotAnUpdate, limited_application, parse_json_object, serve, server_limits
from bot.transports.zalo.authorisation import OAAuthorisation
from bot.transports.zalo.bot_transport import ZaloBotTransport
from bot.transports.zalo.client import ZaloApiError, ZaloBotClient, ZaloNetworkError
from bot.transports.zalo.conversation import ChatQueue, Conversation
from bot.transports.zalo.files import FILES_PATH, SharedFiles
from bot.transports.zalo.oa_client import ZaloOAClient, ZaloOAError
from bot.transports.zalo.oa_transport import (
    ZaloOATransport,
    event_time,
    incoming_from_event,
    replay_key,
    verify_signature,
)
from bot.transports.zalo.tokens import OATokenStore, TokenUnavailable
from bot.transports.zalo.updates import incoming_from_update, unwrap
from storage import zalo as zalo_repository
from storage.secret_box import SecretBox, SecretKeyError

log = logging.getLogger(__name__)

# Longest pause between getUpdates attempts while Zalo is unreachable.
MAX_POLL_BACKOFF = 60.0
MAX_BODY = 1024 * 1024
# On stop, how long an answer to getUpdates in flight is awaited before the long poll is cut.
POLL_STOP_WAIT = 0.5


class ZaloSetupError(SetupError):
    """The configuration cannot run: the message names the setting to fix."""


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def shared_files(app: App) -> SharedFiles | None:
    """Expiring links to the files Zalo cannot take, when `[zalo] public_base_url` says where the
    process serving Zalo answers them."""
    config = app.config.zalo
    if not config.public_base_url:
        return None
    return SharedFiles(
        app.db,
        app.clock,
        public_base_url=config.public_base_url,
        lifetime=dt.timedelta(hours=config.file_link_hours),
    )


def bot_transport(app: App, http: httpx.AsyncClient | None = None) -> ZaloBotTransport:
    """The Bot Platform transport (its client owns a connection pool unless `http` is given)."""
    config = app.config.zalo
    token = _secret(app.config.secrets.zalo_bot_token)
    if not token:
        raise ZaloSetupError("ZALO_BOT_TOKEN is not set")
    client = ZaloBotClient(token, base_url=config.api_base_url, timeout=config.request_timeout, http=http)
    return ZaloBotTransport(client, tz=app.config.tz, files=shared_files(app))


def secret_box(app: App) -> SecretBox:
    """What seals the OA tokens in the database: NHACVIEC_SECRET_KEY is required for an OA."""
    try:
        box = SecretBox.from_setting(_secret(app.config.secrets.secret_key))
    except SecretKeyError as exc:
        raise ZaloSetupError(str(exc)) from exc
    if box is None:
        raise ZaloSetupError(
            "NHACVIEC_SECRET_KEY not set: the Official Account's tokens are stored encrypted with it "
            "(make a key with `nhacviec db new-key`; see docs/operations.md)"
        )
    return box


def oa_transport(app: App, http: httpx.AsyncClient | None = None) -> ZaloOATransport:
    """The Official Account transport: what sending needs (the app id and secret, to renew tokens)."""
    config, secrets = app.config.zalo, app.config.secrets
    app_id, app_secret = secrets.zalo_oa_app_id, _secret(secrets.zalo_oa_app_secret)
    missing = [
        name for name, value in (("ZALO_OA_APP_ID", app_id), ("ZALO_OA_APP_SECRET", app_secret)) if not value
    ]
    if missing:
        raise ZaloSetupError(f"{', '.join(missing)} not set: the Official Account needs them")
    client = ZaloOAClient(
        app_id=app_id,
        app_secret=app_secret,
        api_base_url=config.oa_api_base_url,
        oauth_url=config.oa_oauth_url,
        zns_url=config.zns_api_url,
        timeout=config.request_timeout,
        http=http,
    )
    tokens = OATokenStore(
        app.db,
        app.clock,
        client,
        app_id=app_id,
        box=secret_box(app),
        seed_access_token=_secret(secrets.zalo_oa_access_token),
        seed_refresh_token=_secret(secrets.zalo_oa_refresh_token),
    )
    return ZaloOATransport(
        client,
        tokens,
        app.db,
        app.clock,
        tz=app.config.tz,
        reply_window=dt.timedelta(hours=config.oa_reply_window_hours),
        files=shared_files(app),
        consultation_quota=config.oa_monthly_consultation_quota,
        zns_template_id=config.zns_template_id,
        zns_params=config.zns_params,
    )


class ZaloRunner:
    """Everything one Zalo process runs; `start()` then, on the way out, `stop_steps()`."""

    def __init__(
        self,
        app: App,
        *,
        official_account: bool,
        core=None,
        other_transports: dict[str, Transport] | None = None,
        transports: dict[str, Transport] | None = None,
        reminders: bool = True,
        serve_ops: bool = True,
        share_server_with: ZaloRunner | None = None,
        courier: ReplyCourier | None = None,
    ):
        """`transports`: the process's registry (bot.transports.registry), which this runner's
        transport joins and its replies to other chats go through; `other_transports`: send-only
        transports of the other platforms, for a registry of its own. `reminders`, `serve_ops`: this
        runner starts the reminder engine and (without a web server) the /healthz server itself.
        `share_server_with`: the Official Account runner of the same process, whose web server also
        takes this runner's webhook (both listen on `[zalo] webhook_port`). `courier`: the process's
        ReplyCourier (bot.transports.replies), which the process starts and stops; without one, this
        runner delivers its replies through a courier of its own."""
        from bot.core.service import Core

        self.app = app
        self.official_account = official_account
        self.config = app.config.zalo
        secrets = app.config.secrets
        self._http = httpx.AsyncClient(timeout=self.config.request_timeout)
        self.files = shared_files(app)
        if official_account:
            self._oa_secret_key = _secret(secrets.zalo_oa_secret_key)
            missing = [
                name
                for name, value in (
                    ("ZALO_OA_APP_ID", secrets.zalo_oa_app_id),
                    ("ZALO_OA_APP_SECRET", _secret(secrets.zalo_oa_app_secret)),
                    ("ZALO_OA_SECRET_KEY", self._oa_secret_key),
                )
                if not value
            ]
            if missing:
                raise ZaloSetupError(f"{', '.join(missing)} not set: the Official Account needs them")
            self.transport = oa_transport(app, self._http)
            self.oa_client, self.tokens = self.transport.client, self.transport.tokens
        else:
            self._webhook_secret = _secret(secrets.zalo_webhook_secret)
            if self.config.mode == "webhook" and not (self.config.webhook_url and self._webhook_secret):
                raise ZaloSetupError(
                    "webhook mode needs [zalo] webhook_url and ZALO_WEBHOOK_SECRET (8 to 256 characters)"
                )
            if self.config.mode == "webhook" and not _https_or_loopback(self.config.webhook_url):
                raise ZaloSetupError(
                    f"[zalo] webhook_url must be an https:// URL (the Bot API refuses any other), "
                    f"not {self.config.webhook_url!r}"
                )
            self.transport = bot_transport(app, self._http)
            self.client = self.transport.client
        self.transports: dict[str, Transport] = transports if transports is not None else {}
        self.transports[self.transport.platform] = self.transport
        for platform, other in (other_transports or {}).items():
            self.transports.setdefault(platform, other)
        self._own_courier = courier is None
        self.courier = courier or ReplyCourier(app, self.transports)
        self.conversation = Conversation(app, core or Core(app), self.courier)
        self.authorisation = (
            OAAuthorisation(app, self.tokens, self.courier, app_id=secrets.zalo_oa_app_id)
            if official_account
            else None
        )
        self.queue = ChatQueue(self.config.concurrent_updates)
        self.reminders = reminders
        self.serve_ops = serve_ops
        self.engine = None
        self._stopping = asyncio.Event()
        self._poller: asyncio.Task | None = None
        self._server: web.AppRunner | None = None
        self._ops_server = None
        self._host = share_server_with
        self._guests: list[ZaloRunner] = []
        if share_server_with is not None:
            share_server_with._guests.append(self)
        self.port: int | None = None
        self.initial_backoff = 1.0  # seconds before the first getUpdates retry; it doubles from there

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        # The server first: once setWebhook is called, updates may arrive at any moment.
        if self._host is not None:
            self.port = self._host.port  # the host started first, with this runner's routes
        elif self._needs_server():
            await self._start_server()
        elif self.serve_ops:
            self._ops_server = await maybe_start_ops_server(self.app)
        if self.official_account:
            await self._start_oa()
        else:
            await self._start_bot()
        if self.reminders:
            self.engine = await start_reminder_engine(self.app, self.transports)
        if self._own_courier:
            await self.courier.start()
        if self.authorisation is not None:
            self.authorisation.start(self.config.oa_token_check_minutes * 60)
        if self.config.mode == "polling" and not self.official_account:
            self._poller = asyncio.create_task(self._poll(), name="zalo-poll")

    @property
    def serves_http(self) -> bool:
        """A web server of this runner's (or its host's) is up, answering /healthz and /metrics too."""
        return self._server is not None or (self._host is not None and self._host.serves_http)

    def stop_steps(self) -> list[Callable[[], Awaitable[object]]]:
        """In order: take no new updates, finish those taken, stop reminders, close connections."""
        return [self.stop_intake, self.finish, self._stop_engine, self._stop_courier, self.close]

    async def _start_bot(self) -> None:
        try:
            me = await self.client.get_me()
        except ZaloApiError as exc:
            raise ZaloSetupError(
                f"Zalo refused the bot token ({exc.error_code}): check ZALO_BOT_TOKEN"
            ) from exc
        except ZaloNetworkError as exc:
            raise ZaloSetupError(f"cannot reach the Zalo Bot API at [zalo] api_base_url: {exc}") from exc
        log.info("Zalo bot %s (%s) starting in %s mode", me.display_name, me.account_name, self.config.mode)
        self.conversation.bot_name = me.account_name or me.display_name
        if self.config.mode == "webhook":
            try:
                await self.client.set_webhook(self.config.webhook_url, self._webhook_secret)
                info = await self.client.get_webhook_info()
            except (ZaloApiError, ZaloNetworkError) as exc:
                raise ZaloSetupError(f"Zalo refused [zalo] webhook_url: {exc}") from exc
            # The API's own account of the webhook it will call: anything else means updates go elsewhere.
            if str(info.get("url") or "") != self.config.webhook_url:
                raise ZaloSetupError(
                    f"Zalo reports the webhook as {info.get('url')!r}, not [zalo] webhook_url: set it again"
                )
        else:
            # getUpdates answers nothing while a webhook is set (a previous webhook deployment, say).
            await self.client.delete_webhook()

    async def _start_oa(self) -> None:
        try:
            await self.tokens.seed()
        except TokenUnavailable as exc:
            raise ZaloSetupError(str(exc)) from exc
        try:
            await self.transport.check()
        except (ZaloOAError, ZaloNetworkError, TokenUnavailable) as exc:
            # Not fatal: the webhook still records who writes, and sends retry once Zalo answers.
            log.error("the Official Account API did not accept our token yet: %s", exc)
        log.info("Zalo Official Account webhook at %s", self.config.oa_webhook_path)

    def _needs_server(self) -> bool:
        return self.official_account or self.config.mode == "webhook" or self.files is not None

    def _add_webhook_route(self, web_app: web.Application) -> None:
        if self.official_account:
            web_app.router.add_post(self.config.oa_webhook_path, self._on_oa_webhook)
        elif self.config.mode == "webhook":
            web_app.router.add_post(self.config.webhook_path, self._on_bot_webhook)

    async def _start_server(self) -> None:
        limits = server_limits(self.app.config, max_body=MAX_BODY)
        web_app = limited_application(limits)
        for runner in (self, *self._guests):
            runner._add_webhook_route(web_app)
        if self.files is not None:
            web_app.router.add_get(FILES_PATH + "/{token}", self._on_file)
        add_ops_routes(web_app, self.app, public=True)
        self._server = await serve(web_app, self.config.webhook_listen, self.config.webhook_port, limits)
        self.port = self._server.addresses[0][1]
        log.info("listening on %s:%s", self.config.webhook_listen, self.port)

    async def stop_intake(self) -> None:
        self._stopping.set()
        if self._poller is not None:
            # An answer already on its way carries an update Zalo will not hand out again: give it a
            # moment. A long poll still waiting for news is cut short: waiting out its 30 seconds
            # would outlast the shutdown grace period.
            done, _ = await asyncio.wait({self._poller}, timeout=POLL_STOP_WAIT)
            if not done:
                self._poller.cancel()
            try:
                await self._poller
            except asyncio.CancelledError:
                pass

    async def finish(self) -> None:
        """Handle every update already taken."""
        await self.queue.drain()

    async def _stop_engine(self) -> None:
        if self.engine is not None:
            await self.engine.stop()

    async def _stop_courier(self) -> None:
        if self.authorisation is not None:
            await self.authorisation.stop()
        if self._own_courier:
            await self.courier.stop()

    async def close(self) -> None:
        if self._poller is not None and not self._poller.done():
            self._poller.cancel()
        if self._server is not None:
            await self._server.cleanup()
        if self._ops_server is not None:
            await self._ops_server.stop()
        await self._http.aclose()

    async def stop(self) -> None:
        for step in self.stop_steps():
            await step()

    # -- updates in ------------------------------------------------------------------------------

    def accept_update(self, update: dict) -> bool:
        """Queue a Bot Platform update for the core; False when it is nothing the core handles."""
        incoming = incoming_from_update(update)
        if incoming is None:
            log.info("Zalo update %s ignored", update.get("event_name"))
            return False

        async def job() -> None:
            # "typing…" goes out first and shows while the core works on the answer.
            await asyncio.gather(self.transport.typing(incoming.chat_id), self.conversation.handle(incoming))

        self.queue.submit(f"zalo:{incoming.chat_id}", job)
        return True

    async def _poll(self) -> None:
        backoff = self.initial_backoff
        while not self._stopping.is_set():
            try:
                update = await self.client.get_updates(long_poll=self.config.poll_timeout)
            except (ZaloApiError, ZaloNetworkError) as exc:
                if isinstance(exc, ZaloApiError) and exc.error_code in (401, 404):
                    log.error("Zalo refused the bot token while polling; stopping the poller")
                    return
                log.warning("polling Zalo failed, retrying in %gs: %s", backoff, exc)
                try:
                    await asyncio.wait_for(self._stopping.wait(), backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, MAX_POLL_BACKOFF)
                continue
            backoff = self.initial_backoff
            if update is not None:
                self.accept_update(unwrap(update) or update)

    async def _on_bot_webhook(self, request: web.Request) -> web.Response:
        supplied = request.headers.get("X-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(supplied.encode(), (self._webhook_secret or "").encode()):
            log.warning("Zalo webhook call without the right secret token refused")
            return web.Response(status=401, text="unauthorized")
        body = await request.read()
        try:
            payload = parse_json_object(body)
            if not isinstance(payload.get("event_name"), str):
                raise NotAnUpdate("no event_name")
        except NotAnUpdate as exc:
            log.warning("Zalo webhook call refused with 400 (%d bytes): %s", len(body), exc)
            return web.Response(status=400, text="not a Zalo update")
        update = unwrap(payload)
        if update is None:
            # An event of a kind without a message (answered 200: a retry would change nothing).
            log.info("Zalo webhook event %s ignored", payload["event_name"][:60])
        else:
            self.accept_update(update)
        return web.json_response({"ok": True})

    async def _on_oa_webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        # The signature first, on the raw bytes: nothing unsigned is parsed.
        if not verify_signature(
            body,
            request.headers.get("X-ZEvent-Signature"),
            app_id=self.oa_client.app_id,
            oa_secret_key=self._oa_secret_key,
        ):
            log.warning("Zalo OA webhook call with a wrong or missing signature refused")
            return web.Response(status=401, text="bad signature")
        try:
            event = parse_json_object(body)
            happened = event_time(event)
            incoming = incoming_from_event(event)
        except NotAnUpdate as exc:
            log.warning("Zalo OA webhook call refused with 400 (%d bytes): %s", len(body), exc)
            return web.Response(status=400, text="not a Zalo OA event")
        now = self.app.clock.now()
        window = dt.timedelta(seconds=self.config.oa_event_max_age_seconds)
        if abs(now - happened) > window:
            log.warning(
                "Zalo OA event refused: its timestamp is %ds from now (more than %ds)",
                (now - happened).total_seconds(),
                window.total_seconds(),
            )
            return web.Response(status=400, text="stale event")
        async with self.app.db.transaction() as session:
            # Kept twice the window: anything older than the window is refused above anyway.
            first = await zalo_repository.first_sighting(session, replay_key(event, body), now, 2 * window)
        if not first:
            log.info("Zalo OA event %s seen before: ignored", event.get("event_name"))
            return web.json_response({"error": 0})
        if incoming is None:
            log.info("Zalo OA event %s ignored", event.get("event_name"))
            return web.json_response({"error": 0})

        async def job() -> None:
            # The window opens when the follower writes, whatever the core makes of the message.
            await self.transport.record_message(incoming.user_id, incoming.message_id)
            name = await self.transport.display_name(incoming.user_id)
            await self.conversation.handle(dataclasses.replace(incoming, user_name=name))

        self.queue.submit(f"zalo_oa:{incoming.chat_id}", job)
        return web.json_response({"error": 0})

    async def _on_file(self, request: web.Request) -> web.Response:
        shared = await self.files.fetch(request.match_info["token"])
        if shared is None:
            return web.Response(status=404, text="This link has expired or does not exist.")
        return web.Response(
            body=shared.content,
            content_type=shared.mime_type,
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(shared.filename)}",
                "Cache-Control": "private, no-store",
            },
        )


def _https_or_loopback(url: str | None) -> bool:
    """The Bot API takes only https webhooks; plain http is allowed for this machine alone, where an
    emulator or a local proxy listens."""
    from urllib.parse import urlsplit

    parts = urlsplit(url or "")
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def _quote(filename: str) -> str:
    from urllib.parse import quote

    return quote(filename, safe="")


async def run_zalo(app: App, official_account: bool) -> int:
    """Run until SIGTERM or SIGINT (a second one exits at once); the other configured platforms
    are sent on, not served (see bot.transports.runner)."""
    from bot.transports.runner import run_bots

    return await run_bots(app, ["zalo_oa" if official_account else "zalo"])
