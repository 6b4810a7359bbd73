"""The running bot: PTB Application → core → replies, in polling and webhook mode, over real HTTP."""

from __future__ import annotations

import logging
import re

import aiohttp
import pytest

from bot.transports.telegram.runner import SECRET_HEADER
from storage.models.people import ADMIN, COORDINATOR
from tests.bot.telegram.conftest import WEBHOOK_SECRET
from tests.factories import make_member

MODES = ["polling", "webhook"]


@pytest.mark.parametrize("mode", MODES)
async def test_the_bot_answers_a_stranger_with_how_to_register(telegram, start_bot, mode):
    await start_bot(mode)
    stranger = telegram.user(2001, "Minh")

    await telegram.send_text(stranger, "/nhiemvu")

    (reply,) = await telegram.wait_for_messages(stranger.id, 1)
    assert "/dangky" in reply.text
    assert reply.parse_mode == "HTML"


async def test_commands_are_registered_in_vietnamese_and_english(telegram, start_bot):
    await start_bot()

    vietnamese = [c["command"] for c in telegram.commands_for("vi")]
    english = [c["command"] for c in telegram.commands_for("en")]

    assert telegram.commands_for("") == telegram.commands_for("vi")
    assert {"start", "capnhat", "huy"} <= set(vietnamese)
    assert {"start", "update", "cancel"} <= set(english)
    update = next(c for c in telegram.commands_for("en") if c["command"] == "update")
    assert update["description"] == "Report progress on a task"
    # What only coordinators may do is not offered to everyone.
    assert not {"tonghop", "xuat", "nhacnho"} & set(vietnamese)


async def test_a_coordinators_chat_has_a_menu_of_their_own_in_their_language(telegram, start_bot, sqlite_db):
    async with sqlite_db.transaction() as session:
        await make_member(session, "Hà", role=COORDINATOR, platform="telegram", user_id="1001", language="en")
        await make_member(session, "Quân", role=ADMIN, platform="telegram", user_id="1002", language="vi")

    await start_bot()

    coordinator = [c["command"] for c in telegram.commands_for("", {"type": "chat", "chat_id": 1001})]
    admin = [c["command"] for c in telegram.commands_for("", {"type": "chat", "chat_id": 1002})]
    assert {"summary", "missing", "remind", "export", "invite", "pending", "update"} <= set(coordinator)
    assert "start" not in coordinator
    assert {"tonghop", "xuat", "moi"} <= set(admin)


async def test_the_menu_button_opens_the_command_menu(telegram, start_bot):
    await start_bot()

    assert telegram.menu_buttons[None] == {"type": "commands"}


async def test_polling_asks_only_for_the_update_types_the_bot_handles(telegram, start_bot):
    await start_bot("polling")

    polls = await telegram.wait_for(lambda: telegram.calls_to("getUpdates"))

    assert (
        polls[0].params["allowed_updates"]
        == '["message", "edited_message", "callback_query", "my_chat_member"]'
    )


async def test_a_polling_bot_asks_for_updates_before_it_sets_its_menus(telegram, start_bot):
    await start_bot("polling", poll_timeout=1)

    # A long poll is recorded when answered, at its timeout; `at` is when it arrived.
    (first_poll, *_) = await telegram.wait_for(lambda: telegram.calls_to("getUpdates"))
    menus = telegram.calls_to("setMyCommands")

    assert menus and first_poll.at < min(call.at for call in menus)


async def test_webhook_mode_registers_the_webhook_with_its_secret(telegram, start_bot):
    bot = await start_bot("webhook")

    assert telegram.webhook.url == bot.webhook_url
    assert telegram.webhook.secret_token == WEBHOOK_SECRET
    assert telegram.webhook.allowed_updates == {
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    }


async def post(url: str, body: bytes, secret: str | None = WEBHOOK_SECRET) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        return response.status


