"""All tables, one module per room of the domain; importing this package registers them all."""

from storage.models import evidence, limits, linking, menus, replies, web, zalo  # noqa: F401  (registers their tables)
from storage.models.base import Base, utcnow
from storage.models.people import (
    CallbackAction,
    ConversationState,
    GroupLink,
    Identity,
    Invite,
    LatestInCycle,
    Member,
    ProcessedUpdate,
    ProgressUpdate,
    TaskLatest,
    UpdateRevision,
)
from storage.models.plan import (
    Agency,
    AgencyAlias,
    AgencyEvent,
    AgencyGroupMember,
    Plan,
    Section,
    Task,
    TaskAgency,
)
from storage.models.reminders import RateBudget, Reminder

__all__ = [
    "Agency",
    "AgencyAlias",
    "AgencyEvent",
    "AgencyGroupMember",
    "Base",
    "CallbackAction",
    "ConversationState",
    "GroupLink",
    "Identity",
    "Invite",
    "LatestInCycle",
    "TaskLatest",
    "Member",
    "Plan",
    "ProcessedUpdate",
    "ProgressUpdate",
    "RateBudget",
    "Reminder",
    "Section",
    "Task",
    "TaskAgency",
    "UpdateRevision",
    "utcnow",
]
