"""The current plan's task assignments, kept by the chat core from one message to the next.

Most messages need an agency's tasks: to list them, to pick one, to check a one-line update. They
change only when a plan is imported, and the importer (like any ORM update of the plan row) sets
`Plan.imported_at`; so (plan id, imported_at) names one version of the assignments. Every message
that needs them reads the current plan row anyway, which is how a plan imported by another process
(`nhacviec plan import` while the bot runs) is noticed at the next message.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.assignments import Assignments, assigned_tasks
from storage.models.plan import Plan


class PlanTasks:
    """The current version of each plan's assignments; a newer version of a plan replaces its own."""

    def __init__(self) -> None:
        self._versions: dict[int, tuple[object, Assignments]] = {}

    async def get(self, session: AsyncSession, plan: Plan) -> Assignments:
        kept = self._versions.get(plan.id)
        if kept is None or kept[0] != plan.imported_at:
            # Concurrent messages (PostgreSQL) may both load the same version: harmless, both equal.
            assignments = await assigned_tasks(session, plan.id)
            self._versions[plan.id] = (plan.imported_at, assignments)
            return assignments
        return kept[1]
