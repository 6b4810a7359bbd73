"""The bot down for three days: on restart, what is still useful goes out once, what is stale does not,
a missed deadline turns into overdue notices, and the coordinator learns who has not reported.

The bot is a real process (polling the Telegram emulator) started and stopped around the downtime;
its clock starts where the test says, the calendar's 2020 (20/6 is the report deadline, a Saturday).
"""

from __future__ import annotations

import datetime as dt

import pytest

from storage.models.reminders import SENT, SUPERSEDED
from tests.emulators.telegram import TelegramEmulator
from tests.faults.harness import HANOI, bot_config, statuses
from tests.faults.scenarios import (
    COORDINATOR_CHAT,
    FOCAL_CHATS,
    references_by_chat,
    report_progress,
    run_until_idle,
    seed_plan_people,
)

pytestmark = pytest.mark.slow

TTTT, DU_LICH, NGOAI_VU = FOCAL_CHATS.values()


def hanoi(month: int, day: int, hour: int) -> dt.datetime:
    return dt.datetime(2020, month, day, hour, 0, tzinfo=HANOI)


@pytest.fixture
async def tg():
    async with TelegramEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(sqlite_db, tg, tmp_path):
    await seed_plan_people(sqlite_db, tg)
    config = bot_config(tmp_path / "bot.toml", sqlite_db.url, tg, per_second=100, max_in_flight=1)

    async def run_at(at: dt.datetime) -> None:
        await run_until_idle(config, tg, tmp_path / "bot.log", at)

    return run_at


async def test_after_three_days_down_before_the_deadline_only_the_latest_reminder_goes_out(
    sqlite_db, tg, bot
):
    await bot(hanoi(6, 12, 9))  # Friday 12/6: the T-7 reminders
    assert references_by_chat(tg) == {chat: ["[87/KH-UBND · 20/6 · T-7]"] for chat in FOCAL_CHATS.values()}
    replies = await report_progress(
        sqlite_db, DU_LICH, "/capnhat II.1 hoàn thành Đã phát sóng", hanoi(6, 15, 10)
    )
    assert "II.1" in replies[0]
    before = len(tg.sent)

    # Down from Tuesday 16/6 to Friday 19/6 09:00: T-3 (17/6) and T-1 (19/6 08:00) were missed.
    await bot(hanoi(6, 19, 9))

    expected = {TTTT: ["[87/KH-UBND · 20/6 · T-1]"], NGOAI_VU: ["[87/KH-UBND · 20/6 · T-1]"]}
    assert references_by_chat(tg, since=before) == expected
    outbox = await statuses(sqlite_db, hanoi(6, 19, 9))
    assert outbox[SUPERSEDED] == 2  # the two T-3 reminders the T-1 ones cover


async def test_after_three_days_down_across_the_deadline_overdue_notices_and_the_digest_go_out(
    sqlite_db, tg, bot
):
    await bot(hanoi(6, 17, 9))  # Wednesday 17/6: T-3 (T-7 is a week stale by now)
    await report_progress(sqlite_db, DU_LICH, "/capnhat II.2 đang thực hiện 50%", hanoi(6, 18, 10))
    before = len(tg.sent)

    # Down from Friday 19/6 07:00 to Monday 22/6 10:00: T-1, the deadline (Saturday 20/6) and the
    # first overdue reminders and digest (Monday 08:00) all passed while it was down.
    await bot(hanoi(6, 22, 10))

    after = references_by_chat(tg, since=before)
    assert after == {
        TTTT: ["[87/KH-UBND · 20/6 · T+1]"],
        NGOAI_VU: ["[87/KH-UBND · 20/6 · T+1]"],
        COORDINATOR_CHAT: ["[87/KH-UBND · 20/6 · T+1]"],
    }
    overdue = tg.sent_to(TTTT)[-1].text
    assert "QUÁ HẠN" in overdue.upper()
    digest = tg.sent_to(COORDINATOR_CHAT)[-1].text
    assert "Sở Thông tin và Truyền thông" in digest and "Sở Ngoại vụ" in digest
    assert "Sở Du lịch" not in digest
    outbox = await statuses(sqlite_db, hanoi(6, 22, 10))
    assert outbox[SENT] == len(FOCAL_CHATS) + 2 + 1  # T-3 ×3, overdue ×2, the digest
