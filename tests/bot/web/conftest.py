"""Fixtures for the web dashboard: the chat core and the dashboard's own HTTP server on a free
port of 127.0.0.1, members who sign in from chat (/web) as a person would, and an HTTP client with
its own cookie jar per person."""

# Fixtures taken from the chat core's conftest are named again as parameters, as pytest wants.
# ruff: noqa: F811
from __future__ import annotations

import re

import aiohttp
import pytest

from bot.app import App
from bot.config import load_config
from bot.core.messages import Reply
from bot.web.server import start_web_server
from tests.bot.core.chat import ChatUser

# The chat core's fixtures: the core on this app, the plan, An the English-speaking coordinator.
from tests.bot.core.conftest import compiled_catalogs, coordinator, core, plan  # noqa: F401
from tests.factories import make_member

LINK = re.compile(r"https?://\S+/login/\S+")


@pytest.fixture
def app(db, clock) -> App:
    config = load_config(env={})
    config.web.port = 0
    return App(config=config, db=db, clock=clock)


@pytest.fixture
def delivered() -> list[Reply]:
    """What the dashboard's actions sent to other chats."""
    return []


@pytest.fixture
async def server(app, core, delivered):
    async def deliver(replies):
        delivered.extend(replies)

    server = await start_web_server(app, core=core, deliver=deliver)
    yield server
    await server.stop()


class Browser:
    """One person's HTTP client: their own cookies, following redirects like a browser."""

    def __init__(self, base: str):
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf: str | None = None

    async def get(self, path: str, **kwargs) -> tuple[int, str]:
        async with self.http.get(self.url(path), **kwargs) as response:
            body = await response.text()
            self._remember_csrf(body)
            return response.status, body

    async def get_bytes(self, path: str) -> tuple[int, str, bytes]:
        async with self.http.get(self.url(path)) as response:
            return response.status, response.headers.get("Content-Type", ""), await response.read()

    async def post(self, path: str, data: dict | None = None, *, csrf: bool = True) -> tuple[int, str]:
        form = dict(data or {})
        if csrf and self.csrf:
            form.setdefault("csrf", self.csrf)
        async with self.http.post(self.url(path), data=form) as response:
            body = await response.text()
            self._remember_csrf(body)
            return response.status, body

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    def _remember_csrf(self, body: str) -> None:
        found = re.search(r'name="csrf" value="([^"]+)"', body)
        if found:
            self.csrf = found.group(1)

    async def close(self) -> None:
        await self.http.close()


@pytest.fixture
async def browsers(server):
    opened: list[Browser] = []

    def open_browser() -> Browser:
        browser = Browser(server.url)
        opened.append(browser)
        return browser

    yield open_browser
    for browser in opened:
        await browser.close()


async def sign_in_link(user: ChatUser) -> str:
    text = await user.say("/web")
    found = LINK.search(text)
    assert found, text
    return found.group(0)


async def signed_in(user: ChatUser, browser: Browser) -> Browser:
    link = await sign_in_link(user)
    await browser.get(link)
    status, _body = await browser.post(link, csrf=False)
    assert status == 200
    return browser


@pytest.fixture
async def focal(db, core, plan) -> ChatUser:
    """Lan, focal point for Sở Du lịch, in Vietnamese."""
    async with db.transaction() as session:
        await make_member(session, "Lan", agency=plan.agencies["Sở Du lịch"], user_id="lan", language="vi")
    return ChatUser(core, "lan")
