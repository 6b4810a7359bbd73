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


class ClockBackwards(ValueError):
    """A travelling clock was asked to go back to before a moment it has already shown."""


class TravelClock:
    """The console's clock: the wall clock until it is sent to a moment, then that moment running on
    at the wall clock's pace. It can take a person into a past plan's calendar to watch reminders
    fall due; once there, it only moves forward, as time does (a reminder sent stays sent)."""

    def __init__(self, base: Clock | None = None):
        self._base = base or SystemClock()
        self._offset: dt.timedelta | None = None

    @property
    def travelled(self) -> bool:
        """Whether the clock was sent to a moment (else it is the wall clock)."""
        return self._offset is not None

    def now(self) -> dt.datetime:
        return self._base.now() + (self._offset or dt.timedelta(0))

    def move_to(self, when: dt.datetime) -> dt.datetime:
        if when.tzinfo is None:
            raise ValueError("TravelClock needs an aware datetime")
        if self._offset is not None and when < self.now():
            raise ClockBackwards(when)
        self._offset = when.astimezone(dt.UTC) - self._base.now()
        return self.now()
