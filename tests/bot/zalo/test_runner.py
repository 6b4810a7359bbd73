"""The Zalo runner end to end over real HTTP: emulator → runner → core → emulator."""

from __future__ import annotations

import httpx
import pytest

from bot.transports.zalo.runner import ZaloRunner, ZaloSetupError
from tests.bot.zalo.apps import make_app, polling_runner, start_official_account, webhook_runner
from tests.emulators.faults import Fault
from tests.emulators.zalo_oa import APP_ID, APP_SECRET, OA_SECRET_KEY, SECRET_KEY

ENGLISH = "From now on I will write to you in English."


@pytest.fixture
async def webhook(db, clock, zalo_bot_api):
    runner = webhook_runner(db, clock, zalo_bot_api, serve_files=True)
    await runner.start()
    yield runner
    await runner.stop()


@pytest.fixture
async def official_account(db, clock, zalo_oa_api):
    runner = await start_official_account(db, clock, zalo_oa_api)
    yield runner
    await runner.stop()


# -- Bot Platform, polling ---------------------------------------------------------------------------


async def test_a_message_polled_from_zalo_is_answered_by_the_core(zalo_bot_api, polling):
    await zalo_bot_api.user_sends("u-1", "/ngonngu en")
    (reply,) = await zalo_bot_api.wait_for_messages("u-1", 1)
    assert reply.text == ENGLISH


async def test_choices_are_numbered_and_a_bare_number_answers_them(zalo_bot_api, polling):
    await zalo_bot_api.user_sends("u-1", "/ngonngu")
    (menu,) = await zalo_bot_api.wait_for_messages("u-1", 1)
    assert menu.text.splitlines()[-2:] == ["1. Tiếng Việt", "2. English"]
    await zalo_bot_api.user_sends("u-1", "2")
    answer = (await zalo_bot_api.wait_for_messages("u-1", 2))[1]
    assert answer.text == ENGLISH


async def test_typing_is_shown_while_the_core_answers(zalo_bot_api, polling):
    await zalo_bot_api.user_sends("u-1", "/ngonngu en")
    await zalo_bot_api.wait_for_messages("u-1", 1)
    assert ("u-1", "typing") in zalo_bot_api.actions


async def test_polling_goes_on_after_zalo_fails_for_a_while(zalo_bot_api, polling):
    zalo_bot_api.faults.add("getUpdates", Fault("server_error"), times=2)
    zalo_bot_api.faults.add("getUpdates", Fault("bad_gateway_html"))
    await zalo_bot_api.user_sends("u-1", "/ngonngu en")
    (reply,) = await zalo_bot_api.wait_for_messages("u-1", 1)
    assert reply.text == ENGLISH


async def test_polling_removes_a_webhook_left_from_an_earlier_deployment(db, clock, zalo_bot_api):
    zalo_bot_api.webhook_url, zalo_bot_api.webhook_secret = "https://old.example.gov.vn/zalo", "old-secret"
    runner = polling_runner(db, clock, zalo_bot_api)
    await runner.start()
    try:
        await zalo_bot_api.user_sends("u-1", "/ngonngu en")
        (reply,) = await zalo_bot_api.wait_for_messages("u-1", 1)
    finally:
        await runner.stop()
    assert reply.text == ENGLISH


async def test_a_rejected_bot_token_stops_start_up_with_a_clear_message(db, clock, zalo_bot_api):
    app = make_app(db, clock, {"ZALO_BOT_TOKEN": "1:not-the-token"}, api_base_url=zalo_bot_api.base_url)
    runner = ZaloRunner(app, official_account=False)
    with pytest.raises(ZaloSetupError) as caught:
        await runner.start()
    await runner.stop()
    assert "ZALO_BOT_TOKEN" in str(caught.value)
    assert "not-the-token" not in str(caught.value)


async def test_webhook_mode_without_a_secret_is_refused(db, clock):
    app = make_app(
        db, clock, {"ZALO_BOT_TOKEN": "1:t"}, mode="webhook", webhook_url="https://bot.example.gov.vn/zalo"
    )
    with pytest.raises(ZaloSetupError) as caught:
        ZaloRunner(app, official_account=False)
    assert "ZALO_WEBHOOK_SECRET" in str(caught.value)


# -- Bot Platform, webhook ---------------------------------------------------------------------------


async def test_webhook_mode_registers_its_url_with_the_secret(zalo_bot_api, webhook):
    assert (zalo_bot_api.webhook_url, zalo_bot_api.webhook_secret) == (
        f"http://127.0.0.1:{webhook.port}/zalo",
        "s3cret-webhook-token",
    )


async def test_an_update_posted_to_the_webhook_is_answered(zalo_bot_api, webhook):
    await zalo_bot_api.user_sends("u-1", "/ngonngu en")
    (reply,) = await zalo_bot_api.wait_for_messages("u-1", 1)
    assert (reply.text, zalo_bot_api.webhook_statuses) == (ENGLISH, [200])


