"""Two instances on one PostgreSQL database, sending at the same moment."""

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select, text

from bot.config import Config, RateConfig
from storage.db import Database
from storage.models import Base, Reminder
from tests.conftest import PG_URL
from tests.recording_transport import RecordingTransport
from tests.scheduler.conftest import build_crowd, hanoi, make_engine
from tests.scheduler.test_rate_limit import most_in_any_second

pytestmark = pytest.mark.postgres


@pytest.fixture
async def two_instances(pg_schema):
    """Two Database objects (two connection pools, as two processes have) on one fresh schema."""
    first = Database(PG_URL, pg_server_settings={"search_path": pg_schema})
    second = Database(PG_URL, pg_server_settings={"search_path": pg_schema})
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with first.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield first, second
    await first.dispose()
    await second.dispose()


async def test_two_senders_deliver_each_reminder_exactly_once(two_instances, clock):
    first_db, second_db = two_instances
    await build_crowd(first_db, 120)
    transport = RecordingTransport(clock)
    config = Config()
    config.reminders.batch_size = 10
    one = make_engine(first_db, clock, [transport], config)
    other = make_engine(second_db, clock, [transport], config)
    await one.plan()
    clock.set(hanoi(2020, 6, 12, 8))
    reports = await asyncio.gather(one.send(), other.send())
    per_chat = Counter(m.chat_id for m in transport.sent)
    async with first_db.snapshot() as session:
        sent_rows = await session.scalar(select(func.count()).where(Reminder.status == "sent"))
    assert (len(per_chat), set(per_chat.values()), sent_rows) == (120, {1}, 120)
    # Both took part: the claims really did run side by side.
    assert all(report.messages > 0 for report in reports), [r.messages for r in reports]


async def test_two_senders_share_one_rate_budget(two_instances, clock):
    first_db, second_db = two_instances
    await build_crowd(first_db, 40, platform="telegram")
    telegram = RecordingTransport(clock, platform="telegram", enforce_per_second=10)
    config = Config()
    config.reminders.batch_size = 5
    config.reminders.rates["telegram"] = RateConfig(per_second=10, per_chat_per_second=1)
    one = make_engine(first_db, clock, [telegram], config)
    other = make_engine(second_db, clock, [telegram], config)
    await one.plan()
    clock.set(hanoi(2020, 6, 12, 8))
    await asyncio.gather(one.send(), other.send())
    expected = (40, 10, 0)
    assert (
        len(telegram.sent),
        most_in_any_second([m.at for m in telegram.sent]),
        telegram.rejected,
    ) == expected
