"""The Zalo Bot Platform as its published API describes it: HTTPS webhooks only, checked once set;
a 403 that is not a block is temporary; pictures named `photo` or `photo_url`; a stop that does not
wait out a 30-second long poll. Over real HTTP against the Bot API emulator."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.messages import Button, Reply
from bot.transports.base import DeliveryError, Recipient
from bot.transports.zalo.runner import ZaloRunner, ZaloSetupError, bot_transport
from bot.transports.zalo.updates import incoming_from_update
from tests.bot.zalo.apps import free_port, make_app
from tests.emulators.faults import Fault

SECRET = "s3cret-webhook-token"


def webhook_app(db, clock, api, url: str):
    return make_app(
        db,
        clock,
        {"ZALO_BOT_TOKEN": api.token, "ZALO_WEBHOOK_SECRET": SECRET},
        api_base_url=api.base_url,
        mode="webhook",
        webhook_port=free_port(),
        webhook_url=url,
    )


@pytest.mark.parametrize(
    "url", ["http://bot.example.gov.vn/zalo", "ftp://bot.example.gov.vn/zalo", "bot.example.gov.vn/zalo"]
)
def test_a_webhook_url_that_is_not_https_is_refused_at_start_up_with_a_clear_message(
    db, clock, zalo_bot_api, url
):
    app = webhook_app(db, clock, zalo_bot_api, url)

    with pytest.raises(ZaloSetupError) as caught:
        ZaloRunner(app, official_account=False)

    assert "[zalo] webhook_url must be an https:// URL" in str(caught.value)
    assert url in str(caught.value)


async def test_a_webhook_zalo_refuses_to_set_stops_start_up_with_a_clear_message(db, clock, zalo_bot_api):
    zalo_bot_api.faults.add("setWebhook", Fault("server_error", status=502))
    port = free_port()
    app = webhook_app(db, clock, zalo_bot_api, f"http://127.0.0.1:{port}/zalo")
    app.config.zalo.webhook_port = port
    runner = ZaloRunner(app, official_account=False)

    with pytest.raises(ZaloSetupError) as caught:
        await runner.start()
    await runner.stop()

    assert str(caught.value).startswith("Zalo refused [zalo] webhook_url")


async def test_the_webhook_is_checked_with_getwebhookinfo_once_set(db, clock, zalo_bot_api):
    port = free_port()
    app = webhook_app(db, clock, zalo_bot_api, f"http://127.0.0.1:{port}/zalo")
    app.config.zalo.webhook_port = port
    runner = ZaloRunner(app, official_account=False)
    await runner.start()
    await runner.stop()

    set_at = zalo_bot_api.calls.index("setWebhook")
    assert zalo_bot_api.calls[set_at + 1] == "getWebhookInfo"


async def test_stopping_cuts_a_30_second_long_poll_short(db, clock, zalo_bot_api):
    app = make_app(
        db, clock, {"ZALO_BOT_TOKEN": zalo_bot_api.token}, api_base_url=zalo_bot_api.base_url, poll_timeout=30
    )
    runner = ZaloRunner(app, official_account=False)
    await runner.start()
    await asyncio.sleep(0.2)  # the first getUpdates is now waiting for news

    # Bounded, not measured: a stop that waited for the poll would take 30 seconds.
    await asyncio.wait_for(runner.stop(), 3)

    assert runner._poller.done()


@pytest.fixture
async def transport(db, clock, zalo_bot_api):
    app = make_app(db, clock, {"ZALO_BOT_TOKEN": zalo_bot_api.token}, api_base_url=zalo_bot_api.base_url)
    made = bot_transport(app)
    await zalo_bot_api.user_sends("u-1", "xin chào")
    yield made
    await made.client.aclose()


async def test_a_403_that_is_not_a_block_is_temporary(zalo_bot_api, transport):
    zalo_bot_api.faults.add("sendMessage", Fault("server_error", status=403))

    with pytest.raises(DeliveryError) as caught:
        await transport.send(Recipient("zalo", "u-1"), Reply("Xin chào"))

    assert caught.value.permanent is False


async def test_a_403_saying_the_user_blocked_the_bot_is_permanent(zalo_bot_api, transport):
    zalo_bot_api.block("u-1")

    with pytest.raises(DeliveryError) as caught:
        await transport.send(Recipient("zalo", "u-1"), Reply("Xin chào"))

    assert caught.value.permanent is True


async def test_the_numbers_of_numbered_choices_are_bold_by_text_styles_and_user_text_stays_as_typed(
    zalo_bot_api, transport
):
    buttons = [[Button("🙂 Sở *Du lịch* <b>", "a")], [Button("Sở TT&TT", "b")]]

    await transport.send(Recipient("zalo", "u-1"), Reply("Chọn cơ quan **của bạn**:", buttons=buttons))

    (sent,) = zalo_bot_api.texts_sent_to("u-1")
    assert sent.text == "Chọn cơ quan **của bạn**:\n\n1. 🙂 Sở *Du lịch* <b>\n2. Sở TT&TT"
    assert sent.parse_mode is None
    assert sent.styled("b") == ["1.", "2."]


async def test_a_reply_without_choices_is_sent_without_styles(zalo_bot_api, transport):
    await transport.send(Recipient("zalo", "u-1"), Reply("1. không phải lựa chọn"))

    (sent,) = zalo_bot_api.texts_sent_to("u-1")
    assert sent.styles == []


def image_update(**message) -> dict:
    return {
        "event_name": "message.image.received",
        "message": {
            "from": {"id": "u-1", "display_name": "Lan"},
            "chat": {"id": "u-1", "chat_type": "PRIVATE"},
            "message_id": "m-1",
            "caption": "Biên bản họp",
            **message,
        },
    }


@pytest.mark.parametrize("field", ["photo", "photo_url"])
def test_a_picture_is_taken_whether_the_update_names_it_photo_or_photo_url(field):
    incoming = incoming_from_update(image_update(**{field: "https://zalo.example/p/1.jpg"}))

    assert incoming.attachment.file_id == "https://zalo.example/p/1.jpg"
    assert incoming.text == "Biên bản họp"


# -- texts only for what the platform allows -------------------------------------------------------


async def test_on_zalo_a_saved_update_does_not_suggest_editing_the_message(zalo, lan):
    (saved,) = await zalo.say(lan, "capnhat 1 xong Đã phát sóng 12 chương trình")

    assert saved.splitlines()[-1] == "Muốn sửa, hãy gửi cập nhật mới."


@pytest.mark.parametrize("zalo", ["polling"], indirect=True)
async def test_the_zalo_bot_asks_for_a_photo_not_a_file_as_evidence(zalo, lan):
    await zalo.say(lan, "/capnhat")
    await zalo.say(lan, "2")
    await zalo.say(lan, "3")
    (question,) = await zalo.say(lan, "Đã lắp 40 biển")

    assert (
        question.splitlines()[0]
        == "Có minh chứng không? Gửi ảnh hoặc đường liên kết, hoặc chọn “Không có minh chứng”."
    )


@pytest.mark.parametrize("zalo", ["official_account"], indirect=True)
async def test_the_official_account_still_asks_for_a_file_as_evidence(zalo, lan):
    await zalo.say(lan, "/capnhat")
    await zalo.say(lan, "2")
    await zalo.say(lan, "3")
    (question,) = await zalo.say(lan, "Đã lắp 40 biển")

    assert question.splitlines()[0].startswith("Có minh chứng không? Gửi tệp")
