"""What was said on a task over time: every version of every update, newest first.

An edit keeps the text it replaced as an UpdateRevision, so each update is a chain of versions: the
first revision's text stood from the moment the update was recorded until that revision's
`replaced_at`, the next from there, and the update's current text since its last edit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models.people import ProgressUpdate


@dataclass(frozen=True, slots=True)
class Version:
    update_id: int
    agency_id: int
    member_name: str | None
    status: str
    percent: int | None
    note: str
    evidence: str | None
    cycle: dt.date
    since: dt.datetime  # when this text was recorded (UTC)
    revised: bool  # an edit of an earlier text
    replaced_at: dt.datetime | None  # when an edit replaced it; None for the text standing now


async def task_history(session: AsyncSession, task_id: int, *, limit: int | None = None) -> list[Version]:
    """Every version of every update on the task, newest first."""
    updates = (
        (
            await session.execute(
                select(ProgressUpdate)
                .where(ProgressUpdate.task_id == task_id)
                .options(selectinload(ProgressUpdate.revisions))
                .order_by(ProgressUpdate.created_at, ProgressUpdate.id)
            )
        )
        .unique()
        .scalars()
    )
    versions: list[Version] = []
    for update in updates:
        name = update.member.name if update.member is not None else None
        since = update.created_at
        for number, revision in enumerate(update.revisions):
            versions.append(
                Version(
                    update.id,
                    update.agency_id,
                    name,
                    revision.status,
                    revision.percent,
                    revision.note,
                    update.evidence,
                    update.cycle,
                    since,
                    number > 0,
                    revision.replaced_at,
                )
            )
            since = revision.replaced_at
        versions.append(
            Version(
                update.id,
                update.agency_id,
                name,
                update.status,
                update.percent,
                update.note,
                update.evidence,
                update.cycle,
                update.edited_at or since,
                bool(update.revisions),
                None,
            )
        )
    versions.sort(key=lambda version: (version.since, version.update_id), reverse=True)
    return versions[:limit] if limit is not None else versions
