"""The Prometheus registry and the figures read from the database at scrape time."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.ops import metrics
from bot.ops.metrics import Registry
from storage.models import Agency, Member, Plan
from storage.models.people import ACTIVE, COORDINATOR, FOCAL, RETIRED
from storage.models.reminders import CLAIMED, PENDING, SENT
from tests.bot.ops.rows import reminder_row
from tests.bot.ops.scrape import families, scraped, value


def test_counters_render_in_the_prometheus_text_format():
    registry = Registry()
    sent = registry.counter("demo_sent_total", "Messages sent.", ("platform",))
    registry.counter("demo_errors_total", "Errors.")
    sent.inc(platform="telegram")
    sent.inc(2, platform="zalo")
    sent.inc(platform="telegram")

    rendered = registry.render()

    assert "# HELP demo_sent_total Messages sent.\n# TYPE demo_sent_total counter\n" in rendered
    assert "# TYPE demo_errors_total counter\n" in rendered
    assert scraped(rendered) == {
        ("demo_sent_total", frozenset({("platform", "telegram")})): 2,
        ("demo_sent_total", frozenset({("platform", "zalo")})): 2,
        ("demo_errors_total", frozenset()): 0,
    }
    assert sent.value(platform="telegram") == 2


def test_histogram_buckets_are_cumulative_with_sum_and_count():
    registry = Registry()
    latency = registry.histogram("demo_seconds", "Latency.", ("platform",), buckets=(0.1, 1.0))
    for observed in (0.05, 0.5, 0.5, 3.0):
        latency.observe(observed, platform="telegram")

    rendered = registry.render()

    assert "# TYPE demo_seconds histogram\n" in rendered
    assert value(rendered, "demo_seconds_bucket", platform="telegram", le="0.1") == 1
    assert value(rendered, "demo_seconds_bucket", platform="telegram", le="1.0") == 3
    assert value(rendered, "demo_seconds_bucket", platform="telegram", le="+Inf") == 4
    assert value(rendered, "demo_seconds_sum", platform="telegram") == pytest.approx(4.05)
    assert value(rendered, "demo_seconds_count", platform="telegram") == 4
    assert latency.count(platform="telegram") == 4


def test_the_database_figures_are_exposed_by_a_collector_with_their_last_values():
    registry = Registry()
    due = registry.state_gauge("demo_due", "Due now.")
    by_status = registry.state_gauge("demo_rows", "Rows by status.", ("status",))
    due.set(3)
    by_status.replace_all({("pending",): 2, ("sent",): 5})
    by_status.replace_all({("pending",): 1})

    rendered = registry.render()

    assert families(rendered)["demo_due"] == ("gauge", "Due now.")
    assert scraped(rendered) == {
        ("demo_due", frozenset()): 3,
        ("demo_rows", frozenset({("status", "pending")})): 1,
    }


def test_label_values_are_escaped():
    registry = Registry()
    gauge = registry.gauge("demo_gauge", "Help with a \\ and\na newline.", ("agency",))
    gauge.set(1.5, agency='Sở "TTTT"\\\n')
    rendered = registry.render()
    assert "# HELP demo_gauge Help with a \\\\ and\\na newline.\n" in rendered
    assert 'demo_gauge{agency="Sở \\"TTTT\\"\\\\\\n"} 1.5\n' in rendered


def test_wrong_labels_are_refused_rather_than_recorded_under_a_new_series():
    registry = Registry()
    sent = registry.counter("demo_sent_total", "Messages sent.", ("kind", "platform"))
    with pytest.raises(ValueError, match="takes labels"):
        sent.inc(kind="report")
    with pytest.raises(ValueError, match="cannot go down"):
        sent.inc(-1, kind="report", platform="telegram")


def test_a_metric_name_cannot_be_registered_twice():
    registry = Registry()
    registry.counter("demo_total", "x")
    with pytest.raises(ValueError, match="twice"):
        registry.counter("demo_total", "y")


def test_the_global_registry_exposes_the_operational_metrics():
    rendered = metrics.REGISTRY.render()
    for name in (
        "nhacviec_reminders_planned_total",
        "nhacviec_reminders_sent_total",
        "nhacviec_reminders_failed_total",
        "nhacviec_updates_stored_total",
        "nhacviec_send_seconds",
        "nhacviec_reminders_due",
        "nhacviec_members_unreachable",
    ):
        assert f"# TYPE {name} " in rendered


async def _seed(session, now: dt.datetime) -> None:
    agency = Agency(name="Sở Ngoại vụ", key="so ngoai vu")
    plan = Plan(number="87/KH-UBND", year=2020)
    focal = Member(name="Lan", role=FOCAL, agency=agency, status=ACTIVE)
    # One active focal point per agency: the unreachable one is a coordinator of the same agency.
    blocked = Member(name="Minh", role=COORDINATOR, agency=agency, status=ACTIVE, reachable=False)
    gone = Member(name="Hoa", role=FOCAL, agency=agency, status=RETIRED, reachable=False)
    session.add_all([agency, plan, focal, blocked, gone])
    await session.flush()
    hour = dt.timedelta(hours=1)

    def reminder(key: str, due: dt.datetime, status: str, lease: dt.datetime | None = None):
        return reminder_row(
            key, plan_id=plan.id, agency_id=agency.id, member_id=focal.id, due=due, status=status, lease=lease
        )

    session.add_all(
        [
            reminder("due-2h", now - 2 * hour, PENDING),
            reminder("due-now", now, PENDING),
            reminder("later", now + hour, PENDING),
            reminder("lease-expired", now - hour, CLAIMED, lease=now - dt.timedelta(minutes=1)),
            reminder("in-flight", now - hour, CLAIMED, lease=now + dt.timedelta(minutes=1)),
            reminder("done", now - 3 * hour, SENT),
        ]
    )


async def test_queue_depth_and_unreachable_members_are_read_from_the_database(db, clock):
    now = clock.now()
    async with db.transaction() as session:
        await _seed(session, now)

    await metrics.refresh_from_database(db, now)

    assert metrics.REMINDERS_DUE.value() == 3
    assert metrics.OLDEST_DUE_AGE.value() == 2 * 3600
    assert metrics.MEMBERS_UNREACHABLE.value() == 1
    assert metrics.REMINDERS_BY_STATUS.value(status=PENDING) == 3
    assert metrics.REMINDERS_BY_STATUS.value(status=CLAIMED) == 2
    assert metrics.DATABASE_UP.value() == 1


async def test_an_unreadable_database_is_reported_as_down(tmp_path, clock):
    from storage.db import Database

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    broken = Database(f"sqlite+aiosqlite:///{junk}")
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        await metrics.refresh_from_database(broken, clock.now())
    await broken.dispose()
    assert metrics.DATABASE_UP.value() == 0


async def test_an_event_counted_on_commit_is_not_counted_when_the_work_is_rolled_back(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            metrics.count_on_commit(session, metrics.UPDATES_STORED, platform="telegram")
            raise RuntimeError("the update could not be stored")
    assert metrics.UPDATES_STORED.value(platform="telegram") == 0

    async with db.transaction() as session:
        metrics.count_on_commit(session, metrics.UPDATES_STORED, platform="telegram")
    assert metrics.UPDATES_STORED.value(platform="telegram") == 1


async def test_a_progress_update_stored_through_the_core_is_counted(db, app):
    from bot.core.messages import Incoming
    from bot.core.service import Core
    from tests.factories import make_member, make_plan

    async with db.transaction() as session:
        built = await make_plan(session)
        await make_member(session, "Lan", agency=built.agencies["Sở Du lịch"], platform="zalo", user_id="lan")
    core = Core(app)

    await core.handle(Incoming(platform="zalo", chat_id="lan", user_id="lan", text="/capnhat 1 hoàn thành"))
    await core.handle(Incoming(platform="zalo", chat_id="lan", user_id="lan", text="/capnhat 99 hoàn thành"))

    assert metrics.UPDATES_STORED.value(platform="zalo") == 1
