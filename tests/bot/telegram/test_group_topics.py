"""Groups as Telegram users know them, over real HTTP against the emulator (privacy mode on): a
question opens a reply for the person asked (ForceReply), forum topics keep their own answers and
links, and a coordinator adds the bot to a group with a link that also links it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models.people import COORDINATOR, GroupLink, ProgressUpdate
from tests.bot.telegram.test_runner import MODES
from tests.factories import make_member, make_plan


async def people_and_plan(db, language="en"):
    async with db.transaction() as session:
        built = await make_plan(session)
        du_lich = built.agencies["Sở Du lịch"]
        ngoai_vu = built.agencies["Sở Ngoại vụ"]
        await make_member(
            session, "Hà", role=COORDINATOR, platform="telegram", user_id="1", language=language
        )
        await make_member(session, "Lan", agency=du_lich, platform="telegram", user_id="2", language=language)
        await make_member(
            session, "Tùng", agency=ngoai_vu, platform="telegram", user_id="3", language=language
        )
    return built


async def links(db) -> list[tuple[str, int]]:
    async with db.snapshot() as session:
        return sorted((link.chat_id, link.agency_id) for link in await session.scalars(select(GroupLink)))


@pytest.mark.parametrize("mode", MODES)
async def test_a_question_in_a_group_opens_a_reply_and_the_answers_get_through_privacy_mode(
    telegram, start_bot, sqlite_db, mode
):
    await start_bot(mode)
    built = await people_and_plan(sqlite_db)
    ha, lan = telegram.user(1, "Hà", language_code="en"), telegram.user(2, "Lan", language_code="en")
    group = telegram.group(-5001, "Sở Du lịch — báo cáo")
    await telegram.send_text(ha, "/lienketnhom du lich", chat=group)
    await telegram.wait_for_messages(group.id, 1)

    asked = await telegram.send_text(lan, "/capnhat", chat=group)
    (which,) = await telegram.next_messages(group.id, after=1)
    # Typed without replying, an answer never reaches a bot in privacy mode.
    assert await telegram.send_text(lan, "1", chat=group) is None

    assert which.text.startswith("Which task?")
    assert "\n1. " in which.text and which.buttons == []
    assert which.reply_markup == {"force_reply": True, "selective": True}
    assert which.reply_to_message_id == asked["message"]["message_id"]

    await telegram.send_text(lan, "1", chat=group, reply_to=which)
    (status,) = await telegram.next_messages(group.id, after=2)
    assert "What is its status?" in status.text and status.force_reply
    await telegram.send_text(lan, "hoàn thành", chat=group, reply_to=status)
    (note,) = await telegram.next_messages(group.id, after=3)
    assert note.text.startswith("In a few words") and note.force_reply
    await telegram.send_text(lan, "Đã đăng 12 bài trên kênh quốc tế", chat=group, reply_to=note)
    (evidence,) = await telegram.next_messages(group.id, after=4)
    assert evidence.force_reply
    await telegram.send_text(lan, "1", chat=group, reply_to=evidence)
    (done,) = await telegram.next_messages(group.id, after=5)

    # The flow is over: the confirmation asks nothing.
    assert not done.force_reply
    async with sqlite_db.snapshot() as session:
        update = await session.scalar(select(ProgressUpdate))
    assert (update.note, update.agency_id) == (
        "Đã đăng 12 bài trên kênh quốc tế",
        built.agencies["Sở Du lịch"].id,
    )


async def test_a_question_in_a_private_chat_keeps_its_buttons(telegram, start_bot, sqlite_db):
    await start_bot()
    await people_and_plan(sqlite_db)
    lan = telegram.user(2, "Lan", language_code="en")

    await telegram.send_text(lan, "/capnhat")

    (which,) = await telegram.wait_for_messages(lan.id, 1)
    assert which.buttons and not which.force_reply and which.reply_to_message_id is None


@pytest.mark.parametrize("mode", MODES)
async def test_each_forum_topic_answers_in_itself_and_may_act_for_its_own_agency(
    telegram, start_bot, sqlite_db, mode
):
    await start_bot(mode)
    built = await people_and_plan(sqlite_db)
    ha, lan, tung = (
        telegram.user(n, name, language_code="en") for n, name in ((1, "Hà"), (2, "Lan"), (3, "Tùng"))
    )
    forum = telegram.group(-1009001, "Các sở — báo cáo", forum=True)
    du_lich_topic = telegram.topic(forum, "Du lịch")
    ngoai_vu_topic = telegram.topic(forum, "Ngoại vụ")

    await telegram.send_text(ha, "/lienketnhom du lich", chat=forum, topic=du_lich_topic)
    await telegram.send_text(ha, "/lienketnhom ngoai vu", chat=forum, topic=ngoai_vu_topic)
    linked_du_lich, linked_ngoai_vu = await telegram.wait_for_messages(forum.id, 2)
    await telegram.send_text(lan, "/nhiemvu", chat=forum, topic=du_lich_topic)
    await telegram.send_text(tung, "/nhiemvu", chat=forum, topic=ngoai_vu_topic)
    await telegram.send_text(lan, "/nhiemvu", chat=forum, topic=ngoai_vu_topic)
    await telegram.send_text(lan, "/nhiemvu", chat=forum)
    answers = await telegram.wait_for_messages(forum.id, 6)

    assert (linked_du_lich.thread_id, linked_ngoai_vu.thread_id) == (du_lich_topic, ngoai_vu_topic)
    assert await links(sqlite_db) == sorted(
        [
            (f"-1009001/{du_lich_topic}", built.agencies["Sở Du lịch"].id),
            (f"-1009001/{ngoai_vu_topic}", built.agencies["Sở Ngoại vụ"].id),
        ]
    )
    by_topic = {}
    for answer in answers[2:]:
        by_topic.setdefault(answer.thread_id, []).append(answer.text)
    (lan_tasks,) = by_topic[du_lich_topic]
    tung_tasks, lan_refused = by_topic[ngoai_vu_topic]
    (general,) = by_topic[None]
    assert "Quảng bá du lịch Thủ đô trên kênh quốc tế" in lan_tasks
    assert "Xuất bản đặc san song ngữ đối ngoại" in tung_tasks
    assert "Quảng bá du lịch" not in tung_tasks
    assert lan_refused.startswith("In this group only the focal points of Sở Ngoại vụ")
    assert general.startswith("This group is not linked to an agency yet.")


@pytest.mark.parametrize("mode", MODES)
async def test_a_topic_not_linked_on_its_own_acts_for_the_groups_agency(telegram, start_bot, sqlite_db, mode):
    await start_bot(mode)
    await people_and_plan(sqlite_db)
    ha, lan = telegram.user(1, "Hà", language_code="en"), telegram.user(2, "Lan", language_code="en")
    forum = telegram.group(-1009002, "Sở Du lịch", forum=True)
    topic = telegram.topic(forum, "Báo cáo tuần")

    await telegram.send_text(ha, "/lienketnhom du lich", chat=forum)
    await telegram.wait_for_messages(forum.id, 1)
    await telegram.send_text(lan, "/nhiemvu", chat=forum, topic=topic)

    (tasks,) = await telegram.next_messages(forum.id, after=1)
    assert tasks.thread_id == topic
    assert "Quảng bá du lịch Thủ đô trên kênh quốc tế" in tasks.text


async def test_removing_the_bot_from_a_forum_unlinks_its_topics(telegram, start_bot, sqlite_db):
    await start_bot()
    await people_and_plan(sqlite_db)
    ha = telegram.user(1, "Hà", language_code="en")
    forum = telegram.group(-1009003, "Các sở", forum=True)
    topic = telegram.topic(forum, "Du lịch")
    await telegram.send_text(ha, "/lienketnhom du lich", chat=forum, topic=topic)
    await telegram.wait_for_messages(forum.id, 1)

    await telegram.remove_bot(forum, by=ha)

    (notice,) = await telegram.wait_for_messages(ha.id, 1)
    assert notice.text.startswith(
        "The bot was removed from the group “Các sở”, which reported for Sở Du lịch"
    )
    assert await links(sqlite_db) == []


async def test_a_coordinator_adds_the_bot_to_a_group_with_a_link_that_links_it(
    telegram, start_bot, sqlite_db
):
    await start_bot()
    built = await people_and_plan(sqlite_db)
    ha, lan = telegram.user(1, "Hà", language_code="en"), telegram.user(2, "Lan", language_code="en")
    group = telegram.group(-5010, "Nhóm Sở Du lịch")

    await telegram.send_text(ha, "/lienketnhom du lich")
    (offer,) = await telegram.wait_for_messages(ha.id, 1)
    link = f"https://t.me/nhacviec_bot?startgroup=lk{built.agencies['Sở Du lịch'].id}"
    assert offer.text.startswith(f"To link a group to Sở Du lịch, open {link} and choose the group")

    # A focal point given the link cannot link a group with it: the sender must be a coordinator.
    await telegram.open_startgroup_link(lan, link, group)
    (refused,) = await telegram.wait_for_messages(group.id, 1)
    assert refused.text == "Only a coordinator can link this group to an agency."
    assert await links(sqlite_db) == []

    await telegram.open_startgroup_link(ha, link, group)
    (linked,) = await telegram.next_messages(group.id, after=1)
    assert linked.text.startswith("This group is now linked to Sở Du lịch")
    assert await links(sqlite_db) == [("-5010", built.agencies["Sở Du lịch"].id)]


async def test_the_add_to_group_link_in_vietnamese_and_without_an_agency(telegram, start_bot, sqlite_db):
    await start_bot()
    await people_and_plan(sqlite_db, language="vi")
    ha = telegram.user(1, "Hà")
    group = telegram.group(-5011, "Nhóm mới")

    await telegram.send_text(ha, "/lienketnhom")
    (offer,) = await telegram.wait_for_messages(ha.id, 1)
    assert "https://t.me/nhacviec_bot?startgroup=lk " in offer.text + " "
    assert offer.text.startswith("Hãy gõ lệnh này trong nhóm")

    await telegram.open_startgroup_link(ha, "https://t.me/nhacviec_bot?startgroup=lk", group)
    (ask,) = await telegram.wait_for_messages(group.id, 1)
    assert ask.text.startswith("Hãy cho biết cơ quan nào")
