"""Prometheus metrics in the text exposition format, with no dependency beyond the standard library.

Code that does the work counts it with one call at the place it happens, e.g.
`metrics.REMINDERS_SENT.inc(kind=reminder.kind, platform="telegram")`; `/metrics` (bot.ops.http)
renders the registry. Figures that are state rather than events (how many reminders are due and
not yet sent, how many members are unreachable) are read from the database at scrape time by
`refresh_from_database`, so they are right whichever instance did the work.

Counters live in the process: each instance exports its own and Prometheus sums them.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import math
import threading
import time
from collections.abc import Iterator, Sequence

from sqlalchemy import event, func, select

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _format_value(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _labels_text(names: Sequence[str], values: Sequence[str], extra: tuple[str, str] | None = None) -> str:
    pairs = [f'{name}="{_escape_label(value)}"' for name, value in zip(names, values, strict=True)]
    if extra:
        pairs.append(f'{extra[0]}="{_escape_label(extra[1])}"')
    return "{" + ",".join(pairs) + "}" if pairs else ""


class Metric:
    kind = "untyped"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()):
        self.name = name
        self.help = help
        self.labelnames = tuple(labelnames)
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, object]) -> tuple[str, ...]:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}")
        return tuple("" if labels[name] is None else str(labels[name]) for name in self.labelnames)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError


class Counter(Metric):
    """Only goes up (until the process restarts; Prometheus' rate() handles that)."""

    kind = "counter"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()):
        super().__init__(name, help, labelnames)
        self._values: dict[tuple[str, ...], float] = {}
        if not self.labelnames:
            self._values[()] = 0.0

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        if amount < 0:
            raise ValueError("a counter cannot go down")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: object) -> float:
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels_text(self.labelnames, key)} {_format_value(v)}" for key, v in items]

    def reset(self) -> None:
        with self._lock:
            self._values = {(): 0.0} if not self.labelnames else {}


