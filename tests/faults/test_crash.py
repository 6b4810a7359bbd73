"""kill -9 during a fan-out: nothing lost, at most the send in flight repeated, and recognisably so.

The full-size run (1,000 reminders, 20 kills) is bench/bench_crash.py.
"""

from __future__ import annotations

import pytest

from storage.models.reminders import SENT
from tests.emulators.telegram import TelegramEmulator
from tests.faults.scenarios import crash_fan_out

pytestmark = pytest.mark.slow


async def test_killing_the_bot_during_a_fan_out_loses_no_reminder(sqlite_db, tmp_path):
    result = await crash_fan_out(sqlite_db, sqlite_db.url, tmp_path, size=60, kills=3, max_in_flight=1)

    assert result.planned == 60
    assert result.tally.lost == 0
    assert result.statuses == {SENT: 60}
    # One send in flight at a time: each crash can leave at most that one unacknowledged…
    assert all(n <= 1 for n in result.in_flight_at_crash), result.in_flight_at_crash
    # …and exactly those are sent again, with the same reference, so the person can tell.
    assert result.tally.duplicates == sum(result.in_flight_at_crash)
    assert result.tally.unrecognisable_duplicates == 0
    # The child's own log (stderr, every run) shows the deliveries and never the token.
    assert "reminder delivered reminder_key=" in result.log_text
    assert "deadline=2020-06-20 offset_days=7" in result.log_text
    assert 'agency="Ủy ban nhân dân quận 1"' in result.log_text
    assert "skipped: maximum number of running instances" not in result.log_text
    token = TelegramEmulator().token
    assert token not in result.log_text and token.split(":")[1] not in result.log_text
