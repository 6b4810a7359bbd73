"""The dashboard's HTTP side: the aiohttp application, sign-in, sessions, CSRF, security headers.

Every request is authorised afresh: the session cookie names a session row, the row names a member,
and the member is read as the database has them now (a hand-over or retirement signs them out at
the next click). No page, file or action trusts the session for more than who is asking.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

from aiohttp import web

from bot.app import App
from bot.core.handlers.web import dashboard_url
from bot.core.messages import Incoming, Reply
from bot.i18n import N_, use_language
from storage import web_sessions
from storage.models.people import ACTIVE, ADMIN, COORDINATOR, Member
from storage.models.web import WebSession

log = logging.getLogger(__name__)

COOKIE = "nhacviec_session"
# Deliver replies that an action addressed to other chats (a member told they were approved).
Deliver = Callable[[list[Reply]], Awaitable[None]]

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # Sign-in URLs hold a secret: never send them on as a referrer.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

WEB = web.AppKey("nhacviec_web", object)

# Paths anyone may open: the sign-in pages and the stylesheet.
_OPEN_PREFIXES = ("/login/", "/static/", "/signed-out", "/favicon.ico")


@dataclass
class Viewer:
    """Who is asking, as the database has them now."""

    session_token: str
    session: WebSession
    member: Member

    @property
    def language(self) -> str:
        return self.member.language

    @property
    def is_staff(self) -> bool:
        return self.member.role in (COORDINATOR, ADMIN)

    @property
    def csrf(self) -> str:
        return web_sessions.csrf_token(self.session_token)

    def may_see_agency(self, agency_id: int | None) -> bool:
        return self.is_staff or (agency_id is not None and agency_id == self.member.agency_id)

    def incoming(self, text: str = "") -> Incoming:
        """The chat this session was opened from, as the core sees a message from it."""
        return Incoming(
            platform=self.session.platform,
            chat_id=self.session.chat_id,
            user_id=self.session.user_id,
            user_name=self.member.name,
            text=text,
        )


_VIEWER = web.RequestKey("nhacviec_viewer", Viewer)


class Dashboard:
    """What the pages share: the app, the chat core for actions, and where replies go."""

    def __init__(self, app: App, *, core=None, deliver: Deliver | None = None):
        if core is None:
            from bot.core.service import Core

            core = Core(app)
        self.app = app
        self.core = core
        self.deliver = deliver

    @cached_property
    def templates(self):
        """Jinja2 and the templates, loaded by the first page asked for: a bot whose dashboard
        nobody opens does not keep them in memory (2 MB)."""
        from bot.web.rendering import Templates

        return Templates()

    @property
    def secure_cookie(self) -> bool:
        return bool(self.app.config.web.public_url and self.app.config.web.public_url.startswith("https://"))

    def render(self, request: web.Request, name: str, *, status: int = 200, **values) -> web.Response:
        viewer: Viewer | None = request.get(_VIEWER)
        language = viewer.language if viewer else self.app.config.i18n.default_language
        with use_language(language):
            body = self.templates.render(
                name, viewer=viewer, language=language, request_path=request.path, **values
            )
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")

    async def run_replies(self, viewer: Viewer, replies: list[Reply]) -> list[str]:
        """Send what is addressed to other chats; return the texts meant for the viewer."""
        others = [reply for reply in replies if reply.to_chat_id is not None]
        if others and self.deliver is not None:
            try:
                await self.deliver(others)
            except Exception:  # the action is stored; a lost notice is logged, never a failed page
                log.exception("web: could not deliver %d message(s) to other chats", len(others))
        return [reply.text for reply in replies if reply.to_chat_id is None and reply.text]


# The largest id the id columns hold: they are INTEGER, 32 bits on PostgreSQL (a larger number
# fails in the driver there instead of finding nothing).
_LARGEST_ID = 2**31 - 1


def as_id(text: str | None) -> int | None:
    """The record id `text` names, or None when it names none: ASCII digits only, and no larger
    than an id column holds."""
    if not (text and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= _LARGEST_ID else None


def path_id(request: web.Request, name: str) -> int | None:
    """The record id the address names as `name` (see `as_id`)."""
    return as_id(request.match_info.get(name))


def viewer_of(request: web.Request) -> Viewer:
    return request[_VIEWER]


def dashboard_of(request: web.Request) -> Dashboard:
    return request.app[WEB]


@web.middleware
async def _security_headers(request: web.Request, handler):
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def _authorise(request: web.Request, handler):
    if request.path.startswith(_OPEN_PREFIXES):
        return await handler(request)
    dashboard = dashboard_of(request)
    token = request.cookies.get(COOKIE, "")
    now = dashboard.app.clock.now()
    async with dashboard.app.db.snapshot() as session:
        row = await web_sessions.open_session(session, token, now=now)
    if row is None or row.member.status != ACTIVE:
        if request.method == "GET":
            raise web.HTTPFound("/signed-out")
        raise web.HTTPForbidden(text="signed out")
    request[_VIEWER] = Viewer(session_token=token, session=row, member=row.member)
    if request.method == "POST":
        form = await request.post()
        if not web_sessions.csrf_matches(token, form.get("csrf")):
            log.warning("web: POST %s without a valid CSRF token (member %s)", request.path, row.member_id)
            return dashboard.render(
                request,
                "error.html",
                status=403,
                message=N_("This form has expired. Go back, reload the page and try again."),
            )
    return await handler(request)


async def _login_page(request: web.Request) -> web.Response:
    # Opening the link only shows a button: link previews and scanners fetch URLs with GET, and
    # must not use up a single-use link meant for a person.
    return dashboard_of(request).render(request, "login.html", token=request.match_info["token"])


async def _login(request: web.Request) -> web.Response:
    dashboard = dashboard_of(request)
    config = dashboard.app.config.web
    now = dashboard.app.clock.now()
    async with dashboard.app.db.transaction() as session:
        opened = await web_sessions.redeem_login_link(
            session, request.match_info["token"], now=now, ttl=dt.timedelta(hours=config.session_hours)
        )
    if opened is None:
        return dashboard.render(
            request,
            "error.html",
            status=403,
            message=N_(
                "This sign-in link has expired or was already used. Send /web to the bot for a new one."
            ),
        )
    log.info("web: member %s signed in", opened.row.member_id)
    response = web.HTTPSeeOther("/")
    response.set_cookie(
        COOKIE,
        opened.token,
        max_age=config.session_hours * 3600,
        httponly=True,
        samesite="Strict",
        secure=dashboard.secure_cookie,
        path="/",
    )
    raise response


async def _logout(request: web.Request) -> web.Response:
    dashboard = dashboard_of(request)
    async with dashboard.app.db.transaction() as session:
        await web_sessions.end_session(
            session, viewer_of(request).session_token, now=dashboard.app.clock.now()
        )
    response = web.HTTPSeeOther("/signed-out")
    response.del_cookie(COOKIE, path="/")
    raise response


async def _signed_out(request: web.Request) -> web.Response:
    return dashboard_of(request).render(request, "signed_out.html")


_STATIC = {"app.css": "text/css", "icon.svg": "image/svg+xml"}


async def _static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in _STATIC:
        raise web.HTTPNotFound()
    body = resources.files("bot.web").joinpath("static", name).read_bytes()
    return web.Response(body=body, content_type=_STATIC[name], headers={"Cache-Control": "max-age=3600"})


async def _favicon(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/static/icon.svg")


def add_web_routes(web_app: web.Application, dashboard: Dashboard) -> web.Application:
    from bot.web import actions, pages

    web_app[WEB] = dashboard
    web_app.middlewares.extend([_security_headers, _authorise])
    router = web_app.router
    router.add_get("/login/{token}", _login_page)
    router.add_post("/login/{token}", _login)
    router.add_get("/signed-out", _signed_out)
    router.add_get("/static/{name}", _static)
    router.add_get("/favicon.ico", _favicon)
    router.add_post("/logout", _logout)
    pages.add_routes(router)
    actions.add_routes(router)
    return web_app


def deliver_through(app: App, transports) -> Deliver:
    """Send replies addressed to other chats through the process's transports, as a chat reply
    addressed elsewhere is sent."""
    from bot.transports.registry import send_addressed

    async def deliver(replies: list[Reply]) -> None:
        for reply in replies:
            await send_addressed(app, transports, reply)

    return deliver


def make_web_app(app: App, *, core=None, deliver: Deliver | None = None) -> web.Application:
    # Forms are small; a larger body is refused before it is read.
    return add_web_routes(
        web.Application(client_max_size=64 * 1024), Dashboard(app, core=core, deliver=deliver)
    )


@dataclass
class WebServer:
    runner: web.AppRunner
    url: str

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_web_server(app: App, *, core=None, deliver: Deliver | None = None) -> WebServer:
    """Serve the dashboard on `[web] host:port` (port 0 picks a free one); sets `app.web_url`."""
    runner = web.AppRunner(make_web_app(app, core=core, deliver=deliver), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, app.config.web.host, app.config.web.port)
    await site.start()
    port = next(iter(runner.addresses), (None, app.config.web.port))[1]
    app.web_url = dashboard_url(app.config, port)
    log.info("web dashboard on %s", app.web_url)
    return WebServer(runner=runner, url=app.web_url)
