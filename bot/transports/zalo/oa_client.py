"""A thin httpx client for the Zalo Official Account API v3 and its OAuth token endpoint.

OA calls answer HTTP 200 with `{"error": 0, "message": "Success", "data": {…}}`; a non-zero (negative)
`error` is the failure. The access token goes in an `access_token` header; it lives about 25 hours
and is renewed with a refresh token that works ONCE (the answer carries the next one), which is why
the token store keeps the pair in the database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from bot.transports.zalo.client import ZaloNetworkError, network_error

DEFAULT_API_URL = "https://openapi.zalo.me"
DEFAULT_OAUTH_URL = "https://oauth.zaloapp.com/v4/oa/access_token"
# ZNS template messages are sent from Zalo's business API host, with the OA's access token.
DEFAULT_ZNS_URL = "https://business.openapi.zalo.me/message/template"

# Error codes that decide what a caller does next (the OA API's published table).
RATE_LIMITED = (-32,)  # the OA reached its API call limit
TOKEN_REJECTED = (-216, -220, -124)  # access token invalid / expired or removed: refresh
# Zalo only lets an OA write to someone who wrote to it recently.
OUTSIDE_WINDOW = (-230, -232, -305, -311)
# The person is out of reach for this OA: unfollowed, blocked it, banned or inactive.
RECIPIENT_GONE = (-213, -217, -222, -227)
# The OA's monthly quota of paid messages is used up (our counting should have kept us below it).
QUOTA_EXCEEDED = (-240, -244)

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_OAUTH_URL",
    "TokenPair",
    "ZaloNetworkError",
    "ZaloOAClient",
    "ZaloOAError",
]


class ZaloOAError(Exception):
    def __init__(self, method: str, code: int, message: str):
        super().__init__(f"{method}: {code} {message}")
        self.method = method
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token lives


class ZaloOAClient:
    def __init__(
        self,
        *,
        app_id: str,
        app_secret: str,
        api_base_url: str = DEFAULT_API_URL,
        oauth_url: str = DEFAULT_OAUTH_URL,
        zns_url: str = DEFAULT_ZNS_URL,
        timeout: float = 10.0,
        http: httpx.AsyncClient | None = None,
    ):
        self.app_id = app_id
        self._app_secret = app_secret
        self._api = api_base_url.rstrip("/")
        self._oauth_url = oauth_url
        self._zns_url = zns_url
        self._timeout = timeout
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def _request(self, method: str, path: str, access_token: str, **kwargs) -> Any:
        try:
            response = await self._http.request(
                method, f"{self._api}{path}", headers={"access_token": access_token}, **kwargs
            )
        except httpx.HTTPError as exc:
            raise network_error(path, exc, access_token) from None
        return _data(path, response)

    async def get_oa(self, access_token: str) -> dict:
        """The OA's profile: a cheap call that proves the access token works."""
        return await self._request("GET", "/v2.0/oa/getoa", access_token) or {}

    async def user_name(self, access_token: str, user_id: str) -> str:
        """The follower's display name (webhook events carry only their id)."""
        data = await self._request(
            "GET",
            "/v3.0/oa/user/detail",
            access_token,
            params={"data": json.dumps({"user_id": user_id})},
        )
        return str((data or {}).get("display_name") or "")

    async def send_text(
        self, access_token: str, text: str, *, user_id: str | None = None, message_id: str | None = None
    ) -> str:
        """A consultation ("cs") text message; with `message_id` it answers that message of the user."""
        recipient = {"message_id": message_id} if message_id else {"user_id": user_id}
        data = await self._request(
            "POST",
            "/v3.0/oa/message/cs",
            access_token,
            json={"recipient": recipient, "message": {"text": text}},
        )
        return str((data or {}).get("message_id", ""))

    async def send_zns(
        self, access_token: str, *, phone: str, template_id: str, template_data: dict, tracking_id: str
    ) -> str:
        """A ZNS template message to a phone number ("84912345678"); returns Zalo's message id."""
        try:
            response = await self._http.post(
                self._zns_url,
                headers={"access_token": access_token},
                json={
                    "phone": phone,
                    "template_id": template_id,
                    "template_data": template_data,
                    "tracking_id": tracking_id,
                },
            )
        except httpx.HTTPError as exc:
            raise network_error("zns", exc, access_token) from None
        data = _data("zns", response)
        return str((data or {}).get("msg_id", ""))

    async def upload_file(self, access_token: str, filename: str, content: bytes, mime_type: str) -> str:
        """Upload a PDF/DOC/DOCX (up to 5 MB) for a file message; returns the file token."""
        data = await self._request(
            "POST", "/v2.0/oa/upload/file", access_token, files={"file": (filename, content, mime_type)}
        )
        return str((data or {}).get("token", ""))

    async def send_file(
        self, access_token: str, file_token: str, *, user_id: str, message_id: str | None = None
    ) -> str:
        recipient = {"message_id": message_id} if message_id else {"user_id": user_id}
        data = await self._request(
            "POST",
            "/v3.0/oa/message/cs",
            access_token,
            json={
                "recipient": recipient,
                "message": {"attachment": {"type": "file", "payload": {"token": file_token}}},
            },
        )
        return str((data or {}).get("message_id", ""))

    async def refresh_access_token(self, refresh_token: str) -> TokenPair:
        """Trade the (single-use) refresh token for a new access token and the next refresh token."""
        try:
            response = await self._http.post(
                self._oauth_url,
                headers={"secret_key": self._app_secret},
                data={"refresh_token": refresh_token, "app_id": self.app_id, "grant_type": "refresh_token"},
            )
        except httpx.HTTPError as exc:
            raise network_error("access_token", exc, refresh_token) from None
        body = _json(response)
        if not body or not body.get("access_token") or not body.get("refresh_token"):
            code = int((body or {}).get("error") or response.status_code or -1)
            message = (body or {}).get("error_description") or (body or {}).get("message") or "no token"
            raise ZaloOAError("access_token", code, str(message))
        return TokenPair(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]),
            expires_in=int(body.get("expires_in") or 3600),
        )


def _json(response: httpx.Response) -> dict | None:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _data(path: str, response: httpx.Response) -> Any:
    body = _json(response)
    if body is None:
        raise ZaloOAError(path, -response.status_code, f"HTTP {response.status_code} without a JSON body")
    code = int(body.get("error") or 0)
    if code != 0:
        raise ZaloOAError(path, code, str(body.get("message") or "no message"))
    if response.status_code >= 400:
        raise ZaloOAError(path, -response.status_code, f"HTTP {response.status_code}")
    return body.get("data")
