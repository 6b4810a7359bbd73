"""Zalo Bot Platform group chats follow the same rules as Telegram's (bot.groups), over real HTTP.

The attack: an invite code sent as `/start <code>` in a group registered the newcomer with the group
as their address, and task lists and exports were answered in any group.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from storage import people
from storage.models.people import COORDINATOR, FOCAL, GroupLink, Identity, Invite
from tests.factories import make_member, make_plan

GROUP = "g-5001"
NOT_LINKED = "This group is not linked to an agency yet."
ONLY_FOCAL_POINTS = "In this group only the focal points of Sở Du lịch and the coordinators can use the bot."
# What someone the bot does not know yet is told, in the default language.
NOT_LINKED_VI = "Nhóm này chưa được liên kết"
ONLY_FOCAL_POINTS_VI = "Trong nhóm này, chỉ đầu mối của Sở Du lịch và điều phối viên mới dùng được bot."


@pytest.fixture
def zalo(polling):
    """Group chats are a Bot Platform matter: these tests run on its polling runner alone, not on each of MODES."""
    return polling


@pytest.fixture
async def world(db, clock):
    async with db.transaction() as session:
        built = await make_plan(session)
        du_lich, ngoai_vu = built.agencies["Sở Du lịch"], built.agencies["Sở Ngoại vụ"]
        await make_member(session, "Hà", role=COORDINATOR, platform="zalo", user_id="ha", language="en")
        await make_member(session, "Lan", agency=du_lich, platform="zalo", user_id="lan", language="en")
        await make_member(session, "Tùng", agency=ngoai_vu, platform="zalo", user_id="tung", language="en")
        issued = await people.create_invite(
            session,
            role=FOCAL,
            agency_id=du_lich.id,
            expires_at=clock.now() + dt.timedelta(days=7),
            now=clock.now(),
        )
    return issued.token


async def said_in_group(api, user_id: str, text: str) -> str:
    before = len(api.texts_to(GROUP))
    await api.user_sends(user_id, text, chat_id=GROUP, group=True, name=user_id)
    return (await api.wait_for_messages(GROUP, before + 1))[before].text


async def link_group(api) -> None:
    assert (await said_in_group(api, "ha", "/lienketnhom du lich")).startswith(
        "This group is now linked to Sở Du lịch"
    )


async def invite_state(db, token: str) -> tuple[int, list[tuple[str, str]]]:
    async with db.snapshot() as session:
        invite = await session.scalar(select(Invite).where(Invite.token_hash == people.hash_token(token)))
        identities = [
            (i.external_id, i.chat_id)
            for i in await session.scalars(select(Identity).where(Identity.external_id == "newcomer"))
        ]
    return invite.uses_left, identities


@pytest.mark.parametrize("linked", [False, True], ids=["unlinked", "linked"])
async def test_an_invite_sent_in_a_group_registers_nobody(db, zalo_bot_api, zalo, world, linked):
    if linked:
        await link_group(zalo_bot_api)

    replies = [
        await said_in_group(zalo_bot_api, "newcomer", form.format(code=world))
        for form in ("/start {code}", "/START {code}", "/start@bot.nhacviec {code}", "/dangky")
    ]

    expected = (1, [])  # the invite is still unused and nobody has the group as their address
    assert await invite_state(db, world) == expected
    assert all(r.startswith(ONLY_FOCAL_POINTS_VI if linked else NOT_LINKED_VI) for r in replies), replies
    assert world not in "\n".join(replies)


async def test_the_same_invite_works_in_a_private_chat_afterwards(db, zalo_bot_api, zalo, world):
    await said_in_group(zalo_bot_api, "newcomer", f"/start {world}")

    await zalo_bot_api.user_sends("newcomer", f"/start {world}", name="Chi")
    (welcome,) = await zalo_bot_api.wait_for_messages("newcomer", 1)

    assert await invite_state(db, world) == (0, [("newcomer", "newcomer")])
    assert "Chi" in welcome.text


@pytest.mark.parametrize("who", ["lan", "tung", "stranger"])
async def test_an_unlinked_group_answers_no_task_list_or_export_to_a_focal_point(
    zalo_bot_api, zalo, world, who
):
    replies = [
        await said_in_group(zalo_bot_api, who, command)
        for command in ("/nhiemvu", "/xuat xlsx", "/xuat docx", "/tomtat", "nhiem vu", "1")
    ]

    expected = NOT_LINKED_VI if who == "stranger" else NOT_LINKED
    assert all(reply.startswith(expected) for reply in replies), replies
    # One refusal per command and nothing else: no chart, no file, no task list.
    assert [m.method for m in zalo_bot_api.sent if m.chat_id == GROUP] == ["sendMessage"] * 6
    assert "Quảng bá du lịch" not in "\n".join(zalo_bot_api.texts_to(GROUP))


async def test_a_coordinator_links_a_zalo_group_and_only_its_agency_uses_it(db, zalo_bot_api, zalo, world):
    await link_group(zalo_bot_api)

    tasks = await said_in_group(zalo_bot_api, "lan", "/nhiemvu")
    other = await said_in_group(zalo_bot_api, "tung", "/nhiemvu")
    stranger = await said_in_group(zalo_bot_api, "stranger", "/xuat xlsx")

    async with db.snapshot() as session:
        links = [(link.platform, link.chat_id) for link in await session.scalars(select(GroupLink))]
    assert links == [("zalo", GROUP)]
    assert "Quảng bá du lịch Thủ đô trên kênh quốc tế" in tasks
    assert "Xuất bản đặc san song ngữ đối ngoại" not in tasks
    assert other.startswith(ONLY_FOCAL_POINTS)
    assert "bot.nhacviec" in other  # where to write instead: the bot's own chat
    assert stranger.startswith(ONLY_FOCAL_POINTS_VI)


async def test_only_a_coordinator_links_a_zalo_group(db, zalo_bot_api, zalo, world):
    reply = await said_in_group(zalo_bot_api, "lan", "/lienketnhom du lich")

    async with db.snapshot() as session:
        assert (await session.scalars(select(GroupLink))).all() == []
    assert reply == "Only a coordinator can link this group to an agency."
