"""Telegram answers about 10 % of the sends with 429, 403, 400, 5xx or a timeout: every reminder that
can be delivered is, members who cannot be reached are flagged, nothing is lost.

Full size (1,000 reminders) in bench/bench_platform_faults.py.
"""

from __future__ import annotations

import pytest

from storage.models.reminders import SENT, UNREACHABLE
from tests.faults.scenarios import faulty_fan_out

pytestmark = pytest.mark.slow


async def test_every_deliverable_reminder_arrives_despite_ten_percent_of_sends_failing(sqlite_db, tmp_path):
    # Twice the shares on a small crowd, so that every kind of fault shows up.
    result = await faulty_fan_out(sqlite_db, tmp_path, size=150, scale=2.0, seed=5)

    assert set(result.injected) >= {"retry_after", "server_error", "bad_gateway", "timeout"}
    assert result.permanent_chats, "no permanent fault was drawn; the seed needs changing"
    # Who the bot gave up on is exactly who Telegram said cannot be reached…
    assert result.unreachable_chats == result.permanent_chats
    # …and everyone else got their reminder.
    assert result.silent_chats <= result.permanent_chats
    expected = {SENT: 150 - len(result.permanent_chats), UNREACHABLE: len(result.permanent_chats)}
    assert result.statuses == expected
    # A repeat happens only after a timeout that had in fact delivered, and carries the same reference.
    assert result.tally.duplicates <= result.delivered_timeouts
    assert result.tally.unrecognisable_duplicates == 0
