"""Telegram updates as the core sees them, from updates PTB fetched from the emulator."""

from __future__ import annotations

import copy

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.core.messages import Attachment, Incoming
from bot.transports.telegram.render import CallbackData
from bot.transports.telegram.updates import plain_message, strip_bot_mention, to_incoming


async def fetch_incoming(ptb_bot, callbacks: CallbackData | None = None) -> list[Incoming | None]:
    updates = await ptb_bot.get_updates(timeout=0)
    await ptb_bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    return [
        to_incoming(u, bot_username="nhacviec_bot", callbacks=callbacks or CallbackData()) for u in updates
    ]


async def test_a_private_message_names_chat_user_message_and_update(telegram, ptb_bot):
    lan = telegram.user(1001, "Lan", last_name="Nguyễn", language_code="en")
    update = await telegram.send_text(lan, "/capnhat 3 hoàn thành")

    (incoming,) = await fetch_incoming(ptb_bot)

    expected = Incoming(
        platform="telegram",
        chat_id="1001",
        user_id="1001",
        user_name="Lan Nguyễn",
        text="/capnhat 3 hoàn thành",
        message_id=str(update["message"]["message_id"]),
        update_key=str(update["update_id"]),
        language_hint="en",
    )
    assert incoming == expected


async def test_an_edited_message_keeps_the_original_message_id(telegram, ptb_bot):
    lan = telegram.user(1001, "Lan")
    original = await telegram.send_text(lan, "/capnhat 3 đang thực hiện")
    await telegram.edit_text(original, "/capnhat 3 hoàn thành")

    first, edit = await fetch_incoming(ptb_bot)

    assert (edit.edited, edit.text) == (True, "/capnhat 3 hoàn thành")
    assert edit.message_id == first.message_id
    assert edit.update_key != first.update_key


async def test_a_button_tap_carries_the_buttons_data_and_message(telegram, ptb_bot):
    lan = telegram.user(1001, "Lan")
    callbacks = CallbackData()
    long_data = "z" * 90
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Hoàn thành", callback_data=callbacks.encode(long_data))]]
    )
    await ptb_bot.send_message(1001, "Trạng thái?", reply_markup=keyboard)
    question = telegram.sent_to(1001)[0]
    await telegram.tap(lan, question, "Hoàn thành")

    (incoming,) = await fetch_incoming(ptb_bot, callbacks)

    assert incoming.callback_data == long_data
    assert incoming.message_id == str(question.message_id)
    assert (incoming.chat_id, incoming.user_id, incoming.text) == ("1001", "1001", "")


async def test_a_group_command_addressed_to_this_bot_loses_the_bot_name(telegram, ptb_bot):
    lan = telegram.user(1001, "Lan")
    group = telegram.group(-5001, "Sở Du lịch — đầu mối")
    await telegram.send_text(lan, "/nhiemvu@NhacViec_Bot", chat=group)
    await telegram.send_text(lan, "/nhiemvu@other_bot", chat=group)

    ours, theirs = await fetch_incoming(ptb_bot)

    assert (ours.text, ours.chat_id, ours.user_id, ours.is_group) == ("/nhiemvu", "-5001", "1001", True)
    assert theirs is None


async def test_a_document_becomes_an_attachment_with_its_caption_as_text(telegram, ptb_bot):
    lan = telegram.user(1001, "Lan")
    await telegram.send_document(lan, "bien-ban.pdf", b"%PDF-1.4 evidence", caption="minh chứng nhiệm vụ 3")

    (incoming,) = await fetch_incoming(ptb_bot)

    assert incoming.text == "minh chứng nhiệm vụ 3"
    assert incoming.attachment == Attachment(
        incoming.attachment.file_id, "bien-ban.pdf", "application/pdf", len(b"%PDF-1.4 evidence")
    )
    assert incoming.attachment.file_id in telegram.files


async def test_a_sticker_has_nothing_for_the_core(telegram, ptb_bot):
    lan = telegram.user(1001, "Lan")
    await telegram.inject_update(
        {
            "message": {
                "message_id": 9,
                "date": 1591000000,
                "chat": {"id": 1001, "type": "private", "first_name": "Lan"},
                "from": lan.to_api(),
                "sticker": {
                    "file_id": "s1",
                    "file_unique_id": "u1",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                },
            }
        }
    )

    assert await fetch_incoming(ptb_bot) == [None]


def test_only_commands_naming_another_bot_are_ignored():
    assert strip_bot_mention("/tonghop@nhacviec_bot tuần này", "@nhacviec_bot") == "/tonghop tuần này"
    assert strip_bot_mention("email ai@nhacviec_bot.vn", "nhacviec_bot") == "email ai@nhacviec_bot.vn"
    assert strip_bot_mention("/tonghop@khac_bot", "nhacviec_bot") is None


