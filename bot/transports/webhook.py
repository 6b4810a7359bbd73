"""What every webhook server shares: a bounded JSON parse, and limits on slow or idle clients.

A platform's update is a few kilobytes nested a handful of levels deep. A body far deeper than that
is not an update, and parsing it blindly costs a RecursionError (a 500 with a traceback) or, in the
libraries that walk the result, seconds of CPU; so the depth is measured on the raw bytes, without
recursion, before anything parses them.

Slow clients: aiohttp waits for a request's headers as long as the client keeps the connection
open, so a few hundred connections that never finish their headers hold sockets and file
descriptors forever. `serve` starts the server with a cap on how long headers and bodies may take
and on how many connections are open at once; what goes over is closed, and the server keeps
answering everyone else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from itertools import accumulate

from aiohttp import web

log = logging.getLogger(__name__)

# Deeper than any real Telegram update, Zalo update or OA event (those stay under 8 levels).
MAX_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class NotAnUpdate(ValueError):
    """The body is not JSON, or not JSON an update could be: the webhook answers 400."""


def nesting_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in `body` (brackets inside strings do not count)."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    return max(accumulate(_STEP[b] for b in brackets), default=0)


def parse_json_object(body: bytes, *, max_depth: int = MAX_DEPTH) -> dict:
    """The JSON object in a webhook body, or NotAnUpdate saying in a few words why not."""
    if nesting_depth(body) > max_depth:
        raise NotAnUpdate(f"nested deeper than {max_depth} levels")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise NotAnUpdate("not JSON") from exc
    if not isinstance(data, dict):
        raise NotAnUpdate(f"a JSON {type(data).__name__}, not an object")
    return data


@dataclass(frozen=True)
class ServerLimits:
    """How long a client may take and how many may be connected at once (see docs/operations.md)."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 512
    max_body: int = 1024 * 1024


def server_limits(config, max_body: int = 1024 * 1024) -> ServerLimits:
    """The limits `[ops]` sets (`config` is the whole Config)."""
    ops = config.ops
    return ServerLimits(
        header_timeout=ops.header_timeout_seconds,
        body_timeout=ops.body_timeout_seconds,
        max_connections=ops.max_connections,
        max_body=max_body,
    )


def limited_application(limits: ServerLimits) -> web.Application:
    """An aiohttp application whose request bodies must arrive whole within `limits.body_timeout`."""

    @web.middleware
    async def body_deadline(request: web.Request, handler):
        if request.can_read_body:
            try:
                async with asyncio.timeout(limits.body_timeout):
                    await request.read()  # kept by aiohttp: the handler's read() gets it at once
            except TimeoutError:
                log.warning("request body not received within %gs: refused", limits.body_timeout)
                raise web.HTTPRequestTimeout(text="request body too slow") from None
            except web.HTTPRequestEntityTooLarge:
                log.warning("request refused: body over %d bytes, from %s", limits.max_body, request.remote)
                raise
        return await handler(request)

    return web.Application(client_max_size=limits.max_body, middlewares=[body_deadline])


async def serve(web_app: web.Application, host: str, port: int, limits: ServerLimits) -> web.AppRunner:
    """Start `web_app` on host:port with `limits`; the caller owns (and cleans up) the runner."""
    # aiohttp closes a connection that has not sent a complete request within its keep-alive
    # timeout, counted from the connection's start: that timeout is the bound on slow headers.
    runner = web.AppRunner(
        web_app, access_log=None, handle_signals=False, keepalive_timeout=limits.header_timeout
    )
    await runner.setup()
    _cap_connections(runner.server, limits.max_connections)
    await web.TCPSite(runner, host, port).start()
    return runner


def _cap_connections(server: web.Server, most: int) -> None:
    # Past the cap a new connection is closed at once: it costs the attacker a reconnect and us
    # one file descriptor for a moment, while the connections already open keep being served.
    # One log line a minute at most, with the count: a flood must not flood the log as well.
    register = server.connection_made
    refused = {"count": 0, "logged_at": float("-inf")}

    def connection_made(handler, transport) -> None:
        register(handler, transport)
        if len(server.connections) > most:
            transport.abort()
            refused["count"] += 1
            now = asyncio.get_running_loop().time()
            if now - refused["logged_at"] >= 60:
                log.warning(
                    "connections closed at once: %d open already (the limit); %d so far",
                    most,
                    refused["count"],
                )
                refused["logged_at"] = now

    server.connection_made = connection_made
