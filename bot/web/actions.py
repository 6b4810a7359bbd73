"""The dashboard's forms (POST): each runs through the chat core, as the button or command it
stands for, in the name of the chat the session was opened from; the page shows the core's answer.

The CSRF token is checked before any of these run (bot.web.server).
"""

from __future__ import annotations

from aiohttp import web

from bot.web.server import dashboard_of, path_id, viewer_of


async def _answer(request: web.Request, replies, back: str) -> web.Response:
    dashboard = dashboard_of(request)
    messages = await dashboard.run_replies(viewer_of(request), replies)
    return dashboard.render(request, "done.html", messages=messages, back=back)


async def _act(request: web.Request, action: str, payload: dict, back: str) -> web.Response:
    dashboard = dashboard_of(request)
    replies = await dashboard.core.act(viewer_of(request).incoming(), action, payload)
    return await _answer(request, replies, back)


async def approve(request: web.Request) -> web.Response:
    return await _act(request, "approve", {"member_id": path_id(request, "member_id")}, "/people")


async def reject(request: web.Request) -> web.Response:
    return await _act(request, "reject", {"member_id": path_id(request, "member_id")}, "/people")


async def create_invite(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        agency_id = int(form.get("agency_id") or 0) or None
    except ValueError:
        agency_id = None
    return await _act(request, "issue_invite", {"role": form.get("role"), "agency_id": agency_id}, "/people")


async def revoke_invite(request: web.Request) -> web.Response:
    return await _act(request, "revoke_invite", {"invite_id": path_id(request, "invite_id")}, "/people")


async def remind(request: web.Request) -> web.Response:
    plan_id = path_id(request, "plan_id")
    dashboard = dashboard_of(request)
    # As if the plan had been picked from /nhacnho's buttons: several active plans need no choosing.
    replies = await dashboard.core.act(
        viewer_of(request).incoming(), "plan_pick", {"command": "nhacnho", "args": "", "plan_id": plan_id}
    )
    return await _answer(request, replies, f"/plans/{plan_id}")


async def close_plan(request: web.Request) -> web.Response:
    return await _act(request, "plan_close", {"plan_id": path_id(request, "plan_id")}, "/")


async def reopen_plan(request: web.Request) -> web.Response:
    return await _act(request, "plan_reopen", {"plan_id": path_id(request, "plan_id")}, "/")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/people/requests/{member_id}/approve", approve)
    router.add_post("/people/requests/{member_id}/reject", reject)
    router.add_post("/people/invites", create_invite)
    router.add_post("/people/invites/{invite_id}/revoke", revoke_invite)
    router.add_post("/plans/{plan_id}/remind", remind)
    router.add_post("/plans/{plan_id}/close", close_plan)
    router.add_post("/plans/{plan_id}/reopen", reopen_plan)
