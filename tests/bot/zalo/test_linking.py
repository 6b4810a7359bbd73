"""/lienket and /kenh: one member on Telegram and Zalo, reminders where they want them first."""

from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import select

from bot.app import App
from bot.config import load_config
from bot.core.messages import Incoming, Reply
from bot.core.service import Core
from bot.render.text import with_numbered_choices
from storage.models.linking import LinkCode
from storage.models.people import Identity, Member
from tests.factories import make_agency, make_member

CODE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
_ids = itertools.count(1)


class Chat:
    """One platform account talking to the core the way a transport does."""

    def __init__(self, core: Core, platform: str, user_id: str, name: str = "Lan"):
        self.core, self.platform, self.user_id, self.name = core, platform, user_id, name

    async def send(self, text: str) -> list[Reply]:
        return await self.core.handle(
            Incoming(
                platform=self.platform,
                chat_id=self.user_id,
                user_id=self.user_id,
                user_name=self.name,
                text=text,
                message_id=str(next(_ids)),
            )
        )

    async def text(self, text: str) -> str:
        """The text of the replies to this chat, buttons as numbered choices."""
        replies = await self.send(text)
        return "\n".join(with_numbered_choices(reply) for reply in replies if reply.to_chat_id is None)


@pytest.fixture
def core(db, clock) -> Core:
    return Core(App(config=load_config(env={}), db=db, clock=clock))


@pytest.fixture
async def lan(db, core) -> Chat:
    """Lan, focal point for Sở Du lịch, registered on Telegram, chatting in English."""
    async with db.transaction() as session:
        agency = await make_agency(session, "Sở Du lịch")
        await make_member(session, "Lan", agency=agency, platform="telegram", user_id="tg-lan", language="en")
    return Chat(core, "telegram", "tg-lan")


async def code_for(chat: Chat) -> str:
    return CODE.search(await chat.text("/lienket")).group(0)


async def identities_of(db, name: str) -> list[tuple[str, str]]:
    async with db.snapshot() as session:
        rows = await session.execute(
            select(Identity.platform, Identity.external_id)
            .join(Member, Member.id == Identity.member_id)
            .where(Member.name == name)
            .order_by(Identity.platform)
        )
        return [tuple(row) for row in rows]


async def test_a_member_gets_a_code_and_the_command_to_send_from_the_other_account(lan):
    text = await lan.text("/lienket")
    code = CODE.search(text).group(0)
    assert f"/lienket {code}" in text.splitlines()
    assert "15 minutes" in text


async def test_the_code_sent_from_zalo_links_that_account_to_the_same_member(db, core, lan):
    code = await code_for(lan)
    zalo = Chat(core, "zalo", "z-lan", name="Lan Nguyễn")
    replies = await zalo.send(f"/lienket {code}")
    assert replies[0].text == (
        "Linked. This Zalo account now belongs to Lan, focal point for Sở Du lịch. "
        "Reminders come on Telegram first; send /kenh to change that."
    )
    assert await identities_of(db, "Lan") == [("telegram", "tg-lan"), ("zalo", "z-lan")]


async def test_the_first_account_is_told_about_the_link(core, lan):
    code = await code_for(lan)
    replies = await Chat(core, "zalo", "z-lan").send(f"/lienket {code}")
    notice = next(reply for reply in replies if reply.to_chat_id is not None)
    assert (notice.to_platform, notice.to_chat_id) == ("telegram", "tg-lan")
    assert "If this was not you, tell a coordinator at once." in notice.text


async def test_the_linked_account_acts_as_the_member(core, lan):
    code = await code_for(lan)
    zalo = Chat(core, "zalo", "z-lan")
    await zalo.send(f"/lienket {code}")
    assert "Reminders come on Telegram first" in await zalo.text("/kenh")


