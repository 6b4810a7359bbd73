"""A reminder's one-tap answer reaches the chat core, and what the person reports stops the rest."""

import datetime as dt

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from bot import i18n
from bot.app import App
from bot.config import load_config
from bot.core.service import Core
from bot.reminders import Dispatcher, start_reminder_engine
from scheduler.notices import Address, Notice
from storage.models import Reminder
from tests.bot.core.chat import ChatUser
from tests.recording_transport import RecordingTransport
from tests.scheduler.conftest import World, build_world, hanoi, make_engine


@pytest.fixture(scope="module", autouse=True)
def compiled_catalogs():
    for po in i18n.LOCALES_DIR.glob("*/LC_MESSAGES/nhacviec.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with open(po, "rb") as source, open(mo, "wb") as target:
                write_mo(target, read_po(source, locale=po.parent.parent.name), use_fuzzy=True)
    i18n.translations.cache_clear()


@pytest.fixture
async def world(db) -> World:
    return await build_world(db)


@pytest.fixture
def transport(clock) -> RecordingTransport:
    return RecordingTransport(clock)


async def remind_on_12_june(db, world, clock, transport) -> tuple[ChatUser, str]:
    """Plan on 1/6, send the 7-day reminders on 12/6; Lan of Sở Du lịch, on the console."""
    engine = make_engine(db, clock, [transport])
    await engine.plan()
    clock.set(hanoi(2020, 6, 12, 8))
    await engine.send()
    core = Core(App(config=load_config(env={}), db=db, clock=clock))
    (message,) = transport.to("focal-dulich")
    return ChatUser(core, "focal-dulich"), message


async def test_the_reminder_offers_a_button_per_task_lacking_an_update(db, world, clock, transport):
    _, message = await remind_on_12_june(db, world, clock, transport)
    expected = ["Cập nhật II.1", "Cập nhật II.2", "Cập nhật II.3"]
    assert [label for label, _ in message.buttons] == expected


async def test_one_tap_on_a_reminder_starts_the_update_of_that_task(db, world, clock, transport):
    lan, message = await remind_on_12_june(db, world, clock, transport)
    await lan.press(message.buttons[1][1])
    assert "II.2" in lan.text() and "Lắp đặt biển chỉ dẫn du lịch" in lan.text()


async def test_on_a_platform_without_buttons_a_number_answers_the_reminder(db, world, clock, transport):
    lan, _ = await remind_on_12_june(db, world, clock, transport)
    text = await lan.say("1")
    assert "II.1" in text and "Quảng bá du lịch" in text


async def test_a_reminders_button_does_nothing_for_someone_else(db, world, clock, transport):
    _, message = await remind_on_12_june(db, world, clock, transport)
    other = ChatUser(Core(App(config=load_config(env={}), db=db, clock=clock)), "focal-tttt")
    await other.press(message.buttons[0][1])
    assert "Quảng bá du lịch" not in other.text()


async def test_reporting_through_the_reminder_cancels_the_agencys_later_reminders(
    db, world, clock, transport
):
    lan, message = await remind_on_12_june(db, world, clock, transport)
    await lan.press(message.buttons[0][1])
    await lan.say("2")  # in progress
    await lan.say("1")  # no note
    await lan.say("1")  # no evidence
    async with db.snapshot() as session:
        rows = (
            await session.execute(
                select(Reminder.offset_days, Reminder.status)
                .where(Reminder.agency_id == world.agencies["dulich"].id)
                .order_by(Reminder.due_at)
            )
        ).all()
    expected = [(7, "sent"), (3, "cancelled"), (1, "cancelled")]
    assert [tuple(row) for row in rows] == expected


def test_the_dispatcher_tries_the_preferred_platform_first_then_the_others():
    clock = None
    dispatcher = Dispatcher(
        {
            "telegram": RecordingTransport(clock, platform="telegram"),
            "zalo": RecordingTransport(clock, platform="zalo"),
        }
    )
    notice = Notice(
        member_id=1,
        member_name="Chị Lan",
        language="vi",
        agency_id=None,
        agency_name=None,
        today=dt.date(2020, 6, 12),
        preferred_platform="zalo",
        addresses=(
            Address(1, "telegram", "111", "111"),
            Address(2, "console", "lan", "lan"),
            Address(3, "zalo", "z-1", "z-1"),
        ),
        items=(),
    )
    # The console identity has no transport in this process and is left out.
    assert [a.platform for a in dispatcher.route(notice)] == ["zalo", "telegram"]


async def test_the_engine_keeps_only_its_two_ticks_in_apschedulers_job_store(db, world, clock, transport):
    app = App(config=load_config(env={}), db=db, clock=clock)
    engine = await start_reminder_engine(app, {"console": transport})
    try:
        jobs = sorted(job.id for job in engine.ticks.scheduler.get_jobs())
    finally:
        await engine.stop()
    assert jobs == ["planner", "sender"]
    assert not engine.ticks.scheduler.running


async def test_a_disabled_engine_starts_no_ticks(db, clock, transport):
    config = load_config(env={})
    config.reminders.enabled = False
    engine = await start_reminder_engine(App(config=config, db=db, clock=clock), {"console": transport})
    await engine.stop()
    assert engine.ticks is None
