"""Hostile calls to the Zalo webhooks over real HTTP: deep nesting, wrong types, replays.

The attack found: deeply nested JSON answered 500 with a traceback (on the OA webhook before its
signature was even checked), signed OA events with a string `message` or string attachments gave 500,
and a signed event was handled again each time it was replayed (three times without a `msg_id`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import httpx
import pytest

from tests.bot.zalo.apps import start_official_account, webhook_runner
from tests.emulators.zalo_oa import signature

ENGLISH = "From now on I will write to you in English."
VIETNAMESE = "Từ nay tôi sẽ nhắn cho bạn bằng tiếng Việt."
BOT_SECRET = "s3cret-webhook-token"
DEPTH = 50_000


def deep_bodies(prefix: str = "", suffix: str = "") -> dict[str, str]:
    """The nestings an attacker sends, each well under the 1 MB body limit."""
    return {
        "arrays": prefix + "[" * DEPTH + "]" * DEPTH + suffix,
        "objects": prefix + '{"a":' * DEPTH + "1" + "}" * DEPTH + suffix,
        "mixed": prefix + '[{"b":' * (DEPTH // 2) + "0" + "}]" * (DEPTH // 2) + suffix,
        "unclosed": prefix + "[" * DEPTH + suffix,
    }


def one_line_each(caplog, logger: str) -> list[logging.LogRecord]:
    records = [r for r in caplog.records if r.name == logger and r.levelno >= logging.WARNING]
    assert all(r.exc_info is None for r in caplog.records), "a traceback was logged"
    assert "Traceback" not in caplog.text
    return records


# -- Bot Platform ------------------------------------------------------------------------------------


@pytest.fixture
async def bot_webhook(db, clock, zalo_bot_api):
    runner = webhook_runner(db, clock, zalo_bot_api, BOT_SECRET)
    await runner.start()
    yield runner
    await runner.stop()


@pytest.mark.parametrize("shape", ["arrays", "objects", "mixed", "unclosed"])
async def test_a_deeply_nested_bot_platform_call_gets_400_and_one_log_line(
    zalo_bot_api, bot_webhook, caplog, shape
):
    body = deep_bodies('{"event_name":"message.text.received","message":', "}")[shape]

    with caplog.at_level(logging.INFO):
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"http://127.0.0.1:{bot_webhook.port}/zalo",
                content=body.encode(),
                headers={"X-Bot-Api-Secret-Token": BOT_SECRET, "Content-Type": "application/json"},
            )

    (line,) = one_line_each(caplog, "bot.transports.zalo.runner")
    assert response.status_code == 400
    assert "refused with 400" in line.getMessage()
    await zalo_bot_api.user_sends("u-1", "/ngonngu en")
    (reply,) = await zalo_bot_api.wait_for_messages("u-1", 1)
    assert reply.text == ENGLISH


@pytest.mark.parametrize(
    "update",
    [
        [1, 2],
        "message",
        {"event_name": ["x"], "message": {}},
        {
            "event_name": "message.text.received",
            "message": {"from": "u-1", "chat": "u-1", "text": "/nhiemvu"},
        },
        {"event_name": "message.text.received", "message": {"from": {"id": {"x": 1}}, "chat": {"id": []}}},
        {
            "event_name": "message.text.received",
            "message": {"from": {"id": "u-1"}, "chat": {"id": "u-1"}, "text": {}},
        },
    ],
    ids=["list", "string", "event-name-list", "string-parts", "object-ids", "object-text"],
)
async def test_a_bot_platform_update_with_wrong_types_is_not_a_500(zalo_bot_api, bot_webhook, caplog, update):
    with caplog.at_level(logging.INFO):
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"http://127.0.0.1:{bot_webhook.port}/zalo",
                json=update,
                headers={"X-Bot-Api-Secret-Token": BOT_SECRET},
            )

    one_line_each(caplog, "bot.transports.zalo.runner")
    assert response.status_code in (200, 400)
    assert zalo_bot_api.sent == []


# -- Official Account --------------------------------------------------------------------------------


@pytest.fixture
async def official_account(db, clock, zalo_oa_api):
    runner = await start_official_account(db, clock, zalo_oa_api)
    yield runner
    await runner.stop()


async def post_raw(
    api, body: str, *, timestamp: str | None = None, signed: bool = True, url: str | None = None
):
    timestamp = timestamp or str(int(api.clock.now().timestamp() * 1000))
    # Unsigned: a made-up MAC, as an attacker sends (no header at all is refused before anything).
    mac = signature(api.app_id, body, timestamp, api.oa_secret_key) if signed else "mac=" + "0" * 64
    headers = {"Content-Type": "application/json", "X-ZEvent-Signature": mac}
    async with httpx.AsyncClient() as http:
        return await http.post(url or api.webhook_url, content=body.encode(), headers=headers)


async def post_signed(api, event: dict, *, url: str | None = None) -> int:
    api.interacted(str(event["sender"]["id"]), event["message"].get("msg_id"))
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return (await post_raw(api, body, timestamp=event["timestamp"], url=url)).status_code


@pytest.mark.parametrize("shape", ["arrays", "objects", "mixed", "unclosed"])
@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
async def test_a_deeply_nested_oa_call_is_refused_by_signature_first_then_by_depth(
    zalo_oa_api, official_account, caplog, clock, shape, signed
):
    timestamp = str(int(clock.now().timestamp() * 1000))
    prefix = f'{{"app_id":"{zalo_oa_api.app_id}","event_name":"user_send_text","timestamp":"{timestamp}","message":'
    body = deep_bodies(prefix, "}")[shape]

    with caplog.at_level(logging.INFO):
        response = await post_raw(zalo_oa_api, body, timestamp=timestamp, signed=signed)

    (line,) = one_line_each(caplog, "bot.transports.zalo.runner")
    expected = 400 if signed else 401
    assert response.status_code == expected
    assert ("refused with 400" if signed else "signature refused") in line.getMessage()
    await zalo_oa_api.user_sends("f-1", "/ngonngu en")
    assert [m.text for m in await zalo_oa_api.wait_for_messages("f-1", 1)] == [ENGLISH]


@pytest.mark.parametrize(
    "change",
    [
        {"message": "/ngonngu en"},
        {"message": ["/ngonngu en"]},
        {"message": {"text": "hi", "msg_id": "m-1", "attachments": "http://evil.example/x.png"}},
        {"message": {"text": "hi", "msg_id": "m-2", "attachments": ["http://evil.example/x.png"]}},
        {"message": {"text": "hi", "msg_id": "m-3", "attachments": [{"type": "image", "payload": "x"}]}},
        {"message": {"text": {"t": 1}, "msg_id": "m-4"}},
        {"message": {"text": "hi", "msg_id": {"id": 1}}},
        {"sender": "f-1"},
        {"sender": {"id": ["f-1"]}},
        {"event_name": 5},
        {"timestamp": "yesterday"},
    ],
    ids=[
        "string-message",
        "list-message",
        "string-attachments",
        "string-attachment",
        "string-payload",
        "object-text",
        "object-msg-id",
        "string-sender",
        "list-sender-id",
        "number-event-name",
        "word-timestamp",
    ],
)
async def test_a_signed_oa_event_with_unexpected_types_gets_400_not_500(
    zalo_oa_api, official_account, caplog, change
):
    event = zalo_oa_api.event("f-1", "/ngonngu en") | change
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    # A word in place of the timestamp is signed with an empty one (what Zalo would hash).
    timestamp = event["timestamp"] if str(event["timestamp"]).isdigit() else "0"

    with caplog.at_level(logging.INFO):
        response = await post_raw(zalo_oa_api, body, timestamp=timestamp)

    one_line_each(caplog, "bot.transports.zalo.runner")
    if change == {"timestamp": "yesterday"}:
        assert response.status_code == 401  # nothing signed it: no timestamp to sign with
    else:
        assert response.status_code == 400
    await zalo_oa_api.user_sends("f-2", "/ngonngu en")
    await zalo_oa_api.wait_for_messages("f-2", 1)
    assert zalo_oa_api.texts_to("f-1") == []


async def answers_after(api, user_id: str, previous: int) -> list[str]:
    """What `user_id` has been answered, once a fresh message of theirs is: replays queued before it
    would have been answered before it (one chat's updates are handled in order)."""
    await api.user_sends(user_id, "/ngonngu vi")
    await api.wait_for_messages(user_id, previous + 1)
    return api.texts_to(user_id)


async def test_a_replayed_oa_event_is_answered_once(zalo_oa_api, official_account):
    event = await zalo_oa_api.user_sends("f-1", "/ngonngu en")
    await zalo_oa_api.wait_for_messages("f-1", 1)

    statuses = [await post_signed(zalo_oa_api, event) for _ in range(3)]

    assert statuses == [200, 200, 200]  # acknowledged, so that Zalo does not retry, and ignored
    assert await answers_after(zalo_oa_api, "f-1", 1) == [ENGLISH, VIETNAMESE]


# An event without a msg_id has no message to quote: its answer goes as a consultation message, which
# these OAs' package allows (docs/zalo.md).
CONSULTATIONS = {"oa_monthly_consultation_quota": 10}


async def test_a_replayed_oa_event_without_msg_id_is_answered_once(db, clock, zalo_oa_api):
    official_account = await start_official_account(db, clock, zalo_oa_api, **CONSULTATIONS)
    try:
        await _replayed_three_times_answered_once(zalo_oa_api)
    finally:
        await official_account.stop()


async def _replayed_three_times_answered_once(zalo_oa_api):
    event = zalo_oa_api.event("f-1", "/ngonngu en")
    del event["message"]["msg_id"]

    statuses = [await post_signed(zalo_oa_api, event) for _ in range(3)]
    await zalo_oa_api.wait_for_messages("f-1", 1)

    assert statuses == [200, 200, 200]
    assert await answers_after(zalo_oa_api, "f-1", 1) == [ENGLISH, VIETNAMESE]


@pytest.mark.parametrize("minutes", [-11, 11, -60 * 24 * 3], ids=["stale", "from-the-future", "days-old"])
async def test_an_oa_event_outside_the_freshness_window_is_refused(
    zalo_oa_api, official_account, clock, caplog, minutes
):
    event = zalo_oa_api.event("f-1", "/ngonngu en")
    event["timestamp"] = str(int((clock.now() + dt.timedelta(minutes=minutes)).timestamp() * 1000))

    with caplog.at_level(logging.WARNING):
        status = await post_signed(zalo_oa_api, event)

    assert status == 400
    assert "timestamp is" in caplog.text
    assert await answers_after(zalo_oa_api, "f-1", 0) == [VIETNAMESE]


async def test_a_captured_event_replayed_later_is_stale_by_then(zalo_oa_api, official_account, clock):
    event = await zalo_oa_api.user_sends("f-1", "/ngonngu en")
    await zalo_oa_api.wait_for_messages("f-1", 1)
    clock.advance(minutes=30)  # long after the dedup keys of the window were dropped

    status = await post_signed(zalo_oa_api, event)

    assert status == 400
    assert await answers_after(zalo_oa_api, "f-1", 1) == [ENGLISH, VIETNAMESE]


async def test_the_freshness_window_is_configurable(db, clock, zalo_oa_api):
    runner = await start_official_account(db, clock, zalo_oa_api)
    runner.config.oa_event_max_age_seconds = 60
    try:
        event = zalo_oa_api.event("f-1", "/ngonngu en")
        event["timestamp"] = str(int((clock.now() - dt.timedelta(seconds=90)).timestamp() * 1000))
        assert await post_signed(zalo_oa_api, event) == 400
        runner.config.oa_event_max_age_seconds = 120
        assert await post_signed(zalo_oa_api, event) == 200
        assert [m.text for m in await zalo_oa_api.wait_for_messages("f-1", 1)] == [ENGLISH]
    finally:
        await runner.stop()


async def test_a_replay_sent_to_another_instance_is_caught_there_too(db, clock, zalo_oa_api):
    first = await start_official_account(db, clock, zalo_oa_api, **CONSULTATIONS)
    second = await start_official_account(db, clock, zalo_oa_api, **CONSULTATIONS)
    try:
        event = zalo_oa_api.event("f-1", "/ngonngu en")
        del event["message"]["msg_id"]
        statuses = [
            await post_signed(zalo_oa_api, event, url=f"http://127.0.0.1:{runner.port}/zalo-oa")
            for runner in (first, second, first)
        ]
        await zalo_oa_api.wait_for_messages("f-1", 1)
        zalo_oa_api.webhook_url = f"http://127.0.0.1:{first.port}/zalo-oa"
        # The fresh message goes to the first instance, which answered the event, so that a
        # replay queued on the second one could still show up: the count is checked after both drain.
        await zalo_oa_api.user_sends("f-1", "/ngonngu vi")
        await zalo_oa_api.wait_for_messages("f-1", 2)
        await second.finish()
        await first.finish()
    finally:
        await second.stop()
        await first.stop()

    assert statuses == [200, 200, 200]
    assert zalo_oa_api.texts_to("f-1") == [ENGLISH, VIETNAMESE]
