"""Prometheus metrics, kept and exposed by prometheus_client.

Code that does the work counts it with one call at the place it happens, e.g.
`metrics.REMINDERS_SENT.inc(kind=reminder.kind, platform="telegram")`; `/metrics` (bot.ops.http)
renders the registry. Figures that are state rather than events (how many reminders are due and
not yet sent, how many members are unreachable) are read from the database at scrape time by
`refresh_from_database` and exposed by a custom collector, so they are right whichever instance did
the work.

Counters live in the process: each instance exports its own and Prometheus sums them.

The metric classes here are thin: they keep the project's call style (labels as keyword
arguments, checked at the call) and let tests read a value back; prometheus_client does the
counting, the thread safety and the exposition format.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator, Sequence

import prometheus_client
import prometheus_client.exposition
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from storage.checkpoints import Checkpoint

# The classic text format, which every Prometheus version reads (what generate_latest writes).
CONTENT_TYPE = prometheus_client.exposition.CONTENT_TYPE_PLAIN_0_0_4

# Each counter would otherwise get a `_created` twin (its creation time), which nobody here graphs
# and which doubles the series count.
prometheus_client.disable_created_metrics()


class Metric:
    """One metric family of a Registry, backed by a prometheus_client metric."""

    kind = "untyped"

    def __init__(self, registry: CollectorRegistry, name: str, help: str, labelnames: Sequence[str] = ()):
        self.name = name
        self.help = help
        self.labelnames = tuple(labelnames)
        self._registry = registry
        self._metric = self._make()

    def _make(self):
        raise NotImplementedError

    def _key(self, labels: dict[str, object]) -> tuple[str, ...]:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(labels)}")
        return tuple("" if labels[name] is None else str(labels[name]) for name in self.labelnames)

    def _child(self, labels: dict[str, object]):
        key = self._key(labels)
        return self._metric.labels(*key) if self.labelnames else self._metric

    def _sample(self, suffix: str, labels: dict[str, object]) -> float | None:
        wanted = dict(zip(self.labelnames, self._key(labels), strict=True))
        for family in self._metric.collect():
            for sample in family.samples:
                if sample.name == self.name + suffix and sample.labels == wanted:
                    return sample.value
        return None

    def reset(self) -> None:
        """Back to zero (tests count from a known start): a fresh metric replaces this one."""
        self._registry.unregister(self._metric)
        self._metric = self._make()


class Counter(Metric):
    """Only goes up (until the process restarts; Prometheus' rate() handles that)."""

    kind = "counter"

    def _make(self):
        return prometheus_client.Counter(self.name, self.help, self.labelnames, registry=self._registry)

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        if amount < 0:
            raise ValueError("a counter cannot go down")
        self._child(labels).inc(amount)

    def value(self, **labels: object) -> float:
        # prometheus_client names a counter's sample <name>_total whatever it was given.
        base = self.name.removesuffix("_total")
        wanted = dict(zip(self.labelnames, self._key(labels), strict=True))
        for family in self._metric.collect():
            for sample in family.samples:
                if sample.name == base + "_total" and sample.labels == wanted:
                    return sample.value
        return 0.0


class Gauge(Metric):
    """A value that goes up and down, or is set outright."""

    kind = "gauge"

    def _make(self):
        return prometheus_client.Gauge(self.name, self.help, self.labelnames, registry=self._registry)

    def inc(self, amount: float = 1.0, **labels: object) -> None:
        self._child(labels).inc(amount)

    def dec(self, amount: float = 1.0, **labels: object) -> None:
        self._child(labels).dec(amount)

    def set(self, value: float, **labels: object) -> None:
        self._child(labels).set(value)

    def value(self, **labels: object) -> float:
        return self._sample("", labels) or 0.0


# Seconds; a Telegram send is tens of milliseconds, a slow or rate-limited one seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Histogram(Metric):
    kind = "histogram"

    def __init__(
        self,
        registry: CollectorRegistry,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ):
        self.buckets = tuple(buckets)
        super().__init__(registry, name, help, labelnames)

    def _make(self):
        return prometheus_client.Histogram(
            self.name, self.help, self.labelnames, registry=self._registry, buckets=self.buckets
        )

    def observe(self, value: float, **labels: object) -> None:
        self._child(labels).observe(value)

    @contextlib.contextmanager
    def time(self, **labels: object) -> Iterator[None]:
        """Observe how long the block took (real elapsed time, whatever clock the scheduler uses)."""
        with self._child(labels).time():
            yield

    def count(self, **labels: object) -> int:
        return int(self._sample("_count", labels) or 0)


class StateGauge:
    """A figure read from the database at scrape time; DatabaseState exposes it."""

    kind = "gauge"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()):
        self.name = name
        self.help = help
        self.labelnames = tuple(labelnames)
        self._lock = threading.Lock()
        self._values: dict[tuple[str, ...], float] = {} if self.labelnames else {(): 0.0}

    def set(self, value: float) -> None:
        with self._lock:
            self._values = {(): float(value)}

    def replace_all(self, values: dict[tuple[str, ...], float]) -> None:
        """Set the whole family at once (label sets missing from `values` disappear)."""
        with self._lock:
            self._values = {tuple(str(part) for part in key): float(value) for key, value in values.items()}

    def value(self, **labels: object) -> float:
        key = tuple(str(labels[name]) for name in self.labelnames)
        return self._values.get(key, 0.0)

    def family(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(self.name, self.help, labels=self.labelnames)
        with self._lock:
            items = sorted(self._values.items())
        for key, value in items:
            family.add_metric(list(key), value)
        return family

    def reset(self) -> None:
        with self._lock:
            self._values = {} if self.labelnames else {(): 0.0}


class DatabaseState:
    """A prometheus_client custom collector for the figures `refresh_from_database` last read."""

    def __init__(self) -> None:
        self.gauges: list[StateGauge] = []

    def gauge(self, name: str, help: str, labelnames: Sequence[str] = ()) -> StateGauge:
        gauge = StateGauge(name, help, labelnames)
        self.gauges.append(gauge)
        return gauge

    def collect(self):
        for gauge in self.gauges:
            yield gauge.family()

    def describe(self):
        # Names are known without reading anything: registering needs no database.
        return [GaugeMetricFamily(gauge.name, gauge.help, labels=gauge.labelnames) for gauge in self.gauges]


class Registry:
    def __init__(self) -> None:
        self.collectors = CollectorRegistry()
        self._metrics: dict[str, Metric] = {}
        self.state = DatabaseState()
        self.collectors.register(self.state)

    def _add(self, metric: Metric) -> Metric:
        self._metrics[metric.name] = metric
        return metric

    def _check_new(self, name: str) -> None:
        if name in self._metrics or any(gauge.name == name for gauge in self.state.gauges):
            raise ValueError(f"metric {name} registered twice")

    def counter(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Counter:
        self._check_new(name)
        return self._add(Counter(self.collectors, name, help, labelnames))

    def gauge(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Gauge:
        self._check_new(name)
        return self._add(Gauge(self.collectors, name, help, labelnames))

    def state_gauge(self, name: str, help: str, labelnames: Sequence[str] = ()) -> StateGauge:
        """A gauge whose value is read from the database at scrape time."""
        self._check_new(name)
        return self.state.gauge(name, help, labelnames)

    def histogram(
        self, name: str, help: str, labelnames: Sequence[str] = (), buckets: Sequence[float] = LATENCY_BUCKETS
    ) -> Histogram:
        self._check_new(name)
        return self._add(Histogram(self.collectors, name, help, labelnames, buckets))

    def get(self, name: str):
        if name in self._metrics:
            return self._metrics[name]
        return next(gauge for gauge in self.state.gauges if gauge.name == name)

    def render(self) -> str:
        """The Prometheus text exposition format (prometheus_client's)."""
        return generate_latest(self.collectors).decode()

    def reset(self) -> None:
        """Back to zero; for tests that count from a known start."""
        for metric in self._metrics.values():
            metric.reset()
        for gauge in self.state.gauges:
            gauge.reset()


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
SQLITE_CHECKPOINTS = REGISTRY.counter(
    "nhacviec_sqlite_checkpoints_total",
    "SQLite WAL checkpoints made in the background; outcome is complete, partial (a reader still"
    " needed older pages) or failed (the writer then copies itself).",
    ("outcome",),
)
TICK_LAST_RUN = REGISTRY.gauge(
    "nhacviec_tick_last_run_timestamp_seconds", "When each engine tick last finished (Unix time).", ("tick",)
)

# State, read from the database when scraped.
REMINDERS_DUE = REGISTRY.state_gauge(
    "nhacviec_reminders_due", "Queue depth: reminders due now and not yet sent (pending or lease expired)."
)
OLDEST_DUE_AGE = REGISTRY.state_gauge(
    "nhacviec_reminders_oldest_due_age_seconds", "How long the oldest due, unsent reminder has waited."
)
REMINDERS_BY_STATUS = REGISTRY.state_gauge(
    "nhacviec_reminders", "Reminder rows in the outbox by status.", ("status",)
)
MEMBERS_UNREACHABLE = REGISTRY.state_gauge(
    "nhacviec_members_unreachable", "Active members the bot cannot reach (blocked it, chat gone)."
)
DATABASE_UP = REGISTRY.state_gauge("nhacviec_database_up", "1 if the last scrape could read the database.")


def count_on_commit(session, counter: Counter, amount: float = 1.0, **labels: object) -> None:
    """Count an event that a unit of work records, once that unit of work is committed (a rolled
    back update was never stored, so it must not be counted)."""
    counter._key(labels)  # wrong labels fail here, at the call, not later inside the commit
    # Kept on the session and counted by one listener for every session: a listener registered
    # per call cost a tenth of a millisecond of each stored update.
    session.sync_session.info.setdefault(_ON_COMMIT, []).append((counter, amount, labels))


_ON_COMMIT = "nhacviec.count_on_commit"


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for counter, amount, labels in session.info.pop(_ON_COMMIT, ()):
        counter.inc(amount, **labels)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_ON_COMMIT, None)


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


def count_checkpoint(checkpoint: Checkpoint) -> None:
    """storage.checkpoints' report of one checkpoint, counted by outcome."""
    SQLITE_CHECKPOINTS.inc(outcome=checkpoint.outcome)
