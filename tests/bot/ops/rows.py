"""Outbox rows for the operations tests, which only need reminders in given states."""

from __future__ import annotations

import datetime as dt

from storage.models import Reminder
from storage.models.reminders import PENDING, REPORT


def reminder_row(
    key: str,
    *,
    plan_id: int,
    agency_id: int,
    member_id: int,
    due: dt.datetime,
    status: str = PENDING,
    lease: dt.datetime | None = None,
) -> Reminder:
    values = {
        "key": key,
        "chain": key,
        "plan_id": plan_id,
        "kind": REPORT,
        "deadline_kind": REPORT,
        "deadline": dt.date(2020, 6, 20),
        "offset_days": 7,
        "agency_id": agency_id,
        "member_id": member_id,
        "due_at": due,
        "available_at": due,
        "expires_at": due + dt.timedelta(days=4),
        "status": status,
        "lease_until": lease,
    }
    # The outbox's bookkeeping columns are the reminder engine's business; fill only those it has.
    columns = set(Reminder.__table__.columns.keys())
    return Reminder(**{name: value for name, value in values.items() if name in columns})
