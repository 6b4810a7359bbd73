"""What the webhook port shows the internet, and what slow clients can do to it (real HTTP, 127.0.0.1).

The attack found: /healthz and /metrics answered anyone on the webhook port (database errors, tick
timings, every counter), and connections that never finished their headers stayed open forever
(300 held; 1,100 exhausted the file limit).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from bot.config import Secret
from bot.ops.http import start_ops_server
from bot.transports.zalo.runner import ZaloRunner
from tests.bot.zalo.apps import free_port, make_app
from tests.emulators.zalo_bot import ZaloBotEmulator

METRICS_TOKEN = "scrape-0f4b9c2e7a1d"


@pytest.fixture
async def zalo_api(clock):
    emulator = await ZaloBotEmulator(clock=clock).start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def start_webhook(db, clock, zalo_api):
    """A Zalo Bot Platform process in webhook mode: the server the platform (and anyone) reaches."""
    running: list[ZaloRunner] = []

    async def start(*, metrics_token: str | None = None, **ops) -> ZaloRunner:
        port = free_port()
        env = {"ZALO_BOT_TOKEN": zalo_api.token, "ZALO_WEBHOOK_SECRET": "s3cret-webhook-token"}
        if metrics_token:
            env["NHACVIEC_METRICS_TOKEN"] = metrics_token
        app = make_app(
            db,
            clock,
            env,
            api_base_url=zalo_api.base_url,
            mode="webhook",
            webhook_port=port,
            webhook_url=f"http://127.0.0.1:{port}/zalo",
        )
        for key, value in ops.items():
            setattr(app.config.ops, key, value)
        runner = ZaloRunner(app, official_account=False)
        await runner.start()
        running.append(runner)
        return runner

    yield start
    for runner in running:
        await runner.stop()


async def get(url: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient() as http:
        return await http.get(url, headers=headers)


# -- /healthz and /metrics -----------------------------------------------------------------------------


async def test_health_on_the_webhook_port_says_only_ok(start_webhook):
    runner = await start_webhook()

    response = await get(f"http://127.0.0.1:{runner.port}/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_metrics_are_not_on_the_webhook_port_without_a_token(start_webhook):
    runner = await start_webhook()

    response = await get(f"http://127.0.0.1:{runner.port}/metrics")

    assert response.status_code == 404
    assert "nhacviec_" not in response.text


@pytest.mark.parametrize("supplied", [None, "wrong", METRICS_TOKEN + "x", METRICS_TOKEN.upper()])
async def test_metrics_on_the_webhook_port_need_the_bearer_token(start_webhook, caplog, supplied):
    runner = await start_webhook(metrics_token=METRICS_TOKEN)

    refused = await get(f"http://127.0.0.1:{runner.port}/metrics", supplied)
    health = await get(f"http://127.0.0.1:{runner.port}/healthz", supplied)

    assert (refused.status_code, refused.headers["WWW-Authenticate"]) == (401, 'Bearer realm="metrics"')
    assert "nhacviec_" not in refused.text
    assert health.json() == {"status": "ok"}
    assert METRICS_TOKEN not in caplog.text


async def test_the_bearer_token_opens_metrics_and_the_full_health_report(start_webhook):
    runner = await start_webhook(metrics_token=METRICS_TOKEN)

    scrape = await get(f"http://127.0.0.1:{runner.port}/metrics", METRICS_TOKEN)
    health = await get(f"http://127.0.0.1:{runner.port}/healthz", METRICS_TOKEN)

    assert scrape.status_code == 200
    assert "nhacviec_database_up 1" in scrape.text
    assert health.json()["database"]["ok"] is True


async def test_the_ops_port_serves_metrics_to_its_own_address_without_a_token(app):
    server = await start_ops_server(app, "127.0.0.1", 0)
    try:
        scrape = await get(f"{server.url}/metrics")
        health = await get(f"{server.url}/healthz")
    finally:
        await server.stop()

    assert (scrape.status_code, "nhacviec_database_up 1" in scrape.text) == (200, True)
    assert health.json()["database"]["ok"] is True


async def test_the_ops_port_asks_for_the_token_too_once_one_is_set(app):
    app.config.secrets.metrics_token = Secret(METRICS_TOKEN)
    server = await start_ops_server(app, "127.0.0.1", 0)
    try:
        refused = await get(f"{server.url}/metrics")
        scrape = await get(f"{server.url}/metrics", METRICS_TOKEN)
    finally:
        await server.stop()

    assert (refused.status_code, scrape.status_code) == (401, 200)


# -- slow clients --------------------------------------------------------------------------------------


async def open_unfinished(port: int, count: int) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """`count` connections that each send half a request line and then nothing."""
    connections = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        await writer.drain()
        connections.append((reader, writer))
    return connections


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    try:
        async with asyncio.timeout(within):
            while await reader.read(1024):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


async def test_connections_with_unfinished_headers_are_closed_within_the_bound(start_webhook):
    runner = await start_webhook(header_timeout_seconds=1.0)
    connections = await open_unfinished(runner.port, 300)
    started = time.monotonic()

    # Meanwhile the server answers a real client at once.
    health = await get(f"http://127.0.0.1:{runner.port}/healthz")
    closed = await asyncio.gather(*(closed_by_server(reader, within=10.0) for reader, _ in connections))
    waited = time.monotonic() - started
    for _, writer in connections:
        writer.close()

    assert health.json() == {"status": "ok"}
    assert closed == [True] * 300
    assert waited < 10.0  # closed by the 1 s bound, not by the test's own patience


async def test_a_body_that_never_arrives_is_refused_within_the_bound(start_webhook):
    runner = await start_webhook(body_timeout_seconds=1.0)
    reader, writer = await asyncio.open_connection("127.0.0.1", runner.port)
    writer.write(
        b"POST /zalo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'X-Bot-Api-Secret-Token: s3cret-webhook-token\r\nContent-Length: 5000\r\n\r\n{"event_'
    )
    await writer.drain()

    async with asyncio.timeout(10.0):
        status_line = await reader.readline()
    writer.close()

    assert status_line.startswith(b"HTTP/1.1 408")


async def test_connections_over_the_cap_are_closed_and_the_server_still_answers(start_webhook):
    runner = await start_webhook(max_connections=50, header_timeout_seconds=30.0)
    held = await open_unfinished(runner.port, 50)
    extra = await open_unfinished(runner.port, 20)

    refused = await asyncio.gather(*(closed_by_server(reader, within=5.0) for reader, _ in extra))
    for _, writer in held[:10]:
        writer.close()
        await writer.wait_closed()
    # Once some go, a real client gets in again.
    health = None
    for _ in range(50):
        try:
            health = await get(f"http://127.0.0.1:{runner.port}/healthz")
            break
        except httpx.HTTPError:
            await asyncio.sleep(0.1)
    for _, writer in held[10:] + extra:
        writer.close()

    assert refused == [True] * 20
    assert health is not None and health.json() == {"status": "ok"}