async def test_a_code_links_only_once(core, lan):
    code = await code_for(lan)
    await Chat(core, "zalo", "z-lan").send(f"/lienket {code}")
    text = await Chat(core, "zalo", "z-stranger", name="Mallory").text(f"/lienket {code}")
    assert text.startswith("Mã liên kết không hợp lệ")


async def test_an_expired_code_is_refused(core, lan, clock):
    code = await code_for(lan)
    clock.advance(minutes=16)
    assert (await Chat(core, "zalo", "z-lan").text(f"/lienket {code}")).startswith("Mã liên kết không hợp lệ")


async def test_a_new_code_replaces_the_last_one(core, lan):
    first = await code_for(lan)
    await code_for(lan)
    assert (await Chat(core, "zalo", "z-lan").text(f"/lienket {first}")).startswith(
        "Mã liên kết không hợp lệ"
    )


async def test_a_code_sent_from_the_same_platform_is_refused_and_stays_valid(db, core, lan):
    code = await code_for(lan)
    text = await Chat(core, "telegram", "tg-other").text(f"/lienket {code}")
    assert text == (
        "Mã này phải được gửi từ tài khoản của bạn trên nền tảng khác, không phải từ Telegram. Mã vẫn còn hiệu lực."
    )
    await Chat(core, "zalo", "z-lan").send(f"/lienket {code}")
    assert ("zalo", "z-lan") in await identities_of(db, "Lan")


async def test_an_account_registered_to_someone_else_cannot_be_linked(db, core, lan):
    async with db.transaction() as session:
        await make_member(session, "Minh", platform="zalo", user_id="z-minh", language="en")
    code = await code_for(lan)
    text = await Chat(core, "zalo", "z-minh").text(f"/lienket {code}")
    assert text.startswith("This Zalo account is registered to someone else")  # Minh reads English
    assert await identities_of(db, "Minh") == [("zalo", "z-minh")]


async def test_a_code_is_read_as_typed_in_lower_case_without_dashes(db, core, lan):
    code = await code_for(lan)
    await Chat(core, "zalo", "z-lan").send("lienket " + code.replace("-", " ").lower())
    assert ("zalo", "z-lan") in await identities_of(db, "Lan")


async def test_only_a_hash_of_the_code_is_stored(db, lan):
    code = await code_for(lan)
    async with db.snapshot() as session:
        stored = (await session.scalars(select(LinkCode.code_hash))).all()
    assert len(stored) == 1
    assert code.replace("-", "") not in stored[0] and code not in stored[0]


async def test_someone_unregistered_asking_for_a_code_is_told_to_ask_on_their_registered_account(core):
    text = await Chat(core, "zalo", "z-new").text("/lienket")
    assert text.endswith(
        "Đã đăng ký trên nền tảng khác? Gửi /lienket ở đó: bạn sẽ nhận một mã để gửi vào đây, "
        "và tài khoản này sẽ dùng chung đăng ký đó."
    )


async def test_a_member_with_two_accounts_chooses_where_reminders_come_first(db, core, lan):
    code = await code_for(lan)
    zalo = Chat(core, "zalo", "z-lan")
    await zalo.send(f"/lienket {code}")
    menu = await lan.text("/kenh")
    assert menu.splitlines()[-2:] == ["1. Telegram", "2. Zalo"]
    assert await lan.text("2") == "Reminders will now come on Zalo first."
    async with db.snapshot() as session:
        assert await session.scalar(select(Member.preferred_platform).where(Member.name == "Lan")) == "zalo"


async def test_a_channel_can_be_named_directly(core, lan):
    code = await code_for(lan)
    await Chat(core, "zalo", "z-lan").send(f"/lienket {code}")
    assert await lan.text("/kenh zalo") == "Reminders will now come on Zalo first."


async def test_a_member_with_one_account_is_told_how_to_add_another(lan):
    text = await lan.text("/kenh")
    assert text.splitlines() == [
        "Reminders come on Telegram first, then on your other accounts.",
        "You have one account here. To add another, send /lienket.",
    ]
