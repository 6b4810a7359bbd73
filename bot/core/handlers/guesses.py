"""Limits on guessing invite and link codes: a few wrong codes per person and per chat in a window
(`[chat] code_guesses`, `code_guess_window_minutes`), then codes from there are refused until the
window has passed. Counted in the database, so every instance of the bot sees the same count."""

from __future__ import annotations

import datetime as dt
import math

from bot.core.context import Context
from bot.core.messages import Reply
from bot.i18n import ngettext
from storage import limits


def _subjects(ctx: Context) -> list[str]:
    incoming = ctx.incoming
    return [
        limits.person(incoming.platform, incoming.user_id),
        limits.chat(incoming.platform, incoming.chat_id),
    ]


def _window(ctx: Context) -> dt.timedelta:
    return dt.timedelta(minutes=ctx.app.config.chat.code_guess_window_minutes)


async def refused_for_guessing(ctx: Context) -> list[Reply] | None:
    """The reply when too many wrong codes came from this person or chat; None when they may try."""
    wait = await limits.retry_after(
        ctx.session,
        limits.CODE_GUESS,
        _subjects(ctx),
        limit=ctx.app.config.chat.code_guesses,
        window=_window(ctx),
        now=ctx.now,
    )
    if wait is None:
        return None
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    text = ngettext(
        "Too many wrong codes were sent from here. For everyone's safety no code is accepted for "
        "{minutes} more minute; check the code and try again then.",
        "Too many wrong codes were sent from here. For everyone's safety no code is accepted for "
        "{minutes} more minutes; check the code and try again then.",
        minutes,
    ).format(minutes=minutes)
    return [Reply(text)]


async def wrong_guess(ctx: Context) -> None:
    """Count a wrong (unknown, spent or expired) code against this person and chat."""
    await limits.record(ctx.session, limits.CODE_GUESS, _subjects(ctx), now=ctx.now)
