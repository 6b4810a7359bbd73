"""A thin httpx client for the Zalo Bot Platform (`https://bot-api.zaloplatforms.com/bot<TOKEN>/<method>`).

The API mirrors Telegram's Bot API: JSON in, `{"ok": true, "result": …}` or `{"ok": false,
"error_code": N, "description": "…"}` out. Two differences matter here: `getUpdates` returns ONE update
(not a list) and answers error 408 when its long poll ends empty, and messages carry no update id, so
the message id is what recognises a re-delivered update.

The token is part of every URL, so no message this module produces contains a URL.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com/bot"
POLL_EMPTY = 408  # getUpdates: the long poll ended without an update


class ZaloApiError(Exception):
    """The platform answered, and said no."""

    def __init__(self, method: str, error_code: int, description: str, *, retry_after: float | None = None):
        super().__init__(f"{method}: {error_code} {description}")
        self.method = method
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after


class ZaloNetworkError(Exception):
    """No answer. `maybe_delivered` is True when the request may have reached the platform
    (it was written before the connection failed or timed out), so a send may have happened."""

    def __init__(self, method: str, reason: str, *, maybe_delivered: bool):
        super().__init__(f"{method}: {reason}")
        self.method = method
        self.maybe_delivered = maybe_delivered


@dataclass(frozen=True)
class BotInfo:
    id: str
    account_name: str
    display_name: str


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "<token>") if secret else text


def network_error(method: str, exc: httpx.HTTPError, secret: str) -> ZaloNetworkError:
    """Map an httpx failure to whether the request could have been acted on."""
    # Connecting (or waiting for a pooled connection) failed: nothing was sent.
    not_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    reason = _scrub(f"{type(exc).__name__}: {exc}".rstrip(": "), secret)
    return ZaloNetworkError(method, reason, maybe_delivered=not not_sent)


class ZaloBotClient:
    """One method per API call; errors raised as ZaloApiError / ZaloNetworkError."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        http: httpx.AsyncClient | None = None,
    ):
        if not token:
            raise ValueError("a Zalo bot token is required")
        self._token = token
        self._base = f"{base_url}{token}"
        self._timeout = timeout
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> ZaloBotClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def call(self, method: str, payload: dict[str, Any] | None = None, *, seconds: float | None = None):
        try:
            response = await self._http.post(
                f"{self._base}/{method}", json=payload or {}, timeout=seconds or self._timeout
            )
        except httpx.HTTPError as exc:
            raise network_error(method, exc, self._token) from None
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            # A proxy's HTML error page, say: the status is all there is to go on.
            raise ZaloApiError(
                method, response.status_code, f"HTTP {response.status_code} without a JSON body"
            )
        if body.get("ok") is True:
            return body.get("result")
        code = body.get("error_code") or response.status_code
        description = _scrub(str(body.get("description") or "no description"), self._token)
        retry_after = _retry_after(body, response)
        raise ZaloApiError(method, int(code), description, retry_after=retry_after)

    async def get_me(self) -> BotInfo:
        result = await self.call("getMe")
        return BotInfo(
            id=str(result.get("id", "")),
            account_name=str(result.get("account_name", "")),
            display_name=str(result.get("display_name") or result.get("account_name") or ""),
        )

    async def get_updates(self, long_poll: int = 30) -> dict | None:
        """One update, or None when the long poll (`long_poll` seconds) ended empty."""
        try:
            # The platform documents the timeout as a string; the read timeout must outlast it.
            return await self.call(
                "getUpdates", {"timeout": str(long_poll)}, seconds=long_poll + self._timeout
            )
        except ZaloApiError as exc:
            if exc.error_code == POLL_EMPTY:
                return None
            raise

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook")

    async def get_webhook_info(self) -> dict:
        return await self.call("getWebhookInfo") or {}

    async def send_message(self, chat_id: str, text: str, *, bold: tuple[tuple[int, int], ...] = ()) -> dict:
        """`bold`: (start, length) runs in UTF-16 units, sent as `text_styles` rather than markup
        (`parse_mode`), so that nothing in the text itself is ever read as formatting."""
        payload: dict = {"chat_id": chat_id, "text": text}
        if bold:
            payload["text_styles"] = [{"start": start, "len": length, "st": ["b"]} for start, length in bold]
        return await self.call("sendMessage", payload)

    async def send_photo(self, chat_id: str, photo_url: str, caption: str = "") -> dict:
        payload = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            payload["caption"] = caption
        return await self.call("sendPhoto", payload)

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})


def _retry_after(body: dict, response: httpx.Response) -> float | None:
    parameters = body.get("parameters")
    if isinstance(parameters, dict) and parameters.get("retry_after") is not None:
        try:
            return float(parameters["retry_after"])
        except (TypeError, ValueError):
            pass
    header = response.headers.get("Retry-After")
    if header:
        try:
            return float(header)
        except ValueError:
            return None
    return None
