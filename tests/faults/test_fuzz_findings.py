"""What the fuzzer found, kept as plain tests so that it stays fixed."""

from __future__ import annotations

from bot import groups
from bot.app import App
from bot.config import Config
from bot.core.messages import Incoming
from bot.core.service import Core
from storage import group_links
from storage.models.people import RETIRED
from tests.factories import make_plan_with_focal


async def test_a_retired_member_is_refused_in_a_group_in_the_language_they_chose(db, clock):
    async with db.transaction() as session:
        built = await make_plan_with_focal(session, "Minh", user_id="minh", status=RETIRED)
        await group_links.link_group(
            session, platform="console", chat_id="-100200", agency=built.agencies["Sở Du lịch"],
            linked_by_id=None, now=clock.now(),
        )  # fmt: skip
    app = App(config=Config(), db=db, clock=clock)

    in_group = await groups.screen(
        app, Incoming(platform="console", chat_id="-100200", user_id="minh", text="/nhiemvu", is_group=True),
        bot_username="nhacviec_bot",
    )  # fmt: skip
    in_private = await Core(app).handle(
        Incoming(platform="console", chat_id="minh", user_id="minh", text="/nhiemvu")
    )

    expected = "In this group only the focal points of Sở Du lịch and the coordinators can use the bot."
    assert in_group.replies[0].text.startswith(expected)
    assert in_private[0].text.startswith("Your registration as focal point for Sở Du lịch has ended")


async def test_a_language_chosen_in_the_chat_is_used_by_the_group_commands_as_by_the_core(db, clock):
    async with db.transaction() as session:
        await make_plan_with_focal(session, "Minh", user_id="minh", status=RETIRED)
    app = App(config=Config(), db=db, clock=clock)
    core = Core(app)
    await core.handle(Incoming(platform="console", chat_id="minh", user_id="minh", text="/ngonngu vi"))

    link = await groups.screen(
        app, Incoming(platform="console", chat_id="minh", user_id="minh", text="/huylienketnhom"),
        bot_username="nhacviec_bot",
    )  # fmt: skip
    tasks = await core.handle(Incoming(platform="console", chat_id="minh", user_id="minh", text="/nhiemvu"))

    assert (
        link.replies[0].text == "Hãy gõ lệnh này trong nhóm cần liên kết, không phải trong trò chuyện riêng."
    )
    assert tasks[0].text.startswith("Đăng ký của bạn với vai trò đầu mối")
