"""/web: a single-use link that signs the member in to the web dashboard (bot.web).

The link is a bearer secret for ten minutes, so it is only given in a private chat (the command is
`private_only` in bot.core.router): in a group everyone would see it.
"""

from __future__ import annotations

import datetime as dt

from bot.core.context import Context
from bot.core.messages import Reply
from bot.i18n import _, ngettext
from storage.web_sessions import ChatAddress, issue_login_link


def dashboard_url(config, bound_port: int | None = None) -> str:
    """Where people open the dashboard: `[web] public_url`, else the listener's own address."""
    if config.web.public_url:
        return config.web.public_url
    port = bound_port if bound_port is not None else config.web.port
    return f"http://{config.web.host}:{port}"


async def sign_in_link(ctx: Context, args: str) -> list[Reply]:
    if not ctx.app.config.web.enabled:
        return [Reply(_("The web dashboard is not enabled on this server."))]
    minutes = ctx.app.config.web.link_minutes
    token = await issue_login_link(
        ctx.session,
        member_id=ctx.member.id,
        address=ChatAddress(ctx.incoming.platform, ctx.incoming.chat_id, ctx.incoming.user_id),
        now=ctx.now,
        ttl=dt.timedelta(minutes=minutes),
    )
    url = f"{ctx.app.web_url or dashboard_url(ctx.app.config)}/login/{token}"
    return [
        Reply(
            "\n".join(
                [
                    ngettext(
                        "Open this link within {minutes} minute to sign in to the dashboard; it works once:",
                        "Open this link within {minutes} minutes to sign in to the dashboard; it works once:",
                        minutes,
                    ).format(minutes=minutes),
                    url,
                    _("Do not forward it: whoever opens it first is signed in as you."),
                ]
            )
        )
    ]
