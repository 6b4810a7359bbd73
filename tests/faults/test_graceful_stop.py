"""SIGTERM during a fan-out, as systemd stops the bot: sends in flight finish and are recorded, what
was claimed is handed back, the process exits 0 within the grace period, and the restarted bot
sends no reminder twice. Two SIGTERMs in a row exit at once, and still nothing is lost."""

from __future__ import annotations

import signal

import pytest

from storage.models.reminders import SENT
from tests.faults.scenarios import graceful_fan_out

pytestmark = pytest.mark.slow

GRACE = 5  # [ops] shutdown_grace_seconds in bot_config


async def test_stopping_the_bot_with_sigterm_mid_fan_out_loses_and_repeats_nothing(sqlite_db, tmp_path):
    result = await graceful_fan_out(sqlite_db, tmp_path, size=80, stops=3)

    assert result.exit_codes == [0, 0, 0]
    assert all(seconds < GRACE for seconds in result.stop_seconds), result.stop_seconds
    # Every send in flight was acknowledged, every claim handed back, before the process exited…
    assert result.unacknowledged_at_stop == [0, 0, 0]
    assert result.claimed_at_stop == [0, 0, 0]
    # Two SIGTERMs: out at once, with SIGTERM's status; its claims wait for their lease, then go,
    # and only the sends it cut off (recognisably) repeat.
    assert result.double_signal_code == 128 + signal.SIGTERM
    assert result.double_signal_seconds < 1.5
    assert result.tally.lost == 0
    assert result.tally.duplicates == result.double_signal_unacknowledged
    assert result.tally.unrecognisable_duplicates == 0
    assert result.statuses == {SENT: 80}
