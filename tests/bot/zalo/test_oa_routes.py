"""Each way the Official Account reaches a member, chosen by one policy in its case, with what it
costs counted: a free reply (8 per message), a consultation message (monthly quota), the member's
other channel, ZNS by phone number, or not at all with the reason in the coordinators' digest."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from bot.core.messages import Reply
from bot.transports.base import DeliveryError, Recipient
from bot.transports.zalo import oa_routes
from bot.transports.zalo.oa_routes import OAFacts, Route, choose_route
from storage import zalo as repository
from storage.models.people import Member
from storage.models.reminders import Reminder
from tests.bot.zalo.test_scenarios import FIRST_REMINDER, reminder_engine, reminder_statuses
from tests.scheduler.conftest import hanoi

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def facts(**given) -> OAFacts:
    values = {
        "last_message_id": "m-1",
        "last_message_at": NOW - dt.timedelta(hours=1),
        "replies_used": 0,
        "consultations_used": 0,
        "consultation_quota": 100,
        "other_channel": True,
        "zns_template": True,
        "phone": True,
    }
    values.update(given)
    return OAFacts(**values)


# -- the policy, case by case ------------------------------------------------------------------------


def test_inside_48_hours_the_reminder_is_a_free_reply():
    assert choose_route(facts(last_message_at=NOW - dt.timedelta(hours=47)), NOW) == Route(oa_routes.REPLY)


def test_after_8_replies_to_the_message_it_is_a_consultation_message():
    assert choose_route(facts(replies_used=8), NOW) == Route(oa_routes.CONSULTATION)


def test_between_48_hours_and_7_days_it_is_a_consultation_message():
    assert choose_route(facts(last_message_at=NOW - dt.timedelta(days=6)), NOW) == Route(
        oa_routes.CONSULTATION
    )


def test_with_the_monthly_quota_spent_it_goes_by_the_other_channel():
    given = facts(last_message_at=NOW - dt.timedelta(days=3), consultations_used=100)
    assert choose_route(given, NOW) == Route(oa_routes.OTHER_CHANNEL, (oa_routes.QUOTA_SPENT,))


def test_after_7_days_without_another_channel_it_goes_by_zns():
    given = facts(last_message_at=NOW - dt.timedelta(days=8), other_channel=False)
    assert choose_route(given, NOW) == Route(oa_routes.ZNS, (oa_routes.NO_RECENT_MESSAGE,))


def test_without_a_phone_number_it_is_undelivered_and_says_why():
    given = facts(last_message_at=None, last_message_id=None, other_channel=False, phone=False)
    expected = Route(oa_routes.UNDELIVERED, (oa_routes.NO_RECENT_MESSAGE, oa_routes.NO_PHONE))
    assert choose_route(given, NOW) == expected


def test_without_a_zns_template_it_is_undelivered_and_says_why():
    given = facts(
        last_message_at=NOW - dt.timedelta(days=3),
        consultation_quota=0,
        other_channel=False,
        zns_template=False,
    )
    expected = Route(oa_routes.UNDELIVERED, (oa_routes.QUOTA_SPENT, oa_routes.NO_ZNS))
    assert choose_route(given, NOW) == expected


def test_the_reasons_are_read_back_from_the_error_text():
    route = Route(oa_routes.UNDELIVERED, (oa_routes.QUOTA_SPENT, oa_routes.NO_ZNS))
    assert oa_routes.reasons_in(f"every channel closed for now: zalo_oa: {route.describe()}") == route.reasons


# -- over HTTP: the transport counts what each message costs ----------------------------------------


pytestmark_oa = pytest.mark.parametrize("zalo", ["official_account"], indirect=True)

LAN = Recipient("zalo_oa", "lan", "vi")


async def replies_used(db, user_id: str) -> int:
    async with db.snapshot() as session:
        return (await repository.last_contact(session, user_id)).replies_used


async def consultations_this_month(db, clock) -> int:
    month = clock.now().astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%Y-%m")
    async with db.snapshot() as session:
        return await repository.quota_used(session, month, oa_routes.CONSULTATION)


@pytestmark_oa
async def test_eight_free_replies_then_consultation_messages_counted_against_the_quota(db, clock, zalo, lan):
    await zalo.say(lan, "/lich")
    transport = zalo.runner.transport
    transport.consultation_quota = 2
    first = len(zalo.api.sent)
    for number in range(9):
        await transport.send(LAN, Reply(f"Tin {number}"))
    with pytest.raises(DeliveryError) as caught:
        await transport.send(LAN, Reply("Tin 11"))

    kinds = [m.quota_type for m in zalo.api.sent[first:]]
    # The answer to /lich spent one of the message's eight free replies already.
    expected = ["reply"] * 7 + ["purchase_quota"] * 2
    assert kinds == expected
    assert await replies_used(db, "lan") == 8
    assert await consultations_this_month(db, clock) == 2
    assert caught.value.channel_only and oa_routes.QUOTA_SPENT in str(caught.value)


@pytestmark_oa
async def test_every_part_of_a_long_reply_quotes_the_followers_message(db, zalo, lan):
    event = await zalo.api.user_sends("lan", "/lich")
    await zalo.runner.queue.drain()
    first = len(zalo.api.sent)
    long_text = "\n".join(f"Dòng {i}: " + "x" * 80 for i in range(60))

    await zalo.runner.transport.send(LAN, Reply(long_text), reply_to=event["message"]["msg_id"])

    parts = zalo.api.sent[first:]
    assert len(parts) >= 2
    assert {m.reply_to for m in parts} == {event["message"]["msg_id"]}
    assert {m.quota_type for m in parts} == {"reply"}


@pytestmark_oa
async def test_a_reminder_inside_48_hours_answers_the_members_latest_message_for_free(db, clock, zalo, lan):
    clock.set(FIRST_REMINDER - dt.timedelta(hours=30))
    event = await zalo.api.user_sends("lan", "/lich")
    await zalo.runner.queue.drain()
    clock.set(FIRST_REMINDER)
    first = len(zalo.api.sent)

    await reminder_engine(zalo, clock).run_once()

    (reminder,) = zalo.api.sent[first:]
    assert "[87/KH-UBND · 20/6 · T-7]" in reminder.text
    assert (reminder.reply_to, reminder.quota_type) == (event["message"]["msg_id"], "reply")
    assert await replies_used(db, "lan") == 2  # the answer to /lich, and the reminder
    assert await consultations_this_month(db, clock) == 0


@pytestmark_oa
async def test_a_reminder_3_days_after_the_last_message_is_a_consultation_message(db, clock, zalo, lan):
    clock.set(FIRST_REMINDER - dt.timedelta(days=3))
    await zalo.say(lan, "/lich")
    clock.set(FIRST_REMINDER)
    zalo.runner.transport.consultation_quota = 5
    first = len(zalo.api.sent)

    await reminder_engine(zalo, clock).run_once()

    (reminder,) = zalo.api.sent[first:]
    assert (reminder.reply_to, reminder.quota_type) == (None, "purchase_quota")
    assert await consultations_this_month(db, clock) == 1
    assert await reminder_statuses(db) == ["sent"]


async def consent_to_phone(db, name: str, phone: str, clock) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Member).where(Member.name == name).values(phone=phone, phone_consent_at=clock.now())
        )


@pytestmark_oa
async def test_past_7_days_a_reminder_goes_by_zns_with_the_templates_parameters(db, clock, zalo, lan):
    await zalo.say(lan, "/lich")  # 1 June: eleven days before the reminder
    await consent_to_phone(db, "Lan", "84912345678", clock)
    transport = zalo.runner.transport
    transport.zns_template_id = "tpl-nhac-han"
    transport.zns_params = {"ten": "member", "co_quan": "agency", "ke_hoach": "plan", "han": "deadline"}
    clock.set(FIRST_REMINDER)
    first = len(zalo.api.sent)

    await reminder_engine(zalo, clock).run_once()

    assert zalo.api.sent[first:] == []
    (zns,) = zalo.api.zns_sent
    expected = {"ten": "Lan", "co_quan": "Sở Du lịch", "ke_hoach": "87/KH-UBND", "han": "20/06/2020"}
    assert (zns.phone, zns.template_id, zns.template_data) == ("84912345678", "tpl-nhac-han", expected)
    assert await reminder_statuses(db) == ["sent"]


@pytestmark_oa
async def test_without_consent_the_phone_number_is_not_used(db, clock, zalo, lan):
    await zalo.say(lan, "/lich")
    async with db.transaction() as session:
        await session.execute(update(Member).where(Member.name == "Lan").values(phone="84912345678"))
    zalo.runner.transport.zns_template_id = "tpl-nhac-han"
    clock.set(FIRST_REMINDER)

    await reminder_engine(zalo, clock).run_once()

    assert zalo.api.zns_sent == []
    assert await reminder_statuses(db) == ["unreachable"]


@pytestmark_oa
async def test_an_undelivered_reminder_keeps_the_reason_for_the_coordinators(db, clock, zalo, lan):
    await zalo.say(lan, "/lich")
    clock.set(FIRST_REMINDER)

    await reminder_engine(zalo, clock).run_once()

    async with db.snapshot() as session:
        error = await session.scalar(select(Reminder.last_error).where(Reminder.due_at <= FIRST_REMINDER))
    assert oa_routes.reasons_in(error) == (oa_routes.NO_RECENT_MESSAGE, oa_routes.NO_ZNS)


@pytestmark_oa
async def test_a_zns_refused_for_a_passing_reason_is_tried_again_later(db, clock, zalo, lan):
    from tests.emulators.faults import Fault

    await zalo.say(lan, "/lich")
    await consent_to_phone(db, "Lan", "84912345678", clock)
    zalo.runner.transport.zns_template_id = "tpl-nhac-han"
    zalo.api.faults.add("/message/template", Fault("server_error", status=502))
    clock.set(FIRST_REMINDER)

    await reminder_engine(zalo, clock).run_once()

    assert zalo.api.zns_sent == []
    assert await reminder_statuses(db) == ["pending"]


@pytestmark_oa
async def test_the_coordinators_digest_says_why_a_member_was_not_reached(db, clock, zalo, lan, chi):
    await zalo.say(lan, "/lich")  # 1 June, and nothing since
    clock.set(FIRST_REMINDER)
    engine = reminder_engine(zalo, clock)
    await engine.run_once()

    clock.set(hanoi(2020, 6, 22) - dt.timedelta(hours=1))
    await zalo.say(chi, "/trogiup")  # the coordinator writes that morning: the OA may answer
    clock.set(hanoi(2020, 6, 22))  # the first working day after the deadline: the digest
    await engine.run_once()

    digest = zalo.texts("chi")[-1]
    expected = "• Lan (Sở Du lịch) — đã 7 ngày không nhắn cho Zalo OA; chưa cấu hình mẫu tin ZNS"
    assert expected in digest.splitlines()


@pytestmark_oa
async def test_a_number_given_in_chat_with_consent_is_used_by_zns_until_withdrawn(db, clock, zalo, lan):
    zalo.runner.app.config.zalo.zns_template_id = "tpl-nhac-han"
    zalo.runner.transport.zns_template_id = "tpl-nhac-han"
    await zalo.say(lan, "/sodienthoai")  # 1 June: eleven days before the first reminder
    await zalo.say(lan, "co")
    saved = await zalo.say(lan, "0912 345 678")
    clock.set(FIRST_REMINDER)

    await reminder_engine(zalo, clock).run_once()
    (zns,) = zalo.api.zns_sent
    clock.set(FIRST_REMINDER + dt.timedelta(days=5))
    await zalo.say(lan, "/sodienthoai xoa")
    clock.set(FIRST_REMINDER + dt.timedelta(days=13))
    await reminder_engine(zalo, clock).run_once()

    assert "0912 345 678" in saved[-1]
    assert zns.phone == "84912345678"
    assert len(zalo.api.zns_sent) == 1  # after the withdrawal, no ZNS
    async with db.snapshot() as session:
        errors = (
            await session.scalars(select(Reminder.last_error).where(Reminder.last_error.is_not(None)))
        ).all()
    assert any(oa_routes.NO_PHONE in oa_routes.reasons_in(error) for error in errors)
