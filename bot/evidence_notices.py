"""Telling a sender that the file sent with their update was not kept.

The chat reply to an update says "Evidence: a file" before the file is downloaded (bot.evidence). When
the download then refuses it (too large with no size declared beforehand, an executable, an address
that answers 4xx) or gives up after its last attempt, the sender would go on believing it is kept: they
are told, in their language, on the chat the update came from (else another chat of theirs), through
the reply courier's durable queue (bot.transports.replies.park_notice) in the same unit of work that
marks the file failed.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.core.messages import Reply
from bot.i18n import _, use_language
from bot.transports.replies import park_notice
from storage import people
from storage.models.evidence import EvidenceFile
from storage.models.people import Member, ProgressUpdate
from storage.models.plan import Task

log = logging.getLogger(__name__)

# Why a file was not kept, as the sender is told it.
TOO_LARGE = "too_large"
OVER_ALLOWANCE = "over_allowance"
NOT_A_KEPT_KIND = "not_a_kept_kind"
NOT_DOWNLOADED = "not_downloaded"

# The platforms a notice can be sent on (a console session has nobody to tell later).
CHAT_PLATFORMS = ("telegram", "zalo", "zalo_oa")
# A task's content is a paragraph of the plan; the notice names it, it does not quote it all.
TASK_CHARS = 80


def _shortened(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TASK_CHARS else text[: TASK_CHARS - 1].rstrip() + "…"


def not_kept_text(
    *, file_name: str | None, task_code: str, task_content: str, why: str, limit_mb: float | None = None
) -> str:
    """The notice, in the current language (`use_language`)."""
    subject = _("The file «{name}»").format(name=file_name) if file_name else _("The file")
    values = {"file": subject, "code": task_code, "task": _shortened(task_content)}
    if why == TOO_LARGE:
        text = _(
            "{file} you sent with your update on task {code} ({task}) was not kept: it is larger than the "
            "{limit:g} MB allowed. Your update is saved; send the file again smaller, or a link to it."
        )
        values["limit"] = limit_mb or 0
    elif why == OVER_ALLOWANCE:
        text = _(
            "{file} you sent with your update on task {code} ({task}) was not kept: your agency has used "
            "all the room allowed for evidence files. Your update is saved; send a link to the file instead."
        )
    elif why == NOT_A_KEPT_KIND:
        text = _(
            "{file} you sent with your update on task {code} ({task}) was not kept: it is a program, not "
            "a kind of file we keep. Your update is saved; send the document itself (PDF, picture, Word, "
            "Excel), or a link to it."
        )
    else:
        text = _(
            "{file} you sent with your update on task {code} ({task}) was not kept: it could not be "
            "downloaded. Your update is saved; send the file again, or a link to it."
        )
    return text.format(**values)


async def tell_not_kept(
    session: AsyncSession, app: App, row: EvidenceFile, *, why: str, limit_mb: float | None
) -> bool:
    """Queue the notice for the file `row` (being marked failed in `session`); False when there is
    nobody to tell (the update came from the console, or its sender has no chat left)."""
    update = await session.get(ProgressUpdate, row.update_id)
    if update is None:
        return False
    member = await session.get(Member, update.member_id) if update.member_id is not None else None
    platform, chat_id = update.source_platform, update.source_chat_id
    reply_to = update.source_message_id if platform == "zalo_oa" else None
    if (platform not in CHAT_PLATFORMS or not chat_id) and member is not None:
        # No chat recorded with the update: the member's chat they used last.
        chats = await people.reachable_chats(session, member.id, platforms=CHAT_PLATFORMS)
        platform, chat_id = chats[0] if chats else (None, None)
        reply_to = None
    if platform not in CHAT_PLATFORMS or not chat_id:
        log.warning("evidence file %s: nobody to tell that it was not kept", row.id)
        return False
    task = await session.get(Task, update.task_id)
    language = member.language if member is not None else app.config.i18n.default_language
    with use_language(language):
        text = not_kept_text(
            file_name=row.original_name,
            task_code=task.code if task is not None else "?",
            task_content=task.content if task is not None else "",
            why=why,
            limit_mb=limit_mb,
        )
    await park_notice(
        session,
        platform=platform,
        chat_id=chat_id,
        reply=Reply(text),
        language=language,
        now=app.clock.now(),
        reply_to=reply_to,
    )
    log.info("evidence file %s: its sender is told on %s that it was not kept", row.id, platform)
    return True
