"""/vaitro: an administrator changes a member's role after confirming; the member is told; the last
administrator cannot be demoted; coordinators and focal points may not change roles. The CLI's
`nhacviec members role` applies the same rules."""

from __future__ import annotations

from storage import people
from storage.models.people import ADMIN, COORDINATOR, FOCAL, RETIRED
from tests.bot.core.chat import ChatUser
from tests.factories import make_member


async def _role(db, user_id: str) -> tuple[str, str]:
    async with db.snapshot() as session:
        member = await people.member_by_identity(session, "console", user_id)
        return member.role, member.status


async def _admin(db, core, name="Bình", user_id="binh") -> ChatUser:
    async with db.transaction() as session:
        await make_member(session, name, role=ADMIN, user_id=user_id, language="en")
    return ChatUser(core, user_id)


async def test_an_admin_makes_a_coordinator_an_admin_after_confirming(db, core, plan, coordinator):
    binh = await _admin(db, core)

    asked = await binh.say("/vaitro An")
    confirm = await binh.say("2")
    await binh.tap("Yes")
    done, told = binh.last[0].text, binh.to("an")

    assert "An is coordinator. Which role should they have?" in asked
    assert "1. Focal point" in asked and "2. Administrator" in asked
    assert confirm.startswith("Change An (coordinator) to administrator?")
    assert done == "Done: An is now administrator."
    assert "Bình changed your role from coordinator to administrator" in told[0].text
    assert await _role(db, "an") == (ADMIN, "active")


async def test_typed_answers_without_diacritics_change_a_role(db, core, plan, coordinator):
    binh = await _admin(db, core)

    await binh.say("/vaitro")
    await binh.say("an")
    confirm = await binh.say("quan tri")
    await binh.say("co")

    assert confirm.startswith("Change An (coordinator) to administrator?")
    assert await _role(db, "an") == (ADMIN, "active")


async def test_saying_no_changes_nothing(db, core, plan, coordinator):
    binh = await _admin(db, core)
    await binh.say("/vaitro An")
    await binh.say("quan tri")

    answer = await binh.say("khong")

    assert answer == "Nothing was changed."
    assert await _role(db, "an") == (COORDINATOR, "active")


async def test_the_last_admin_cannot_be_demoted(db, core, plan):
    binh = await _admin(db, core)
    await binh.say("/vaitro Bình")

    refused = await binh.say("dieu phoi")

    assert "only administrator" in refused
    assert await _role(db, "binh") == (ADMIN, "active")


async def test_coordinators_and_focal_points_may_not_change_roles(db, core, plan, coordinator, focal):
    by_coordinator = await coordinator.say("/vaitro Lan")
    by_focal = await focal.say("/vaitro An")

    assert "Change" not in by_coordinator and "Change" not in by_focal
    assert "administrator" in by_coordinator
    assert await _role(db, "lan") == (FOCAL, "active")


async def test_making_a_coordinator_an_agencys_focal_point_hands_the_agency_over(db, core, plan, focal):
    async with db.transaction() as session:
        await make_member(
            session,
            "Minh",
            role=COORDINATOR,
            agency=plan.agencies["Sở Du lịch"],
            user_id="minh",
            language="en",
        )
    binh = await _admin(db, core)
    await binh.say("/vaitro Minh")

    confirm = await binh.say("dau moi")
    await binh.say("co")

    assert "hands Sở Du lịch over from Lan" in confirm
    assert await _role(db, "minh") == (FOCAL, "active")
    assert await _role(db, "lan") == (FOCAL, RETIRED)
    assert "Minh is now the focal point for Sở Du lịch" in binh.to("lan")[0].text


async def test_a_member_without_an_agency_cannot_become_a_focal_point(db, core, plan, coordinator):
    binh = await _admin(db, core)
    await binh.say("/vaitro An")

    refused = await binh.say("dau moi")

    assert "belongs to no agency" in refused and "/moi" in refused
    assert await _role(db, "an") == (COORDINATOR, "active")


async def test_a_name_that_matches_several_members_offers_each(db, core, plan, coordinator):
    async with db.transaction() as session:
        await make_member(session, "An Bình", role=COORDINATOR, user_id="anbinh", language="en")
    binh = await _admin(db, core, name="Hoà", user_id="hoa")

    choices = await binh.say("/vaitro an")
    await binh.tap("An Bình")

    assert "1. An — coordinator" in choices and "2. An Bình — coordinator" in choices
    assert "An Bình is coordinator" in binh.text()
