"""Where the chat core meets the reminder engine: an update cancels the reminders it makes
pointless, and reminders reach a console user, whose numbered answer then acts on them."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select

from bot.reminders import build_engine
from bot.transports.console import ConsoleTransport
from storage.models.reminders import CANCELLED, PENDING, Reminder


async def _statuses(db, agency_id: int) -> set[str]:
    async with db.snapshot() as session:
        rows = await session.execute(select(Reminder.status).where(Reminder.agency_id == agency_id))
        return {status for (status,) in rows}


async def test_an_update_cancels_the_agencys_pending_reminders_for_the_cycle(db, app, plan, focal):
    engine = build_engine(app, {})
    await engine.plan()
    agency_id = plan.agencies["Sở Du lịch"].id
    before = await _statuses(db, agency_id)

    await focal.say("/capnhat 1 done Broadcast 12 programmes")

    assert PENDING in before
    async with db.snapshot() as session:
        report_reminders = await session.execute(
            select(Reminder.status).where(
                Reminder.agency_id == agency_id,
                Reminder.deadline == dt.date(2020, 6, 20),
                Reminder.task_id.is_(None),
            )
        )
        statuses = {status for (status,) in report_reminders}
    assert statuses == {CANCELLED}


async def test_a_reminder_reaches_the_console_and_its_number_answers_it(db, app, clock, plan, focal):
    out = io.StringIO()
    engine = build_engine(app, {"console": ConsoleTransport(out)})
    await engine.plan()
    clock.set(dt.datetime(2020, 6, 12, 1, 30, tzinfo=dt.UTC))  # 08:30 in Hanoi, a week before 20/6

    await engine.send()
    printed = out.getvalue()
    reply = await focal.say("1")

    assert printed.startswith("→ lan:\n")
    assert "\n1. " in printed
    assert reply.startswith("Task II.")
