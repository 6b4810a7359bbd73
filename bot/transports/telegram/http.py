"""PTB's HTTP requests made with aiohttp instead of httpx.

Every update costs the bot at least one Bot API call (the reply), plus its share of getUpdates.
Measured on the project's 2-core machine against a local server, an httpx POST costs about 1.1 ms
of CPU and an aiohttp one about 0.25 ms, so with httpx the HTTP client alone was a quarter of
what the bot spent per update. PTB supports other clients through its `BaseRequest` interface
(its contrib collection has an aiohttp one too); aiohttp is already what serves the webhook.

What PTB and the transport need from a request stays as with PTB's HTTPXRequest: form fields (or
multipart with files), PTB's timeouts, `TimedOut` / `NetworkError` with the client's exception as
the cause, and proxies from the environment (HTTPS_PROXY…) as httpx honours them. The transport
reads the cause to tell whether a failed request may have reached Telegram
(`transport._request_left`).
"""

from __future__ import annotations

import functools
import re
import ssl
from collections.abc import Callable

import aiohttp
import certifi
from aiohttp.helpers import get_env_proxy_for_url
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

# What PTB passes for a timeout the caller did not set (PTB's DefaultValue; its module is private).
_NOT_SET = type(BaseRequest.DEFAULT_NONE)

# Timeouts aiohttp names differently across its 3.x versions: the specific classes appeared in 3.10.
CONNECT_TIMEOUT_ERRORS: tuple[type[BaseException], ...] = tuple(
    cls for cls in (getattr(aiohttp, "ConnectionTimeoutError", None),) if cls is not None
)
READ_TIMEOUT_ERRORS: tuple[type[BaseException], ...] = tuple(
    cls for cls in (getattr(aiohttp, "SocketTimeoutError", None),) if cls is not None
)


@functools.cache
def verified_context() -> ssl.SSLContext:
    """certifi's roots, as httpx uses: the same servers are trusted whichever client runs. One
    context for the process: each holds its own copy of the roots (about 0.7 MB), and the bot's
    two requests (getUpdates and the rest) trust the same ones."""
    return ssl.create_default_context(cafile=certifi.where())


class AiohttpRequest(BaseRequest):
    """A `telegram.request.BaseRequest` on one aiohttp session, its connections kept alive."""

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_on_sent",
        "_pool_size",
        "_proxies",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_write_timeout",
    )

    def __init__(
        self,
        *,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        on_sent: Callable[[], object] | None = None,
    ):
        """`on_sent` is called each time a request's body has gone out to the server."""
        self._pool_size = connection_pool_size
        self._on_sent = on_sent
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        # The environment's proxy for each (scheme, host) called, looked up on the first call there.
        self._proxies: dict[tuple[str, str], tuple[URL | None, aiohttp.BasicAuth | None]] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=verified_context()),
                headers={"User-Agent": self.USER_AGENT},
                # Not trust_env: with it aiohttp reads ~/.netrc and the proxy variables again on
                # every request, each on a worker thread (two thread hand-offs and a file read per
                # Bot API call). The proxy is looked up once per host instead (`_proxy`); .netrc
                # was never read by httpx either.
                trust_env=False,
                trace_configs=self._traces(),
            )

    def _traces(self) -> list[aiohttp.TraceConfig] | None:
        if self._on_sent is None:
            return None
        on_sent = self._on_sent

        async def sent(_session, _context, _params) -> None:
            on_sent()

        trace = aiohttp.TraceConfig()
        trace.on_request_chunk_sent.append(sent)
        return [trace]

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _proxy(self, url: str) -> tuple[URL | None, aiohttp.BasicAuth | None]:
        """The proxy the environment names for `url` (HTTPS_PROXY…, minus NO_PROXY), if any."""
        parsed = URL(url)
        key = (parsed.scheme, parsed.host or "")
        if key not in self._proxies:
            try:
                self._proxies[key] = get_env_proxy_for_url(parsed)
            except LookupError:
                self._proxies[key] = (None, None)
        return self._proxies[key]

    def _timeout(self, read, write, connect, pool, *, files: bool) -> aiohttp.ClientTimeout:
        def given(value, default):
            return default if isinstance(value, _NOT_SET) else value

        read = given(read, self._read_timeout)
        write = given(write, self._media_write_timeout if files else self._write_timeout)
        connect = given(connect, self._connect_timeout)
        pool = given(pool, self._pool_timeout)
        # aiohttp has no write timeout: the whole call is bounded by the sum of its parts instead,
        # so that a stalled upload still ends. Waiting for a pooled connection counts as connecting.
        parts = (read, write, connect, pool)
        total = None if any(part is None for part in parts) else sum(parts)
        connecting = None if connect is None or pool is None else connect + pool
        return aiohttp.ClientTimeout(total=total, connect=connecting, sock_connect=connect, sock_read=read)

    def _body(self, request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
        if request_data is None:
            return None
        fields = request_data.json_parameters
        files = request_data.multipart_data
        if not files:
            return fields
        # Names as UTF-8, as httpx sends them: quoted, "Báo cáo.docx" would arrive as "B%C3%A1o%20c%C3%A1o.docx".
        form = aiohttp.FormData(quote_fields=False)
        for name, value in fields.items():
            form.add_field(name, value)
        for name, (filename, content, mime_type) in files.items():
            form.add_field(name, content, filename=filename, content_type=mime_type)
        return form

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | None | _NOT_SET = BaseRequest.DEFAULT_NONE,
        write_timeout: float | None | _NOT_SET = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | None | _NOT_SET = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | None | _NOT_SET = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        timeout = self._timeout(
            read_timeout,
            write_timeout,
            connect_timeout,
            pool_timeout,
            files=bool(request_data and request_data.multipart_data),
        )
        proxy, proxy_auth = self._proxy(url)
        try:
            async with self._session.request(
                method,
                url,
                data=self._body(request_data),
                timeout=timeout,
                proxy=proxy,
                proxy_auth=proxy_auth,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            # The class name says what failed even when the message is empty, as PTB does for httpx.
            # Some aiohttp messages quote the URL, which carries the bot token, and this message is
            # stored with a failed reminder: the token is cut out first.
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {without_token(str(err))}") from err


_BOT_PATH = re.compile(r"/(file/)?bot[^/\s]*")


def without_token(text: str) -> str:
    """`text` with the token segment of any Bot API URL in it replaced."""
    return _BOT_PATH.sub(lambda m: f"/{m.group(1) or ''}bot[redacted]", text)
