"""`/healthz` and `/metrics` over HTTP.

Polling mode has no web server of its own, so `start_ops_server` runs a small one
(`[ops] http_listen`/`http_port`). In webhook mode the process already serves HTTP for the
platform's calls: the runner that owns that aiohttp application calls `add_ops_routes(web_app,
app)` before starting it, so one server answers the webhook, the health check and the scrape.

`/healthz` answers 200 when the database answers and every engine tick named in
`[ops] max_tick_age_seconds` finished recently enough, else 503; the JSON body says which check
failed. Ages are measured with the app's clock, the same clock the engine stamps its ticks with.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import text

from bot.ops import metrics
from bot.transports.webhook import limited_application, serve, server_limits

log = logging.getLogger(__name__)

DATABASE_TIMEOUT_SECONDS = 3.0
_NV_APP = web.AppKey("nhacviec_app", object)
_STARTED = web.AppKey("nhacviec_ops_started", dt.datetime)
_PUBLIC = web.AppKey("nhacviec_ops_public", bool)


async def _database_check(db) -> dict:
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            async with db.snapshot() as session:
                await session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure is the answer: the database is not usable
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": round((loop.time() - started) * 1000, 1)}


def _tick_checks(now: dt.datetime, started: dt.datetime, limits: dict[str, float]) -> dict[str, dict]:
    checks = {}
    for tick in sorted(set(limits) | set(metrics.TICKS)):
        last = metrics.last_tick(tick)
        entry: dict = {"last": last.isoformat() if last else None}
        if last is not None:
            entry["age_seconds"] = round((now - last).total_seconds(), 1)
        limit = limits.get(tick)
        if limit is not None:
            # Before the first tick, the process gets one period from its start to produce it.
            age = (now - (last or started)).total_seconds()
            entry["max_age_seconds"] = limit
            entry["ok"] = age <= limit
        checks[tick] = entry
    return checks


async def health(app, started: dt.datetime) -> tuple[bool, dict]:
    """The verdict and its JSON body; `started` is when this process began serving."""
    now = app.clock.now()
    database = await _database_check(app.db)
    ticks = _tick_checks(now, started, app.config.ops.max_tick_age_seconds)
    ok = database["ok"] and all(t.get("ok", True) for t in ticks.values())
    return ok, {
        "status": "ok" if ok else "failing",
        "now": now.isoformat(),
        "database": database,
        "ticks": ticks,
    }


async def _healthz(request: web.Request) -> web.Response:
    ok, body = await health(request.app[_NV_APP], request.app[_STARTED])
    if not ok:
        log.warning("health check failing: %s", body)
    if request.app[_PUBLIC] and not _bearer_ok(request):
        # On a port the internet reaches, the verdict only: which check failed, the database's
        # latency and the engine's timings are for the operator (the ops port, or the token).
        body = {"status": body["status"]}
    return web.json_response(body, status=200 if ok else 503)


def _bearer_ok(request: web.Request) -> bool:
    """The request carries `Authorization: Bearer <NHACVIEC_METRICS_TOKEN>` (and one is set)."""
    secret = request.app[_NV_APP].config.secrets.metrics_token
    if secret is None:
        return False
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        supplied.strip().encode(), secret.get_secret_value().encode()
    )


async def _metrics(request: web.Request) -> web.Response:
    app = request.app[_NV_APP]
    if app.config.secrets.metrics_token is not None or request.app[_PUBLIC]:
        if not _bearer_ok(request):
            if app.config.secrets.metrics_token is None:
                # The webhook port without a token: metrics are on the ops port only.
                raise web.HTTPNotFound()
            log.warning("metrics scrape refused: no or wrong bearer token, from %s", request.remote)
            return web.Response(
                status=401, text="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="metrics"'}
            )
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            await metrics.refresh_from_database(app.db, app.clock.now())
    except Exception as exc:  # the scrape still succeeds; nhacviec_database_up says what failed
        metrics.DATABASE_UP.set(0)
        log.warning("metrics: database not readable: %s", type(exc).__name__)
    return web.Response(
        body=metrics.REGISTRY.render().encode(), headers={"Content-Type": metrics.CONTENT_TYPE}
    )


def add_ops_routes(web_app: web.Application, app, *, public: bool = False) -> web.Application:
    """Add GET /healthz and GET /metrics to an aiohttp application that is not started yet.

    For the webhook runner: call this with `public=True` on the application that serves the
    webhook, so one port answers Telegram (or Zalo) and the load balancer's health checks. There
    /healthz says only ok or failing, and /metrics answers only with the bearer token
    (NHACVIEC_METRICS_TOKEN; without one set, 404). On the ops server (`public=False`, loopback by
    default) both say everything, /metrics asking for the token only when one is set.
    """
    web_app[_NV_APP] = app
    web_app[_PUBLIC] = public
    web_app[_STARTED] = app.clock.now()
    web_app.router.add_get("/healthz", _healthz)
    web_app.router.add_get("/metrics", _metrics)
    return web_app


@dataclass
class OpsServer:
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_ops_server(app, host: str | None = None, port: int | None = None) -> OpsServer:
    """Serve /healthz and /metrics on their own port (polling mode). Port 0 picks a free one."""
    host = app.config.ops.http_listen if host is None else host
    port = app.config.ops.http_port if port is None else port
    limits = server_limits(app.config)
    web_app = add_ops_routes(limited_application(limits), app)
    runner = await serve(web_app, host, port, limits)
    bound = port
    for address in runner.addresses:
        bound = address[1]
        break
    log.info("health and metrics on http://%s:%s/healthz and /metrics", host, bound)
    return OpsServer(runner=runner, host=host, port=bound)


async def maybe_start_ops_server(app) -> OpsServer | None:
    """What a polling runner calls: the server when `[ops] http_enabled`, else None."""
    if not app.config.ops.http_enabled:
        return None
    return await start_ops_server(app)