async def emulated_updates(telegram, ptb_bot) -> dict[str, dict]:
    """Updates as the emulator sends them, by what the user did."""
    telegram.group_privacy = False
    lan = telegram.user(1001, "Lan", last_name="Nguyễn", language_code="en")
    minh = telegram.user(1002, "Minh")
    group = telegram.group(-1001, "Tổ công tác")
    forum = telegram.group(-1002, "Diễn đàn", forum=True)
    topic = telegram.topic(forum, "Báo cáo quý")
    updates = {
        "private text": await telegram.send_text(lan, "/capnhat 3 hoàn thành"),
        "private words": await telegram.send_text(minh, "đã xong phần việc được giao"),
        "group text": await telegram.send_text(lan, "báo cáo tiến độ", chat=group),
        "group command to us": await telegram.send_text(lan, "/tonghop@nhacviec_bot quý này", chat=group),
        "group command to another bot": await telegram.send_text(lan, "/tonghop@khac_bot", chat=group),
        "topic text": await telegram.send_text(minh, "/nhiemvu", chat=forum, topic=topic),
        "document": await telegram.send_document(lan, "bao-cao.pdf", b"%PDF-1.4", caption="/capnhat 3"),
        "contact": await telegram.send_contact(lan, "0912345678"),
    }
    await ptb_bot.send_message(1001, "Trạng thái?")
    question = telegram.sent_to(1001)[-1]
    updates["group one-line update"] = await telegram.send_text(lan, "/capnhat 2 đang làm", chat=group)
    updates["answer quoting the bot"] = await telegram.send_text(lan, "2", reply_to=question)
    updates["edited"] = await telegram.edit_text(updates["private text"], "/capnhat 3 đang thực hiện")
    return updates


PLAIN = {
    "private text",
    "private words",
    "group text",
    "group command to us",
    "topic text",
    "group one-line update",
    "answer quoting the bot",
}


async def test_a_plain_message_read_from_its_json_is_what_ptbs_update_gives(telegram, ptb_bot):
    updates = await emulated_updates(telegram, ptb_bot)

    for what, data in updates.items():
        read = plain_message(copy.deepcopy(data), bot_username="nhacviec_bot")
        through_ptb = to_incoming(
            Update.de_json(data, ptb_bot), bot_username="nhacviec_bot", callbacks=CallbackData()
        )
        if what in PLAIN:
            assert read is not None, what
            assert read.incoming == through_ptb, what
            assert read.chat == data["message"]["chat"]["id"], what
        else:
            # Left to PTB's Update: an attachment, a contact card, an edit, another bot's command.
            assert read is None, what
    assert plain_message(updates["topic text"], bot_username="nhacviec_bot").incoming.chat_id.count("/") == 1


def _text_update(**message_changes) -> dict:
    message = {
        "message_id": 7,
        "date": 1591000000,
        "chat": {"id": 1001, "type": "private", "first_name": "Lan"},
        "from": {"id": 1001, "is_bot": False, "first_name": "Lan"},
        "text": "/nhiemvu",
    }
    message.update(message_changes)
    return {"update_id": 40, "message": {k: v for k, v in message.items() if v is not None}}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            _text_update(**{"from": {"id": 9, "is_bot": True, "first_name": "Bot"}}), id="from a bot"
        ),
        pytest.param(_text_update(**{"from": {"id": 9, "first_name": "X"}}), id="no is_bot"),
        pytest.param(_text_update(**{"from": {"id": 9, "is_bot": False}}), id="no first name"),
        pytest.param(_text_update(**{"from": None}), id="no sender"),
        pytest.param(_text_update(date=None), id="no date"),
        pytest.param(_text_update(chat={"id": 1001}), id="chat without type"),
        pytest.param(_text_update(text="   "), id="blank text"),
        pytest.param(_text_update(text=None, caption="/nhiemvu"), id="caption only"),
        pytest.param(_text_update(sender_chat={"id": -100, "type": "channel"}), id="sent as a channel"),
        pytest.param(_text_update(migrate_to_chat_id=-1009), id="group migrated"),
        pytest.param(_text_update(has_protected_content=True), id="a field not read here"),
        pytest.param({**_text_update(), "edited_message": _text_update()["message"]}, id="two kinds at once"),
    ],
)
def test_anything_but_a_persons_plain_text_message_is_left_to_ptb(data):
    assert plain_message(data, bot_username="nhacviec_bot") is None
