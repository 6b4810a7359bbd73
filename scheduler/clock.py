"""The one place the current time comes from; tests hand in a clock they move by hand."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that stands still until told to move."""

    def __init__(self, start: dt.datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, when: dt.datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = when.astimezone(dt.UTC)

    def advance(self, delta: dt.timedelta | None = None, **kwargs: float) -> dt.datetime:
        self._now += delta if delta is not None else dt.timedelta(**kwargs)
        return self._now
