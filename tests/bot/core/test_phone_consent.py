"""A mobile number for Zalo notifications (ZNS): asked for, optionally and with consent, right after
registering where ZNS is in use; typed in any common form or shared with the platform's button;
seen, changed and withdrawn by its owner with /sodienthoai."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core import registration
from bot.core.phone import normalise_phone
from storage import people
from storage.models.people import FOCAL
from tests.bot.core.chat import ChatUser


@pytest.fixture
def zns(app):
    app.config.zalo.zns_template_id = "tpl-nhac-han"


async def _invite(db, clock, agency) -> str:
    async with db.transaction() as session:
        issued = await registration.issue_invite(
            session, role=FOCAL, agency=agency, now=clock.now(), valid_for=dt.timedelta(days=7)
        )
    return issued.token


async def _phone(db, user_id: str) -> tuple[str | None, dt.datetime | None]:
    async with db.snapshot() as session:
        member = await people.member_by_identity(session, "console", user_id)
        return member.phone, member.phone_consent_at


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("0912345678", "84912345678"),
        ("0912 345 678", "84912345678"),
        ("+84 912-345-678", "84912345678"),
        ("84912345678", "84912345678"),
        ("(+84) 389.123.456", "84389123456"),
        ("0212345678", None),  # a landline prefix, no mobile
        ("091234567", None),  # a digit short
        ("09123456789", None),  # a digit too many
        ("số của tôi", None),
    ],
)
def test_vietnamese_mobile_numbers_are_normalised_to_84(typed, expected):
    assert normalise_phone(typed) == expected


async def test_after_an_invite_the_newcomer_may_give_a_number_with_consent(db, core, clock, plan, zns):
    token = await _invite(db, clock, plan.agencies["Sở Du lịch"])
    lan = ChatUser(core, "lan", language_hint="en")

    welcome = await lan.say(f"/start {token}")
    question = lan.last[-1]
    await lan.tap("Agree")
    asked = lan.last[-1]
    saved = await lan.say("0912 345 678")

    assert "You are now registered" in welcome
    assert "Zalo notification (ZNS)" in question.text and "/sodienthoai" in question.text
    assert [b.label for row in question.buttons for b in row] == ["✓ Agree", "Skip"]
    assert asked.contact_request is not None  # Telegram shows its share-my-number button
    assert "0912 345 678" in saved and "/sodienthoai" in saved
    assert await _phone(db, "lan") == ("84912345678", clock.now())


async def test_typed_answers_without_diacritics_work_in_vietnamese(db, core, clock, plan, zns):
    token = await _invite(db, clock, plan.agencies["Sở Du lịch"])
    lan = ChatUser(core, "lan")

    await lan.say(f"/start {token}")
    await lan.say("co")
    await lan.say("+84912345678")

    assert await _phone(db, "lan") == ("84912345678", clock.now())


async def test_the_number_question_can_be_skipped_and_nothing_is_kept(db, core, clock, plan, zns):
    token = await _invite(db, clock, plan.agencies["Sở Du lịch"])
    lan = ChatUser(core, "lan", language_hint="en")

    await lan.say(f"/start {token}")
    skipped = await lan.say("bo qua")
    after = await lan.say("/nhiemvu")

    assert "no number is kept" in skipped
    assert lan.last[0].text and "Sở Du lịch" in after
    assert await _phone(db, "lan") == (None, None)


async def test_agreeing_then_typing_bo_qua_keeps_nothing(db, core, clock, plan, zns):
    token = await _invite(db, clock, plan.agencies["Sở Du lịch"])
    lan = ChatUser(core, "lan", language_hint="en")

    await lan.say(f"/start {token}")
    await lan.say("co")
    skipped = await lan.say("bo qua")

    assert "no number is kept" in skipped
    assert await _phone(db, "lan") == (None, None)


async def test_a_wrong_number_is_explained_and_asked_again(db, core, clock, plan, zns):
    token = await _invite(db, clock, plan.agencies["Sở Du lịch"])
    lan = ChatUser(core, "lan", language_hint="en")
    await lan.say(f"/start {token}")
    await lan.say("yes")

    wrong = await lan.say("024 3825 1234")
    right = await lan.say("0389123456")

    assert "is not a Vietnamese mobile number" in wrong
    assert "0389 123 456" in right
    assert (await _phone(db, "lan"))[0] == "84389123456"


async def test_a_shared_contact_counts_only_when_it_is_ones_own(db, core, clock, plan, zns):
    token = await _invite(db, clock, plan.agencies["Sở Du lịch"])
    lan = ChatUser(core, "lan", language_hint="en")
    await lan.say(f"/start {token}")
    await lan.say("co")

    await lan.share_contact("+84 98 765 4321", own=False)
    refused = lan.text()
    await lan.share_contact("84912345678")
    accepted = lan.text()

    assert "someone else's contact" in refused
    assert "0912 345 678" in accepted and accepted.count("\n") < 3
    assert lan.last[-1].close_keyboard
    assert (await _phone(db, "lan"))[0] == "84912345678"


async def test_without_zns_nobody_is_asked_for_a_number(db, core, clock, plan):
    token = await _invite(db, clock, plan.agencies["Sở Du lịch"])
    lan = ChatUser(core, "lan", language_hint="en")

    text = await lan.say(f"/start {token}")
    told = await lan.say("/sodienthoai")

    assert "ZNS" not in text
    assert "keeps no number of yours" in told


async def test_a_registration_request_asks_while_it_waits_and_a_rejection_forgets_the_number(
    db, core, plan, coordinator, zns
):
    lan = ChatUser(core, "lan", name="Lan", language_hint="en")

    await lan.say("/dangky Sở Du lịch")
    question, request = lan.text(), lan.to("an")
    await lan.say("co")
    await lan.say("0912345678")
    kept = await _phone(db, "lan")
    coordinator.last = request
    await coordinator.tap("Reject")

    assert "was sent to the coordinators" in question and "Zalo notification (ZNS)" in question
    assert kept[0] == "84912345678"
    assert await _phone(db, "lan") == (None, None)


async def test_a_member_sees_changes_and_withdraws_their_number(db, core, clock, plan, focal, zns):
    await focal.say("/sodienthoai")
    await focal.say("co")
    await focal.say("0912345678")

    shown = await focal.say("/sodienthoai")
    await focal.tap("Change")
    await focal.say("co")
    await focal.say("0389 123 456")
    changed = await _phone(db, "lan")
    withdrawn = await focal.say("/sodienthoai xoa")
    again = await focal.say("/sodienthoai xoa")

    assert "0912 345 678" in shown and "1. Change the number" in shown
    assert changed[0] == "84389123456"
    assert "Your number is deleted and your consent withdrawn" in withdrawn
    assert "nothing to delete" in again
    assert await _phone(db, "lan") == (None, None)


async def test_withdrawing_by_button_deletes_the_number(db, core, clock, plan, focal, zns):
    await focal.say("/sodienthoai")
    await focal.say("co")
    await focal.say("0912345678")
    await focal.say("/sodienthoai")

    await focal.tap("Delete")

    assert await _phone(db, "lan") == (None, None)


async def test_typing_the_number_at_the_consent_question_is_taken_as_yes(db, core, clock, plan, focal, zns):
    await focal.say("/sodienthoai")

    saved = await focal.say("0912 345 678")

    assert "0912 345 678" in saved
    assert (await _phone(db, "lan"))[0] == "84912345678"


async def test_a_focal_point_handed_over_no_longer_keeps_a_number(db, core, clock, plan, focal, zns):
    await focal.say("/sodienthoai")
    await focal.say("co")
    await focal.say("0912345678")
    kept = await _phone(db, "lan")
    token = await _invite(db, clock, plan.agencies["Sở Du lịch"])

    await ChatUser(core, "minh").say(f"/start {token}")

    # Lan is retired by the hand-over: no more reminders, so no reason to keep her number.
    assert kept[0] == "84912345678"
    assert await _phone(db, "lan") == (None, None)
