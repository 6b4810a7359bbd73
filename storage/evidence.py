"""Evidence file rows: added with an update, claimed for download, marked stored or failed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.evidence import FAILED, PENDING, STORED, EvidenceFile
from storage.models.people import ProgressUpdate
from storage.models.plan import Agency, Task

# The platforms whose "<platform>:<id>" evidence names a file to fetch (the rest is a typed link).
FILE_PLATFORMS = ("telegram", "zalo", "zalo_oa", "console")


def names_a_file(evidence: str | None) -> bool:
    if not evidence or ":" not in evidence:
        return False
    return evidence.split(":", 1)[0] in FILE_PLATFORMS


async def add_pending(
    session: AsyncSession,
    update: ProgressUpdate,
    *,
    source: str,
    original_name: str | None,
    now: dt.datetime,
) -> EvidenceFile:
    row = EvidenceFile(
        update_id=update.id,
        agency_id=update.agency_id,
        source=source,
        original_name=(original_name or "")[:255] or None,
        state=PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def due(session: AsyncSession, now: dt.datetime, *, limit: int = 50) -> Sequence[EvidenceFile]:
    """Pending files whose next attempt is due, oldest first."""
    query = (
        select(EvidenceFile)
        .where(
            EvidenceFile.state == PENDING,
            or_(EvidenceFile.next_attempt_at.is_(None), EvidenceFile.next_attempt_at <= now),
        )
        .order_by(EvidenceFile.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def agency_bytes(session: AsyncSession, agency_id: int) -> int:
    """What an agency's stored files take (a file sent twice counts once)."""
    distinct = (
        select(EvidenceFile.sha256, EvidenceFile.size)
        .where(EvidenceFile.agency_id == agency_id, EvidenceFile.state == STORED)
        .distinct()
        .subquery()
    )
    return int((await session.scalar(select(func.coalesce(func.sum(distinct.c.size), 0)))) or 0)


async def listed(
    session: AsyncSession,
    *,
    plan_id: int | None = None,
    agency_id: int | None = None,
    states: Sequence[str] = (PENDING, STORED, FAILED),
) -> list[tuple[EvidenceFile, ProgressUpdate, Task, Agency]]:
    query = (
        select(EvidenceFile, ProgressUpdate, Task, Agency)
        .join(ProgressUpdate, ProgressUpdate.id == EvidenceFile.update_id)
        .join(Task, Task.id == ProgressUpdate.task_id)
        .join(Agency, Agency.id == EvidenceFile.agency_id)
        .where(EvidenceFile.state.in_(states))
        .order_by(Agency.name, Task.id, EvidenceFile.id)
    )
    if plan_id is not None:
        query = query.where(Task.plan_id == plan_id)
    if agency_id is not None:
        query = query.where(EvidenceFile.agency_id == agency_id)
    return [tuple(row) for row in (await session.execute(query)).all()]


async def of_updates(session: AsyncSession, update_ids: Sequence[int]) -> dict[int, list[EvidenceFile]]:
    """The files of these updates, by update id."""
    found: dict[int, list[EvidenceFile]] = {}
    if not update_ids:
        return found
    rows = await session.scalars(
        select(EvidenceFile).where(EvidenceFile.update_id.in_(list(update_ids))).order_by(EvidenceFile.id)
    )
    for row in rows:
        found.setdefault(row.update_id, []).append(row)
    return found


async def stored_hashes(session: AsyncSession) -> set[str]:
    rows = await session.scalars(select(EvidenceFile.sha256).where(EvidenceFile.state == STORED).distinct())
    return {sha for sha in rows if sha}