async def test_a_redelivered_update_is_answered_once(zalo_bot_api, webhook):
    update = await zalo_bot_api.user_sends("u-1", "/ngonngu en")
    await zalo_bot_api.wait_for_messages("u-1", 1)
    await zalo_bot_api.deliver(update)
    await zalo_bot_api.user_sends("u-1", "/huy")  # a later message is answered, so the repeat was seen
    messages = await zalo_bot_api.wait_for_messages("u-1", 2)
    assert [m.text for m in messages] == [ENGLISH, "There is nothing to cancel."]


async def test_a_webhook_call_without_the_secret_is_refused(zalo_bot_api, webhook):
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"http://127.0.0.1:{webhook.port}/zalo",
            json={"event_name": "message.text.received", "message": {"text": "/ngonngu en"}},
            headers={"X-Bot-Api-Secret-Token": "guessed"},
        )
    assert response.status_code == 401
    assert zalo_bot_api.sent == []


async def test_a_webhook_payload_that_is_no_message_is_acknowledged(webhook):
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"http://127.0.0.1:{webhook.port}/zalo",
            json={"event_name": "message.sticker.received"},
            headers={"X-Bot-Api-Secret-Token": "s3cret-webhook-token"},
        )
    assert response.status_code == 200


async def test_a_file_link_serves_the_file_until_it_expires(webhook, clock):
    link = await webhook.files.share("bao-cao.docx", b"PK docx bytes", "application/octet-stream")
    async with httpx.AsyncClient() as http:
        served = await http.get(link.url)
        clock.advance(hours=24, seconds=1)
        expired = await http.get(link.url)
    assert (served.status_code, served.content) == (200, b"PK docx bytes")
    assert "bao-cao.docx" in served.headers["Content-Disposition"]
    assert expired.status_code == 404


async def test_a_guessed_file_link_finds_nothing(webhook):
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{webhook.port}/zalo-files/guessed-token")
    assert response.status_code == 404


async def test_health_is_served_on_the_webhook_port(webhook):
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{webhook.port}/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


# -- Official Account --------------------------------------------------------------------------------


async def test_a_follower_message_is_answered_quoting_it(zalo_oa_api, official_account):
    event = await zalo_oa_api.user_sends("f-1", "/ngonngu en")
    (reply,) = await zalo_oa_api.wait_for_messages("f-1", 1)
    assert (reply.text, reply.reply_to) == (ENGLISH, event["message"]["msg_id"])
    assert zalo_oa_api.webhook_statuses == [200]


async def test_a_forged_oa_event_is_refused_and_not_answered(zalo_oa_api, official_account):
    status = await zalo_oa_api.post_event(zalo_oa_api.event("f-1", "/ngonngu en"), mac="mac=" + "0" * 64)
    assert status == 401
    assert zalo_oa_api.sent == []


async def test_an_oa_event_that_is_no_message_is_acknowledged(zalo_oa_api, official_account):
    event = zalo_oa_api.event("f-1", "")
    event["event_name"] = "follow"
    assert await zalo_oa_api.post_event(event) == 200


async def test_the_oa_token_is_refreshed_when_zalo_rejects_it(zalo_oa_api, official_account, clock):
    zalo_oa_api.expire_access_token()
    await zalo_oa_api.user_sends("f-1", "/ngonngu en")
    (reply,) = await zalo_oa_api.wait_for_messages("f-1", 1)
    assert (reply.text, zalo_oa_api.refreshes) == (ENGLISH, 1)


async def test_the_oa_needs_its_secret_key_to_check_webhook_calls(db, clock):
    env = {"ZALO_OA_APP_ID": APP_ID, "ZALO_OA_APP_SECRET": APP_SECRET}
    with pytest.raises(ZaloSetupError) as caught:
        ZaloRunner(make_app(db, clock, env), official_account=True)
    assert "ZALO_OA_SECRET_KEY" in str(caught.value)


async def test_an_oa_token_that_expired_while_the_bot_was_down_is_renewed_at_start(db, clock, zalo_oa_api):
    env = {
        "ZALO_OA_APP_ID": APP_ID,
        "ZALO_OA_APP_SECRET": APP_SECRET,
        "ZALO_OA_SECRET_KEY": OA_SECRET_KEY,
        "NHACVIEC_SECRET_KEY": SECRET_KEY,
        "ZALO_OA_ACCESS_TOKEN": zalo_oa_api.access_token,
        "ZALO_OA_REFRESH_TOKEN": zalo_oa_api.refresh_token,
    }
    zalo_oa_api.expire_access_token()
    app = make_app(
        db,
        clock,
        env,
        oa_api_base_url=zalo_oa_api.api_base_url,
        oa_oauth_url=zalo_oa_api.oauth_url,
        webhook_port=0,
    )
    runner = ZaloRunner(app, official_account=True)
    await runner.start()
    try:
        renewed = await runner.tokens.current()
    finally:
        await runner.stop()
    assert zalo_oa_api.refreshes == 1
    assert renewed == zalo_oa_api.access_token
