"""The Zalo Bot Platform client against the emulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from bot.transports.zalo.client import ZaloApiError, ZaloBotClient, ZaloNetworkError
from tests.emulators.faults import Fault


async def test_get_me_names_the_bot(zalo_client):
    me = await zalo_client.get_me()
    assert (me.account_name, me.display_name) == ("bot.nhacviec", "Bot Nhắc việc")


async def test_get_updates_returns_the_one_message_a_user_sent(zalo_bot_api, zalo_client):
    await zalo_bot_api.user_sends("u-1", "/start abc", name="Trần Thị Bình")
    update = await zalo_client.get_updates(long_poll=0)
    expected = ("message.text.received", "/start abc", "Trần Thị Bình", "u-1")
    message = update["message"]
    assert (
        update["event_name"],
        message["text"],
        message["from"]["display_name"],
        message["chat"]["id"],
    ) == expected


async def test_get_updates_returns_none_when_the_long_poll_ends_empty(zalo_client):
    assert await zalo_client.get_updates(long_poll=0) is None


async def test_each_update_is_handed_out_once(zalo_bot_api, zalo_client):
    await zalo_bot_api.user_sends("u-1", "một")
    await zalo_bot_api.user_sends("u-1", "hai")
    texts = [(await zalo_client.get_updates(long_poll=0))["message"]["text"] for _ in range(2)]
    assert texts == ["một", "hai"]
    assert await zalo_client.get_updates(long_poll=0) is None


async def test_send_message_returns_the_platforms_message_id(zalo_bot_api, zalo_client):
    await zalo_bot_api.user_sends("u-1", "xin chào")
    result = await zalo_client.send_message("u-1", "Chào anh")
    assert zalo_bot_api.sent[-1].message_id == result["message_id"]
    assert zalo_bot_api.texts_to("u-1") == ["Chào anh"]


async def test_a_chat_that_never_wrote_to_the_bot_is_not_found(zalo_client):
    with pytest.raises(ZaloApiError) as caught:
        await zalo_client.send_message("stranger", "Chào")
    assert (caught.value.error_code, "chat not found" in caught.value.description) == (400, True)


async def test_a_rejected_token_never_appears_in_the_error(zalo_bot_api):
    client = ZaloBotClient("999:wrong-token", base_url=zalo_bot_api.base_url, timeout=1.0)
    try:
        with pytest.raises(ZaloApiError) as caught:
            await client.get_me()
    finally:
        await client.aclose()
    assert caught.value.error_code == 401
    assert "wrong-token" not in str(caught.value)


async def test_a_rate_limit_says_how_long_to_wait(zalo_bot_api, zalo_client):
    await zalo_bot_api.user_sends("u-1", "hi")
    zalo_bot_api.faults.add("sendMessage", Fault("rate_limit", retry_after=7))
    with pytest.raises(ZaloApiError) as caught:
        await zalo_client.send_message("u-1", "Chào")
    assert (caught.value.error_code, caught.value.retry_after) == (429, 7.0)


async def test_an_html_error_page_is_reported_with_its_status(zalo_bot_api, zalo_client):
    zalo_bot_api.faults.add("getMe", Fault("bad_gateway_html"))
    with pytest.raises(ZaloApiError) as caught:
        await zalo_client.get_me()
    assert caught.value.error_code == 502


async def test_a_timeout_after_the_request_was_sent_may_have_delivered_it(zalo_bot_api, zalo_client):
    await zalo_bot_api.user_sends("u-1", "hi")
    zalo_bot_api.faults.add("sendMessage", Fault("timeout", deliver=True))
    with pytest.raises(ZaloNetworkError) as caught:
        await zalo_client.send_message("u-1", "Chào")
    assert caught.value.maybe_delivered is True
    assert zalo_bot_api.texts_to("u-1") == ["Chào"]


async def test_a_refused_connection_delivered_nothing():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ZaloBotClient("1:t", base_url=f"http://127.0.0.1:{port}/bot", timeout=1.0)
    try:
        with pytest.raises(ZaloNetworkError) as caught:
            await client.send_message("u-1", "Chào")
    finally:
        await client.aclose()
    assert caught.value.maybe_delivered is False


async def test_set_webhook_rejects_a_short_secret(zalo_client):
    with pytest.raises(ZaloApiError) as caught:
        await zalo_client.set_webhook("https://bot.example.gov.vn/zalo", "short")
    assert caught.value.error_code == 400


async def test_set_webhook_is_reported_by_get_webhook_info(zalo_client):
    await zalo_client.set_webhook("https://bot.example.gov.vn/zalo", "a-long-enough-secret")
    info = await zalo_client.get_webhook_info()
    assert info["url"] == "https://bot.example.gov.vn/zalo"
    await zalo_client.delete_webhook()
    assert (await zalo_client.get_webhook_info())["url"] == ""


async def test_get_updates_is_refused_while_a_webhook_is_set(zalo_client):
    await zalo_client.set_webhook("https://bot.example.gov.vn/zalo", "a-long-enough-secret")
    with pytest.raises(ZaloApiError) as caught:
        await zalo_client.get_updates(long_poll=0)
    assert caught.value.error_code == 409


async def test_chat_action_typing_is_accepted(zalo_bot_api, zalo_client):
    await zalo_bot_api.user_sends("u-1", "hi")
    await zalo_client.send_chat_action("u-1", "typing")
    assert zalo_bot_api.actions == [("u-1", "typing")]
