"""An agency's group chat: a coordinator links it, then it acts for that agency and no other."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from bot.cli import main
from storage.db import Database
from storage.models.people import COORDINATOR, GroupLink
from tests.bot.telegram.test_runner import MODES
from tests.conftest import run_blocking
from tests.factories import make_member, make_plan


async def people_and_plan(db):
    async with db.transaction() as session:
        built = await make_plan(session)
        du_lich = built.agencies["Sở Du lịch"]
        ngoai_vu = built.agencies["Sở Ngoại vụ"]
        await make_member(session, "Hà", role=COORDINATOR, platform="telegram", user_id="1", language="en")
        await make_member(session, "Lan", agency=du_lich, platform="telegram", user_id="2", language="en")
        await make_member(session, "Tùng", agency=ngoai_vu, platform="telegram", user_id="3", language="en")
    return built


async def linked_group(telegram, sqlite_db):
    built = await people_and_plan(sqlite_db)
    ha, lan, tung = (
        telegram.user(n, name, language_code="en") for n, name in ((1, "Hà"), (2, "Lan"), (3, "Tùng"))
    )
    group = telegram.group(-5001, "Sở Du lịch — báo cáo")
    await telegram.send_text(ha, "/lienketnhom du lich", chat=group)
    await telegram.wait_for_messages(group.id, 1)
    return built, group, ha, lan, tung


async def test_a_coordinator_links_a_group_to_an_agency_named_loosely(telegram, start_bot, sqlite_db):
    await start_bot()
    built, group, *_ = await linked_group(telegram, sqlite_db)

    (reply,) = telegram.sent_to(group.id)
    async with sqlite_db.snapshot() as session:
        links = [
            (link.platform, link.chat_id, link.agency_id)
            for link in (await session.scalars(select(GroupLink)))
        ]
    assert reply.text.startswith("This group is now linked to Sở Du lịch")
    assert links == [("telegram", "-5001", built.agencies["Sở Du lịch"].id)]


@pytest.mark.parametrize("mode", MODES)
async def test_the_agencys_focal_point_uses_the_bot_in_its_group(telegram, start_bot, sqlite_db, mode):
    await start_bot(mode)
    _built, group, _ha, lan, _tung = await linked_group(telegram, sqlite_db)

    await telegram.send_text(lan, "/nhiemvu@nhacviec_bot", chat=group)

    (tasks,) = await telegram.next_messages(group.id, after=1)
    assert "Quảng bá du lịch Thủ đô trên kênh quốc tế" in tasks.text
    assert "Xuất bản đặc san song ngữ đối ngoại" not in tasks.text


async def test_another_agencys_focal_point_is_told_who_may_use_the_group(telegram, start_bot, sqlite_db):
    await start_bot()
    _built, group, _ha, _lan, tung = await linked_group(telegram, sqlite_db)

    await telegram.send_text(tung, "/capnhat 1 hoàn thành", chat=group)

    (refusal,) = await telegram.next_messages(group.id, after=1)
    expected = (
        "In this group only the focal points of Sở Du lịch and the coordinators can use the bot. "
        "To register, write to @nhacviec_bot in a private chat."
    )
    assert refusal.text == expected


@pytest.mark.parametrize("mode", MODES)
async def test_a_stranger_in_a_linked_group_is_not_let_in(telegram, start_bot, sqlite_db, mode):
    await start_bot(mode)
    _built, group, *_ = await linked_group(telegram, sqlite_db)
    stranger = telegram.user(99, "Khách", language_code="en")

    await telegram.send_text(stranger, "/tonghop", chat=group)

    (refusal,) = await telegram.next_messages(group.id, after=1)
    assert refusal.text.startswith("In this group only the focal points of Sở Du lịch")


@pytest.mark.parametrize("mode", MODES)
async def test_only_a_coordinator_may_link_a_group(telegram, start_bot, sqlite_db, mode):
    await start_bot(mode)
    await people_and_plan(sqlite_db)
    lan = telegram.user(2, "Lan", language_code="en")
    group = telegram.group(-5002, "Nhóm khác")

    await telegram.send_text(lan, "/lienketnhom Sở Du lịch", chat=group)

    (reply,) = await telegram.wait_for_messages(group.id, 1)
    assert reply.text == "Only a coordinator can link this group to an agency."


async def test_an_unlinked_group_tells_members_how_to_link_it(telegram, start_bot, sqlite_db):
    await start_bot()
    await people_and_plan(sqlite_db)
    lan = telegram.user(2, "Lan", language_code="en")
    group = telegram.group(-5002, "Nhóm chưa liên kết")

    await telegram.send_text(lan, "/nhiemvu", chat=group)

    (reply,) = await telegram.wait_for_messages(group.id, 1)
    assert reply.text.startswith("This group is not linked to an agency yet.")


async def test_an_ambiguous_agency_name_gets_the_candidates(telegram, start_bot, sqlite_db):
    await start_bot()
    await people_and_plan(sqlite_db)
    ha = telegram.user(1, "Hà", language_code="en")
    group = telegram.group(-5003, "Nhóm")

    await telegram.send_text(ha, "/lienketnhom so", chat=group)
    await telegram.send_text(ha, "/lienketnhom quoc te", chat=group)

    ambiguous, unknown = await telegram.wait_for_messages(group.id, 2)
    expected = "No agency matches “so”.\nDid you mean: Sở Du lịch; Sở Ngoại vụ; Sở Thông tin và Truyền thông?"
    assert ambiguous.text == expected
    assert unknown.text == "No agency matches “quoc te”."


async def test_linking_from_a_private_chat_says_where_to_type_it(telegram, start_bot, sqlite_db):
    await start_bot()
    await people_and_plan(sqlite_db)
    lan = telegram.user(2, "Lan", language_code="en")

    await telegram.send_text(lan, "/lienketnhom Sở Du lịch")

    (reply,) = await telegram.wait_for_messages(lan.id, 1)
    assert reply.text == "Type this command in the group you want to link, not in a private chat."


async def test_a_coordinator_unlinks_a_group(telegram, start_bot, sqlite_db):
    await start_bot()
    _built, group, ha, lan, _tung = await linked_group(telegram, sqlite_db)

    await telegram.send_text(ha, "/huylienketnhom", chat=group)
    await telegram.send_text(lan, "/nhiemvu", chat=group)

    unlinked, refused = await telegram.next_messages(group.id, after=1, count=2)
    assert unlinked.text == "This group is no longer linked to an agency."
    assert refused.text.startswith("This group is not linked to an agency yet.")


def test_an_operator_links_and_unlinks_a_group_from_the_command_line(sqlite_template, tmp_path, capsys):
    path = tmp_path / "nhacviec.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"

    async def seed() -> None:
        db = Database(url)
        async with db.transaction() as session:
            await make_plan(session)
        await db.dispose()

    run_blocking(seed)

    linked = main(
        ["--db", url, "--lang", "en", "groups", "link", "--chat-id", "-100200300", "--agency", "so ngoai vu"]
    )
    listed = main(["--db", url, "--lang", "en", "groups", "list"])
    unlinked = main(["--db", url, "--lang", "en", "groups", "unlink", "--chat-id", "-100200300"])
    again = main(["--db", url, "--lang", "en", "groups", "unlink", "--chat-id", "-100200300"])

    output = capsys.readouterr()
    assert (linked, listed, unlinked, again) == (0, 0, 0, 1)
    assert "telegram group -100200300 now acts for Sở Ngoại vụ." in output.out
    assert "telegram  -100200300       Sở Ngoại vụ" in output.out
    assert "telegram group -100200300 was not linked" in output.err


async def test_a_linked_group_upgraded_to_a_supergroup_keeps_its_agency(telegram, start_bot, sqlite_db):
    await start_bot()
    _built, group, ha, lan, _tung = await linked_group(telegram, sqlite_db)

    supergroup = await telegram.upgrade_group(group, by=ha)
    await telegram.send_text(lan, "/nhiemvu", chat=supergroup)

    (tasks,) = await telegram.wait_for_messages(supergroup.id, 1)
    assert "Quảng bá du lịch Thủ đô trên kênh quốc tế" in tasks.text
    async with sqlite_db.snapshot() as session:
        chats = [link.chat_id for link in await session.scalars(select(GroupLink))]
    assert chats == [str(supergroup.id)]


@pytest.mark.parametrize("mode", MODES)
async def test_in_a_group_the_guided_update_takes_the_note_as_a_reply_to_the_bots_question(
    telegram, start_bot, sqlite_db, mode
):
    await start_bot(mode)
    _built, group, _ha, lan, _tung = await linked_group(telegram, sqlite_db)

    # Each question opens a reply (ForceReply) whose choices are numbered: the number typed answers.
    await telegram.send_text(lan, "/capnhat", chat=group)
    (which,) = await telegram.next_messages(group.id, after=1)
    await telegram.send_text(lan, "1", chat=group, reply_to=which)
    (status,) = await telegram.next_messages(group.id, after=2)
    await telegram.send_text(lan, "đang thực hiện", chat=group, reply_to=status)
    (question,) = await telegram.next_messages(group.id, after=3)
    # Privacy mode: a plain message never reaches the bot, a reply to its question does.
    hidden = await telegram.send_text(lan, "Đã in 2.000 tờ rơi", chat=group)
    await telegram.send_text(lan, "Đã in 2.000 tờ rơi", chat=group, reply_to=question)
    (evidence,) = await telegram.next_messages(group.id, after=4)
    await telegram.send_text(lan, "1", chat=group, reply_to=evidence)
    (saved,) = await telegram.next_messages(group.id, after=5)

    assert hidden is None
    assert saved.text.startswith("Saved: task II.1 — in progress.")
    assert "Note: Đã in 2.000 tờ rơi" in saved.text


async def group_links(db) -> list[str]:
    async with db.snapshot() as session:
        return [link.chat_id for link in await session.scalars(select(GroupLink))]


async def test_removing_the_bot_from_a_linked_group_unlinks_it_and_tells_the_coordinators(
    telegram, start_bot, sqlite_db
):
    await start_bot()
    _built, group, ha, lan, _tung = await linked_group(telegram, sqlite_db)

    await telegram.remove_bot(group, by=lan)

    (notice,) = await telegram.wait_for_messages(ha.id, 1)
    assert notice.text.startswith(
        "The bot was removed from the group “Sở Du lịch — báo cáo”, which reported for Sở Du lịch: "
        "the group is no longer linked."
    )
    assert await group_links(sqlite_db) == []
    assert telegram.sent_to(lan.id) == []  # only coordinators are told
