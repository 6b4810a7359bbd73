"""One member on Telegram and Zalo: linked with /lienket, reached on the preferred platform first and
on the other when the first fails. Both platforms over real HTTP: the Telegram Bot API emulator
through python-telegram-bot, the Zalo emulator through the Zalo runner."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.core.messages import Incoming
from bot.reminders import build_engine
from bot.transports.telegram.transport import TelegramTransport
from bot.transports.zalo.runner import ZaloRunner
from storage.models.people import Identity, Member
from tests.bot.zalo.apps import make_app
from tests.emulators.telegram import TelegramEmulator
from tests.factories import make_plan_with_focal
from tests.scheduler.conftest import hanoi, manual_sleep

CODE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
FIRST_REMINDER = hanoi(2020, 6, 12)
LAN_ON_TELEGRAM = 1001


@pytest.fixture
async def telegram(clock):
    async with TelegramEmulator(clock=clock.now) as emulator:
        yield emulator


@pytest.fixture
async def telegram_transport(telegram):
    request = HTTPXRequest(connect_timeout=2, read_timeout=2, write_timeout=2, pool_timeout=2)
    bot = Bot(
        telegram.token, base_url=telegram.api_base_url, base_file_url=telegram.file_base_url, request=request
    )
    async with bot:
        yield TelegramTransport(bot)


@pytest.fixture
async def runner(db, clock, zalo_bot_api, telegram_transport):
    app = make_app(
        db, clock, {"ZALO_BOT_TOKEN": zalo_bot_api.token}, api_base_url=zalo_bot_api.base_url, poll_timeout=1
    )
    runner = ZaloRunner(app, official_account=False, other_transports={"telegram": telegram_transport})
    await runner.start()
    yield runner
    await runner.stop()


@pytest.fixture
async def lan(db, telegram):
    """Lan, focal point for Sở Du lịch, registered on Telegram."""
    telegram.user(LAN_ON_TELEGRAM, "Lan")
    async with db.transaction() as session:
        await make_plan_with_focal(
            session, "Lan", platform="telegram", user_id=str(LAN_ON_TELEGRAM), language="vi"
        )


async def on_telegram(runner: ZaloRunner, text: str) -> None:
    """Lan writes on Telegram (what the Telegram runner would hand the core)."""
    chat = str(LAN_ON_TELEGRAM)
    await runner.conversation.handle(
        Incoming(platform="telegram", chat_id=chat, user_id=chat, user_name="Lan", text=text)
    )


async def on_zalo(runner: ZaloRunner, zalo_bot_api, text: str) -> list[str]:
    before = len(zalo_bot_api.texts_to("z-lan"))
    await zalo_bot_api.user_sends("z-lan", text, name="Lan Nguyễn")
    await zalo_bot_api.wait_for_messages("z-lan", before + 1)
    await runner.queue.drain()
    return zalo_bot_api.texts_to("z-lan")[before:]


async def link_zalo(runner, zalo_bot_api, telegram) -> list[str]:
    await on_telegram(runner, "/lienket")
    code = CODE.search(telegram.sent_to(LAN_ON_TELEGRAM)[-1].text).group(0)
    return await on_zalo(runner, zalo_bot_api, f"/lienket {code}")


async def test_a_code_from_telegram_links_the_zalo_account_and_telegram_hears_of_it(
    db, runner, zalo_bot_api, telegram, lan
):
    (linked,) = await link_zalo(runner, zalo_bot_api, telegram)

    assert linked.startswith("Đã liên kết. Tài khoản Zalo này nay thuộc về Lan, đầu mối của Sở Du lịch.")
    assert telegram.sent_to(LAN_ON_TELEGRAM)[-1].text == (
        "Tài khoản Zalo của bạn vừa được liên kết với đăng ký của bạn. "
        "Nếu không phải bạn làm, hãy báo ngay cho điều phối viên."
    )


async def test_a_reminder_goes_to_the_preferred_platform_only(db, runner, zalo_bot_api, telegram, lan, clock):
    await link_zalo(runner, zalo_bot_api, telegram)
    on_zalo_before = len(zalo_bot_api.texts_to("z-lan"))
    clock.set(FIRST_REMINDER)
    await build_engine(runner.app, runner.transports, sleep_until=manual_sleep(clock)).run_once()

    assert "[87/KH-UBND · 20/6 · T-7]" in telegram.sent_to(LAN_ON_TELEGRAM)[-1].text
    assert len(zalo_bot_api.texts_to("z-lan")) == on_zalo_before


async def test_when_telegram_is_blocked_the_reminder_comes_on_zalo(
    db, runner, zalo_bot_api, telegram, lan, clock
):
    await link_zalo(runner, zalo_bot_api, telegram)
    telegram.block(telegram.chats[LAN_ON_TELEGRAM].user)
    clock.set(FIRST_REMINDER)
    await build_engine(runner.app, runner.transports, sleep_until=manual_sleep(clock)).run_once()

    assert "[87/KH-UBND · 20/6 · T-7]" in zalo_bot_api.texts_to("z-lan")[-1]
    async with db.snapshot() as session:
        identities = dict((await session.execute(select(Identity.platform, Identity.reachable))).all())
        member_reachable = await session.scalar(select(Member.reachable).where(Member.name == "Lan"))
    assert identities == {"telegram": False, "zalo": True}
    assert member_reachable is True


async def test_after_kenh_zalo_reminders_come_on_zalo_first(db, runner, zalo_bot_api, telegram, lan, clock):
    await link_zalo(runner, zalo_bot_api, telegram)
    (chosen,) = await on_zalo(runner, zalo_bot_api, "/kenh zalo")
    assert chosen == "Từ nay lời nhắc sẽ gửi qua Zalo trước."
    on_telegram_before = len(telegram.sent_to(LAN_ON_TELEGRAM))
    clock.set(FIRST_REMINDER)
    await build_engine(runner.app, runner.transports, sleep_until=manual_sleep(clock)).run_once()

    assert "[87/KH-UBND · 20/6 · T-7]" in zalo_bot_api.texts_to("z-lan")[-1]
    assert len(telegram.sent_to(LAN_ON_TELEGRAM)) == on_telegram_before


async def test_the_zalo_process_can_send_on_telegram_with_its_token(db, clock, telegram):
    from bot.config import Secret
    from bot.core.messages import Reply
    from bot.transports.base import Recipient
    from bot.transports.registry import telegram_send_only

    app = make_app(db, clock, {})
    app.config.telegram.api_base_url = telegram.api_base_url
    app.config.telegram.api_file_url = telegram.file_base_url
    app.config.secrets.telegram_bot_token = Secret(telegram.token)
    telegram.user(LAN_ON_TELEGRAM, "Lan")
    transport, close = await telegram_send_only(app)
    try:
        await transport.send(Recipient("telegram", str(LAN_ON_TELEGRAM)), Reply("Nhắc việc"))
    finally:
        await close()
    assert [m.text for m in telegram.sent_to(LAN_ON_TELEGRAM)] == ["Nhắc việc"]
    assert telegram.calls_to("getUpdates") == []  # it only sends: the Telegram runner polls


async def test_another_runner_can_send_on_zalo_with_its_token(db, clock, zalo_bot_api):
    from bot.core.messages import Reply
    from bot.transports.base import Recipient
    from bot.transports.registry import zalo_send_only

    app = make_app(db, clock, {"ZALO_BOT_TOKEN": zalo_bot_api.token}, api_base_url=zalo_bot_api.base_url)
    await zalo_bot_api.user_sends("z-lan", "xin chào")
    transport, close = await zalo_send_only(app)
    try:
        await transport.send(Recipient("zalo", "z-lan"), Reply("Nhắc việc"))
    finally:
        await close()
    assert zalo_bot_api.texts_to("z-lan") == ["Nhắc việc"]
    assert "getUpdates" not in zalo_bot_api.calls