class Gauge(Counter):
    """A value that goes up and down, or is set outright."""

    kind = "gauge"

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, **labels: object) -> None:
        self.inc(-amount, **labels)

    def set(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def replace_all(self, values: dict[tuple[str, ...], float]) -> None:
        """Set the whole family at once (label sets missing from `values` disappear)."""
        with self._lock:
            self._values = {tuple(key): float(value) for key, value in values.items()}
            if not self.labelnames and not self._values:
                self._values[()] = 0.0


# Seconds; a Telegram send is tens of milliseconds, a slow or rate-limited one seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Histogram(Metric):
    kind = "histogram"

    def __init__(
        self, name: str, help: str, labelnames: Sequence[str] = (), buckets: Sequence[float] = LATENCY_BUCKETS
    ):
        super().__init__(name, help, labelnames)
        if "le" in self.labelnames:
            raise ValueError("'le' is reserved for histogram buckets")
        bounds = sorted(float(b) for b in buckets)
        if not bounds or any(a == b for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ValueError("histogram buckets must be distinct and not empty")
        self.buckets = tuple(b for b in bounds if not math.isinf(b))
        # per label set: counts per finite bucket (not cumulative), then sum and count
        self._series: dict[tuple[str, ...], list] = {}

    def observe(self, value: float, **labels: object) -> None:
        key = self._key(labels)
        index = bisect.bisect_left(self.buckets, value)
        with self._lock:
            series = self._series.setdefault(key, [[0] * len(self.buckets), 0.0, 0])
            if index < len(self.buckets):
                series[0][index] += 1
            series[1] += value
            series[2] += 1

    @contextlib.contextmanager
    def time(self, **labels: object) -> Iterator[None]:
        """Observe how long the block took (real elapsed time, whatever clock the scheduler uses)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - started, **labels)

    def count(self, **labels: object) -> int:
        series = self._series.get(self._key(labels))
        return series[2] if series else 0

    def samples(self) -> list[str]:
        lines = []
        with self._lock:
            items = sorted((key, (list(s[0]), s[1], s[2])) for key, s in self._series.items())
        for key, (counts, total, count) in items:
            cumulative = 0
            for bound, n in zip(self.buckets, counts, strict=True):
                cumulative += n
                labels = _labels_text(self.labelnames, key, ("le", _format_value(bound)))
                lines.append(f"{self.name}_bucket{labels} {cumulative}")
            labels = _labels_text(self.labelnames, key, ("le", "+Inf"))
            lines.append(f"{self.name}_bucket{labels} {count}")
            plain = _labels_text(self.labelnames, key)
            lines.append(f"{self.name}_sum{plain} {_format_value(total)}")
            lines.append(f"{self.name}_count{plain} {count}")
        return lines

    def reset(self) -> None:
        with self._lock:
            self._series = {}


class Registry:
    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}

    def register(self, metric: Metric) -> Metric:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} registered twice")
        self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Counter:
        return self.register(Counter(name, help, labelnames))

    def gauge(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self.register(Gauge(name, help, labelnames))

    def histogram(
        self, name: str, help: str, labelnames: Sequence[str] = (), buckets: Sequence[float] = LATENCY_BUCKETS
    ) -> Histogram:
        return self.register(Histogram(name, help, labelnames, buckets))

    def get(self, name: str) -> Metric:
        return self._metrics[name]

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.extend(metric.header())
            lines.extend(metric.samples())
        return "\n".join(lines) + "\n"

    def reset(self) -> None:
        """Back to zero; for tests that count from a known start."""
        for metric in self._metrics.values():
            metric.reset()


REGISTRY = Registry()

# Events, counted where they happen.
REMINDERS_PLANNED = REGISTRY.counter(
    "nhacviec_reminders_planned_total", "Reminder rows the planner added to the outbox.", ("kind",)
)
REMINDERS_SENT = REGISTRY.counter(
    "nhacviec_reminders_sent_total", "Reminders delivered to a person.", ("kind", "platform")
)
REMINDERS_FAILED = REGISTRY.counter(
    "nhacviec_reminders_failed_total",
    "Reminder delivery attempts that failed; reason is permanent, temporary, rate_limited or unknown.",
    ("kind", "platform", "reason"),
)
UPDATES_STORED = REGISTRY.counter(
    "nhacviec_updates_stored_total", "Progress updates stored (new or edited).", ("platform",)
)
SEND_SECONDS = REGISTRY.histogram(
    "nhacviec_send_seconds", "Time one reminder took to hand to the platform.", ("platform",)
)
TICK_LAST_RUN = REGISTRY.gauge(
    "nhacviec_tick_last_run_timestamp_seconds", "When each engine tick last finished (Unix time).", ("tick",)
)

# State, read from the database when scraped.
REMINDERS_DUE = REGISTRY.gauge(
    "nhacviec_reminders_due", "Queue depth: reminders due now and not yet sent (pending or lease expired)."
)
OLDEST_DUE_AGE = REGISTRY.gauge(
    "nhacviec_reminders_oldest_due_age_seconds", "How long the oldest due, unsent reminder has waited."
)
REMINDERS_BY_STATUS = REGISTRY.gauge(
    "nhacviec_reminders", "Reminder rows in the outbox by status.", ("status",)
)
MEMBERS_UNREACHABLE = REGISTRY.gauge(
    "nhacviec_members_unreachable", "Active members the bot cannot reach (blocked it, chat gone)."
)
DATABASE_UP = REGISTRY.gauge("nhacviec_database_up", "1 if the last scrape could read the database.")


def count_on_commit(session, counter: Counter, amount: float = 1.0, **labels: object) -> None:
    """Count an event that a unit of work records, once that unit of work is committed (a rolled
    back update was never stored, so it must not be counted)."""
    counter._key(labels)  # wrong labels fail here, at the call, not later inside the commit

    def committed(_session) -> None:
        counter.inc(amount, **labels)

    event.listen(session.sync_session, "after_commit", committed, once=True)


# The ticks the engine runs, whose freshness /healthz checks.
TICKS = ("planner", "sender")
_last_tick: dict[str, dt.datetime] = {}


def note_tick(tick: str, now: dt.datetime) -> None:
    """Record that a tick finished at `now` (the engine's clock, so tests can move it)."""
    _last_tick[tick] = now
    TICK_LAST_RUN.set(now.timestamp(), tick=tick)


def last_tick(tick: str) -> dt.datetime | None:
    return _last_tick.get(tick)


def forget_ticks() -> None:
    _last_tick.clear()


async def refresh_from_database(db, now: dt.datetime) -> None:
    """Read the gauges that describe state; raises if the database cannot be read."""
    from storage.models import Member, Reminder
    from storage.models.people import ACTIVE
    from storage.models.reminders import CLAIMED, PENDING

    try:
        async with db.snapshot() as session:
            by_status = dict(
                (await session.execute(select(Reminder.status, func.count()).group_by(Reminder.status))).all()
            )
            waiting = (Reminder.status == PENDING) | (
                (Reminder.status == CLAIMED) & (Reminder.lease_until < now)
            )
            due, oldest = (
                await session.execute(
                    select(func.count(), func.min(Reminder.due_at)).where(waiting, Reminder.due_at <= now)
                )
            ).one()
            unreachable = await session.scalar(
                select(func.count())
                .select_from(Member)
                .where(Member.status == ACTIVE, Member.reachable.is_(False))
            )
    except Exception:
        DATABASE_UP.set(0)
        raise
    DATABASE_UP.set(1)
    REMINDERS_BY_STATUS.replace_all({(status,): count for status, count in by_status.items()})
    REMINDERS_DUE.set(due)
    if oldest is not None:
        if oldest.tzinfo is None:  # SQLite's min() bypasses the column type
            oldest = dt.datetime.fromisoformat(str(oldest)).replace(tzinfo=dt.UTC)
        OLDEST_DUE_AGE.set(max(0.0, (now - oldest).total_seconds()))
    else:
        OLDEST_DUE_AGE.set(0)
    MEMBERS_UNREACHABLE.set(unreachable or 0)
