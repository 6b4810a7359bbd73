"""Getting in: invites (single use, expiring, unguessable, refused when forged or replayed),
/dangky with a coordinator's one-tap approval, and hand-over that keeps an agency's history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.core import registration
from storage import people
from storage.models.people import ACTIVE, FOCAL, PENDING, REJECTED, RETIRED, Member, ProgressUpdate
from tests.bot.core.chat import ChatUser
from tests.factories import make_member


async def _invite(db, clock, *, role=FOCAL, agency=None, uses=1, days=7) -> str:
    async with db.transaction() as session:
        issued = await registration.issue_invite(
            session, role=role, agency=agency, now=clock.now(), valid_for=dt.timedelta(days=days), uses=uses
        )
    return issued.token


async def _member(db, user_id: str) -> tuple[str, str, str | None] | None:
    async with db.snapshot() as session:
        member = await people.member_by_identity(session, "console", user_id)
        if member is None:
            return None
        return member.role, member.status, member.agency.name if member.agency else None


async def test_an_invite_registers_the_first_person_who_uses_it(db, core, clock, plan):
    token = await _invite(db, clock, agency=plan.agencies["Sở Du lịch"])
    lan = ChatUser(core, "lan", language_hint="en")

    text = await lan.say(f"/start {token}")

    assert "You are now registered as focal point for Sở Du lịch" in text
    assert await _member(db, "lan") == (FOCAL, ACTIVE, "Sở Du lịch")


async def test_a_replayed_invite_is_refused(db, core, clock, plan):
    token = await _invite(db, clock, agency=plan.agencies["Sở Du lịch"])
    await ChatUser(core, "lan").say(f"/start {token}")
    intruder = ChatUser(core, "mallory", language_hint="en")

    text = await intruder.say(f"/start {token}")

    expected = "This invite has already been used. Ask the coordinator who invited you for a new invite."
    assert text == expected
    assert await _member(db, "mallory") is None


async def test_an_expired_invite_is_refused_with_its_expiry_day(db, core, clock, plan):
    token = await _invite(db, clock, agency=plan.agencies["Sở Du lịch"], days=2)
    clock.advance(days=3)
    lan = ChatUser(core, "lan", language_hint="en")

    text = await lan.say(f"/start {token}")

    assert text.startswith("This invite expired on Wednesday, 3 June 2020.")
    assert await _member(db, "lan") is None


async def test_a_forged_invite_code_is_refused(db, core, clock, plan):
    real = await _invite(db, clock, agency=plan.agencies["Sở Du lịch"])
    forged = real[:-1] + ("A" if real[-1] != "A" else "B")
    lan = ChatUser(core, "lan", language_hint="en")

    text = await lan.say(f"/start {forged}")

    assert text.startswith("This invite code is not valid.")
    assert await _member(db, "lan") is None


async def test_a_revoked_invite_is_refused(db, core, clock, plan):
    token = await _invite(db, clock, agency=plan.agencies["Sở Du lịch"])
    async with db.transaction() as session:
        invite = await people.invite_by_token(session, token)
        await people.revoke_invite(session, invite.id, now=clock.now())
    lan = ChatUser(core, "lan", language_hint="en")

    text = await lan.say(f"/start {token}")

    assert text.startswith("This invite was withdrawn.")


async def test_an_invite_for_several_people_registers_that_many(db, core, clock, plan):
    token = await _invite(db, clock, role="coordinator", uses=2)
    for user in ("an", "binh"):
        await ChatUser(core, user).say(f"/start {token}")
    third = ChatUser(core, "chi", language_hint="en")

    text = await third.say(f"/start {token}")

    assert text.startswith("This invite has already been used.")
    assert [await _member(db, u) for u in ("an", "binh")] == [("coordinator", ACTIVE, None)] * 2


async def test_a_registered_member_does_not_use_up_an_invite(db, core, clock, plan, focal):
    token = await _invite(db, clock, agency=plan.agencies["Sở Ngoại vụ"])

    text = await focal.say(f"/start {token}")
    newcomer = await ChatUser(core, "minh").say(f"/start {token}")

    assert "already registered as focal point for Sở Du lịch" in text
    assert "Sở Ngoại vụ" in newcomer


async def test_a_new_focal_point_takes_over_and_keeps_the_agencys_history(db, core, clock, plan, focal):
    await focal.say("/capnhat 1 done Broadcast 12 programmes")
    token = await _invite(db, clock, agency=plan.agencies["Sở Du lịch"])
    successor = ChatUser(core, "hoa", language_hint="en")

    welcome = await successor.say(f"/start {token}")
    told = successor.to("lan")
    tasks = await successor.say("/nhiemvu")

    assert "You take over from Lan" in welcome
    assert told and "Hoa is now the focal point for Sở Du lịch" in told[0].text
    assert "last update 1 Jun 2020 by Lan" in tasks and "Broadcast 12 programmes" in tasks
    assert await _member(db, "lan") == (FOCAL, RETIRED, "Sở Du lịch")
    async with db.snapshot() as session:
        kept = (await session.execute(select(ProgressUpdate.note))).scalars().all()
    assert kept == ["Broadcast 12 programmes"]


async def test_a_retired_focal_point_is_told_their_registration_ended_and_nothing_else(
    db, core, clock, plan, focal
):
    token = await _invite(db, clock, agency=plan.agencies["Sở Du lịch"])
    await ChatUser(core, "hoa").say(f"/start {token}")

    text = await focal.say("/nhiemvu")

    assert text == (
        "Your registration as focal point for Sở Du lịch has ended (handed over to someone else or ended by"
        " a coordinator), so you no longer see or report its tasks. Your earlier updates are kept.\n"
        "If you should be reporting, open a new invite link or send /dangky to ask to join again; a"
        " coordinator at Sở KH&CN decides."
    )
    assert "Broadcast" not in text


async def test_a_registration_request_is_approved_by_a_coordinator_in_one_tap(db, core, plan, coordinator):
    lan = ChatUser(core, "lan", name="Nguyễn Thị Lan", language_hint="en")

    await lan.say("/dangky")
    choices = await lan.say("du lich")
    answer = await lan.say("1")
    request = lan.to("an")
    coordinator.last = request
    approved = await coordinator.tap("Approve")
    told_lan = coordinator.to("lan")

    assert "1. Sở Du lịch" in choices
    assert "was sent to the coordinators" in answer
    assert request[0].text.startswith("Nguyễn Thị Lan asks to join as focal point for Sở Du lịch.")
    assert "Approved: Nguyễn Thị Lan is now focal point for Sở Du lịch." in approved[0].text
    assert "Your registration is approved" in told_lan[0].text
    assert await _member(db, "lan") == (FOCAL, ACTIVE, "Sở Du lịch")


async def test_a_pending_request_can_be_approved_by_number_on_a_platform_without_buttons(
    db, core, plan, coordinator
):
    lan = ChatUser(core, "lan", name="Lan", language_hint="en")
    await lan.say("/dangky Sở Du lịch")

    text = await coordinator.say("1")  # the approval request was the last numbered choice An saw

    assert text.startswith("Approved: Lan is now focal point for Sở Du lịch.")


async def test_a_rejected_applicant_is_told_and_stays_out(db, core, plan, coordinator):
    lan = ChatUser(core, "lan", name="Lan", language_hint="en")
    await lan.say("/dangky so du lich")
    coordinator.last = lan.to("an")

    await coordinator.tap("Reject")
    told = coordinator.to("lan")
    after = await lan.say("/nhiemvu")

    assert "was not approved" in told[0].text
    assert await _member(db, "lan") == (FOCAL, REJECTED, "Sở Du lịch")
    assert after.startswith("Your request to join as focal point for Sở Du lịch was not approved.\n")
    assert "send /dangky to ask to join again" in after


async def test_a_second_coordinator_tapping_a_decided_request_changes_nothing(db, core, plan, coordinator):
    async with db.transaction() as session:
        await make_member(session, "Bình", role="coordinator", user_id="binh", language="en")
    binh = ChatUser(core, "binh")
    lan = ChatUser(core, "lan", name="Lan", language_hint="en")
    await lan.say("/dangky so du lich")
    coordinator.last, binh.last = lan.to("an"), lan.to("binh")

    await coordinator.tap("Approve")
    late = await binh.tap("Reject")

    assert late[0].text == "The request of Lan was already decided."
    assert await _member(db, "lan") == (FOCAL, ACTIVE, "Sở Du lịch")


async def test_a_pending_applicant_is_told_they_are_waiting(db, core, plan, coordinator):
    lan = ChatUser(core, "lan", name="Lan", language_hint="en")
    await lan.say("/dangky so du lich")

    text = await lan.say("/nhiemvu")

    assert text.startswith("Your request to join as focal point for Sở Du lịch is waiting")


async def test_an_applicant_who_types_an_unknown_agency_is_asked_again(db, core, plan, coordinator):
    lan = ChatUser(core, "lan", name="Lan", language_hint="en")
    await lan.say("/dangky")

    text = await lan.say("Sở Hàng không vũ trụ")

    assert text.startswith("No agency matches “Sở Hàng không vũ trụ”.")
    async with db.snapshot() as session:
        assert (await session.execute(select(Member).where(Member.status == PENDING))).first() is None


async def test_a_coordinator_creates_an_invite_in_chat_that_registers_a_focal_point(
    db, core, plan, coordinator
):
    await coordinator.say("/moi")
    await coordinator.tap("Focal point")
    text = await coordinator.say("so ngoai vu")
    token = text.split("/start ")[1].split()[0]

    welcome = await ChatUser(core, "minh", language_hint="en").say(f"/start {token}")

    # No Telegram bot is configured here: the code to send, and no link to a bot that does not exist.
    assert f"In any chat with the bot, send: /start {token}" in text
    assert "t.me" not in text
    assert "focal point for Sở Ngoại vụ" in welcome


async def test_a_coordinator_cannot_invite_an_administrator(db, core, plan, coordinator):
    async with db.transaction() as session:
        an = await people.member_by_identity(session, "console", "an")
        allowed = registration.can_invite(an, "admin")
    await coordinator.say("/moi")

    assert allowed is False
    assert "Administrator" not in coordinator.text()


async def test_pending_requests_say_when_approving_hands_an_agency_over_and_number_only_the_choices(
    db, core, plan
):
    async with db.transaction() as session:
        await make_member(session, "an", role="coordinator")
        await make_member(session, "hoa", agency=plan.agencies["Sở Du lịch"])
    await ChatUser(core, "lan", name="Lan").say("/dangky so du lich")
    await ChatUser(core, "minh", name="Minh").say("/dangky so ngoai vu")

    text = await ChatUser(core, "an").say("/choduyet")

    expected_text = "\n".join(
        [
            "Đang chờ duyệt:",
            "• Lan — Sở Du lịch (Thứ Hai, 1/6/2020)",
            "  Duyệt yêu cầu này sẽ chuyển giao Sở Du lịch từ hoa, đầu mối hiện nay.",
        ]
    )
    assert text.startswith(expected_text)
    assert "• Minh — Sở Ngoại vụ (" in text
    assert "chuyển giao Sở Ngoại vụ" not in text
    numbered = [line for line in text.splitlines() if line[:1].isdigit()]
    assert numbered == ["1. ✓ Lan", "2. ✗ Lan", "3. ✓ Minh", "4. ✗ Minh"]
