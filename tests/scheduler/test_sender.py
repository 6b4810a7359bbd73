from sqlalchemy import select

from scheduler.clock import ManualClock
from storage.models import Reminder
from tests.scheduler.conftest import hanoi, make_engine


async def statuses(db) -> dict[str, list[tuple]]:
    async with db.snapshot() as session:
        rows = (await session.execute(select(Reminder).order_by(Reminder.id))).unique().scalars()
        found: dict[str, list[tuple]] = {}
        for r in rows:
            found.setdefault(r.status, []).append((r.member.name, r.kind, r.offset_days))
        return found


async def test_a_due_reminder_goes_out_once_naming_its_deadline_and_offset(db, world, transport):
    clock = ManualClock(hanoi(2020, 6, 1))
    transport.clock = clock
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    clock.set(hanoi(2020, 6, 12, 8, 0))
    first = await engine.send()
    second = await engine.send()
    texts = {m.chat_id: m.text for m in transport.sent}
    expected = {"focal-tttt", "focal-dulich", "focal-ngoaivu"}
    assert set(texts) == expected
    assert all("[87/KH-UBND · 20/6 · T-7]" in text for text in texts.values())
    assert (first.messages, second.messages) == (3, 0)
