"""Deeply nested and mistyped JSON on the Telegram webhook (real HTTP, the running bot, the emulator).

The attack found: a deeply nested body with the right secret answered 500 and logged a traceback.
"""

from __future__ import annotations

import logging

import pytest

from tests.bot.telegram.test_runner import post

DEPTH = 50_000
BODIES = {
    "arrays": b"[" * DEPTH + b"]" * DEPTH,
    "objects": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
    "update-with-deep-message": b'{"update_id": 7, "message": ' + b"[" * DEPTH + b"]" * DEPTH + b"}",
    "update-with-deep-text": b'{"update_id": 8, "message": {"message_id": 1, "date": 0, "chat": {"id": 2001, '
    b'"type": "private"}, "text": ' + b'{"x":' * DEPTH + b"0" + b"}" * DEPTH + b"}}",
    "unclosed": b'{"update_id": 9, "message": ' + b"[" * DEPTH,
    "brackets-in-strings-are-fine-but-not-an-update": b'{"s": "' + b"[" * DEPTH + b'"}',
    "string-message": b'{"update_id": 10, "message": "/nhiemvu"}',
    "boolean-update-id": b'{"update_id": true, "message": {}}',
    "list-text": b'{"update_id": 11, "message": {"message_id": 1, "date": 0, "chat": {"id": 2001, "type": '
    b'"private"}, "from": {"id": 2001, "is_bot": false, "first_name": "X"}, "text": ["/nhiemvu"]}}',
    "string-topic": b'{"update_id": 14, "message": {"message_id": 1, "date": 0, "chat": {"id": -1002, "type": '
    b'"supergroup"}, "from": {"id": 2001, "is_bot": false, "first_name": "X"}, "text": "/nhiemvu", '
    b'"is_topic_message": true, "message_thread_id": "7/../8"}}',
    "string-chat": b'{"update_id": 12, "message": {"message_id": 1, "date": 0, "chat": "2001", "text": "/nhiemvu"}}',
    "object-callback-data": b'{"update_id": 13, "callback_query": {"id": "q", "from": {"id": 2001, '
    b'"is_bot": false, "first_name": "X"}, "data": {"x": 1}, "chat_instance": "c"}}',
}


@pytest.mark.parametrize("name", list(BODIES))
async def test_a_payload_that_is_no_update_gets_400_and_one_log_line(telegram, start_bot, caplog, name):
    bot = await start_bot("webhook")
    caplog.clear()

    with caplog.at_level(logging.INFO):
        status = await post(bot.webhook_url, BODIES[name])

    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert status == 400
    assert [r.getMessage().split(":")[0] for r in records] == [
        f"webhook call refused with 400 ({len(BODIES[name])} bytes)"
    ]
    assert not any(r.exc_info for r in caplog.records)
    # And the bot goes on answering.
    minh = telegram.user(2001, "Minh")
    await telegram.send_text(minh, "/ngonngu en")
    (reply,) = await telegram.wait_for_messages(minh.id, 1)
    assert reply.text == "From now on I will write to you in English."
