"""Progress updates: which tasks a member may report on, checking what they typed, storing an update
for the current reporting cycle (and cancelling the reminders it makes pointless), editing one while
keeping its history, and each task's derived status for the task list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.parsing import TaskRef
from bot.ops import metrics
from bot.render.text import TaskLine
from scheduler.outbox import cancel_for_report
from storage import people
from storage.assignments import AssignedTask
from storage.models.people import NOTE_MAX_CHARS, UPDATE_STATUSES, Member, ProgressUpdate
from storage.models.plan import Task
from storage.progress_rules import ALL_LEADS
from storage.summary import task_standings

# Problems with what was typed; the chat layer words each one in the user's language.
NOTE_TOO_LONG = "note_too_long"
PERCENT_OUT_OF_RANGE = "percent_out_of_range"
UNKNOWN_STATUS = "unknown_status"


class InvalidUpdate(Exception):
    def __init__(self, problem: str, **details):
        super().__init__(problem)
        self.problem = problem
        self.details = details


def check(status: str, percent: int | None, note: str) -> None:
    """Raise InvalidUpdate for anything that must not be stored; nothing is cut or guessed."""
    if status not in UPDATE_STATUSES:
        raise InvalidUpdate(UNKNOWN_STATUS)
    if percent is not None and not 0 <= percent <= 100:
        raise InvalidUpdate(PERCENT_OUT_OF_RANGE, percent=percent)
    if len(note) > NOTE_MAX_CHARS:
        raise InvalidUpdate(NOTE_TOO_LONG, length=len(note), limit=NOTE_MAX_CHARS)


def find_task(tasks: Sequence[AssignedTask], ref: TaskRef) -> AssignedTask | None:
    """Task `ref` among `tasks`: by its number in the list (from 1) or by its plan numbering."""
    if ref.number is not None:
        return tasks[ref.number - 1] if 1 <= ref.number <= len(tasks) else None
    return next((task for task in tasks if task.code.upper() == (ref.code or "").upper()), None)


@dataclass(frozen=True)
class Source:
    """The chat message an update came from, so that editing the message edits the update."""

    platform: str
    chat_id: str
    message_id: str | None


async def record(
    session: AsyncSession,
    *,
    task: AssignedTask | Task,
    member: Member,
    agency_id: int,
    status: str,
    percent: int | None,
    note: str,
    evidence: str | None,
    cycle: dt.date,
    source: Source,
    now: dt.datetime,
) -> ProgressUpdate:
    check(status, percent, note)
    row = await people.add_update(
        session,
        task_id=task.id,
        agency_id=agency_id,
        member_id=member.id,
        status=status,
        percent=percent,
        note=note,
        evidence=evidence,
        cycle=cycle,
        now=now,
        source_platform=source.platform,
        source_chat_id=source.chat_id,
        source_message_id=source.message_id,
    )
    # The agency has reported for this cycle: reminders still queued for it would only nag.
    await cancel_for_report(session, agency_id, cycle, now, task_id=task.id)
    metrics.count_on_commit(session, metrics.UPDATES_STORED, platform=source.platform)
    return row


async def revise(
    session: AsyncSession,
    row: ProgressUpdate,
    *,
    status: str,
    percent: int | None,
    note: str,
    now: dt.datetime,
) -> None:
    check(status, percent, note)
    await people.revise_update(session, row, status=status, percent=percent, note=note, now=now)
    metrics.count_on_commit(session, metrics.UPDATES_STORED, platform=row.source_platform or "")


async def task_lines(
    session: AsyncSession,
    tasks: Sequence[AssignedTask],
    *,
    agency_id: int | None,
    cycle: dt.date,
    today: dt.date,
    tz: dt.tzinfo,
    co_lead_rule: str = ALL_LEADS,
) -> list[TaskLine]:
    """An agency's tasks (as Context.agency_tasks gives them) as that agency stands on each — the
    rules and reading of `storage.summary`, so the list and `/tonghop` agree — numbered as the
    member types them."""
    standings = await task_standings(
        session,
        tasks,
        agency_id=agency_id,
        cycle=cycle,
        today=today,
        tz=tz,
        co_lead_rule=co_lead_rule,
    )
    lines = []
    for number, task in enumerate(tasks, start=1):
        standing, said = standings[task.id]
        own = [update for update in said if update.agency_id == agency_id] or said
        update = own[-1] if own else None
        lines.append(
            TaskLine(
                number=number,
                code=task.code,
                content=task.content,
                timeframe=task.timeframe_text,
                reported=standing.reported,
                timing=standing.timing,
                percent=standing.percent,
                note=update.note if update else "",
                who=update.member_name if update else None,
                when=update.created_at if update else None,
                evidence=tuple(item.evidence for item in said if item.evidence),
            )
        )
    return lines