@pytest.mark.parametrize("secret", [None, "wrong-secret"])
async def test_a_webhook_call_without_the_right_secret_is_refused_and_not_handled(
    telegram, start_bot, caplog, secret
):
    bot = await start_bot("webhook")
    forged = b'{"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 2001, "type": "private"}, "from": {"id": 2001, "is_bot": false, "first_name": "X"}, "text": "/nhiemvu"}}'
    telegram.user(2001, "X")

    with caplog.at_level(logging.WARNING):
        status = await post(bot.webhook_url, forged, secret)

    assert status == 403
    assert "webhook call refused" in caplog.text
    assert WEBHOOK_SECRET not in caplog.text
    assert telegram.sent_to(2001) == []


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"hello": "world"}', b'{"update_id": "x"}'])
async def test_a_webhook_payload_that_is_not_an_update_is_answered_400_and_logged(start_bot, caplog, body):
    bot = await start_bot("webhook")

    with caplog.at_level(logging.WARNING):
        status = await post(bot.webhook_url, body)

    assert status == 400
    assert "webhook call refused with 400" in caplog.text


async def test_an_oversized_webhook_payload_is_refused(start_bot):
    bot = await start_bot("webhook")

    status = await post(bot.webhook_url, b'{"update_id": 1, "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}')

    assert status == 413


async def test_the_webhook_server_also_answers_the_health_check(start_bot):
    bot = await start_bot("webhook")
    health = bot.webhook_url.rsplit("/", 1)[0] + "/healthz"

    async with aiohttp.ClientSession() as session, session.get(health) as response:
        body = await response.json()

    assert (response.status, body) == (200, {"status": "ok"})


@pytest.mark.parametrize("mode", MODES)
async def test_a_button_tap_is_answered_before_the_reply_is_sent(telegram, start_bot, mode):
    await start_bot(mode)
    minh = telegram.user(2001, "Minh")
    await telegram.send_text(minh, "/ngonngu")
    (question,) = await telegram.wait_for_messages(minh.id, 1)

    update = await telegram.tap(minh, question, question.button_labels[-1])
    (answer,) = await telegram.next_messages(minh.id, after=1)

    query = telegram.callback_queries[update["callback_query"]["id"]]
    assert query.answered_at is not None
    assert query.answered_at <= answer.received_at


@pytest.mark.parametrize("mode", MODES)
async def test_a_chats_updates_are_handled_in_the_order_sent(telegram, start_bot, mode):
    await start_bot(mode, concurrent_updates=8)
    users = [telegram.user(3000 + n, f"Người {n}") for n in range(4)]

    for step in range(5):
        for user in users:
            await telegram.send_text(user, f"/buoc{step}")

    for user in users:
        replies = await telegram.wait_for_messages(user.id, 5)
        # The core names the unknown command it was sent, so the replies show the order handled.
        expected = [f"/buoc{step}" for step in range(5)]
        assert [re.search(r"/buoc\d", r.text).group() for r in replies] == expected


@pytest.mark.parametrize("mode", MODES)
async def test_plain_messages_and_other_updates_of_one_chat_keep_their_order(telegram, start_bot, mode):
    # In webhook mode a plain text message is read from its JSON and anything else through PTB's
    # Update (bot.transports.telegram.updates.plain_message): both take the same place in line.
    await start_bot(mode, concurrent_updates=8)
    users = [telegram.user(3100 + n, f"Người {n}") for n in range(3)]
    for user in users:
        # The first reply to each chat waits out a rate limit: what follows must wait behind it.
        telegram.faults.next(1, "retry_after", retry_after=1, chat_id=user.id)

    for step in range(6):
        for user in users:
            fields = {"has_protected_content": True} if step % 2 else None
            await telegram.send_text(user, f"/buoc{step}", fields=fields)

    for user in users:
        replies = await telegram.wait_for_messages(user.id, 6)
        assert [re.search(r"/buoc\d", r.text).group() for r in replies] == [
            f"/buoc{step}" for step in range(6)
        ]
