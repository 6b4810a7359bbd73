"""The Telegram transport, over real HTTP against the emulator: what users see, and how failures
are reported to the reminder engine."""

from __future__ import annotations

import io
import struct
import zlib

import docx
import pytest
from telegram.ext import Application

from bot.core.messages import Button, Document, Image, Reply
from bot.render.exports import export_summary
from bot.transports.base import DeliveryError, Recipient
from bot.transports.telegram.render import MAX_TEXT, CallbackData, utf16_len
from bot.transports.telegram.runner import build_application
from bot.transports.telegram.transport import TelegramTransport
from tests.bot.telegram.conftest import telegram_config
from tests.factories import make_plan

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
async def application(telegram) -> Application:
    application = build_application(telegram_config(telegram), telegram.token)
    async with application:
        yield application


@pytest.fixture
def transport(application) -> TelegramTransport:
    return TelegramTransport(application.bot)


@pytest.fixture
def lan(telegram):
    return telegram.user(1001, "Lan")


def to(user) -> Recipient:
    return Recipient("telegram", str(user.id), "vi")


async def test_user_typed_markup_is_shown_literally(telegram, transport, lan):
    note = 'Đã gửi <b>công văn</b> số 12 & "phụ lục" <script>'

    message_id = await transport.send(to(lan), Reply(f"Ghi chú: {note}"))

    sent = telegram.sent_to(lan.id)[0]
    assert sent.text == f"Ghi chú: {note}"
    assert sent.entities == []
    assert sent.parse_mode == "HTML"
    assert message_id == str(sent.message_id)


async def test_a_long_text_is_split_at_line_boundaries_with_buttons_under_the_last_part(
    telegram, transport, lan
):
    lines = [f"{n}. Sở Văn hóa và Thể thao — nhiệm vụ số {n}: đang thực hiện" for n in range(1, 301)]
    reply = Reply("\n".join(lines), buttons=[[Button("Trang sau", "k3Yp0aQ1rT7vW9xZ")]])

    first_id = await transport.send(to(lan), reply)

    sent = telegram.sent_to(lan.id)
    assert len(sent) > 1
    assert all(utf16_len(m.text) <= MAX_TEXT for m in sent)
    assert "\n".join(m.text for m in sent).split("\n") == lines
    assert [m.buttons for m in sent[:-1]] == [[]] * (len(sent) - 1)
    assert sent[-1].buttons == [[{"text": "Trang sau", "callback_data": "k3Yp0aQ1rT7vW9xZ"}]]
    assert first_id == str(sent[0].message_id)


async def test_characters_outside_the_bmp_count_twice_towards_the_limit(telegram, transport, lan):
    text = "\n".join(["✅🎉" * 50] * 60)  # 6,000 characters, 9,000 UTF-16 units

    await transport.send(to(lan), Reply(text))

    sent = telegram.sent_to(lan.id)
    assert len(sent) >= 3
    assert "\n".join(m.text for m in sent) == text


async def test_button_data_longer_than_64_bytes_is_kept_server_side(telegram, transport, lan):
    long_data = "approve:" + "x" * 80
    await transport.send(
        to(lan), Reply("Duyệt?", buttons=[[Button("Duyệt", long_data), Button("Từ chối", "r1")]])
    )
    sent = telegram.sent_to(lan.id)[0]

    on_the_wire = sent.button("Duyệt")["callback_data"]

    assert len(on_the_wire.encode()) <= 64
    assert transport.callbacks.decode(on_the_wire) == long_data
    assert sent.button("Từ chối")["callback_data"] == "r1"


async def test_documents_go_by_send_document_with_an_escaped_caption(telegram, transport, lan):
    report = Document("bao-cao-20-6-2020.docx", b"PK\x03\x04 docx bytes", DOCX, caption="Báo cáo <nháp>")

    await transport.send(to(lan), Reply("Báo cáo kỳ 20/6/2020:", documents=[report]))

    text, document = telegram.sent_to(lan.id)
    assert text.text == "Báo cáo kỳ 20/6/2020:"
    assert document.method == "sendDocument"
    assert document.document.filename == "bao-cao-20-6-2020.docx"
    assert document.document.content == b"PK\x03\x04 docx bytes"
    assert document.document.mime_type == DOCX
    assert document.text == "Báo cáo <nháp>"


async def test_a_caption_too_long_for_telegram_is_sent_as_a_message_before_the_file(telegram, transport, lan):
    caption = "Ghi chú dài. " * 100  # 1,300 characters, over the 1,024 a caption may hold
    report = Document("bao-cao.xlsx", b"PK xlsx", "application/vnd.ms-excel", caption=caption)

    await transport.send(to(lan), Reply("", documents=[report]))

    note, document = telegram.sent_to(lan.id)
    assert note.text == caption.strip()
    assert (document.method, document.text) == ("sendDocument", "")


async def test_images_go_by_send_photo(telegram, transport, lan):
    await transport.send(to(lan), Reply("", images=[Image("tien-do.png", tiny_png(), caption="Tiến độ")]))

    photo = telegram.sent_to(lan.id)[0]
    assert photo.method == "sendPhoto"
    assert (photo.photo.width, photo.photo.height) == (3, 2)
    assert photo.text == "Tiến độ"


async def test_a_user_who_blocked_the_bot_is_a_permanent_failure(telegram, transport, lan):
    telegram.block(lan)

    with pytest.raises(DeliveryError) as failed:
        await transport.send(to(lan), Reply("Nhắc việc"))

    assert failed.value.permanent is True
    assert failed.value.channel_only is False
    assert "bot was blocked by the user" in str(failed.value)


async def test_a_chat_that_does_not_exist_is_a_permanent_failure(transport):
    with pytest.raises(DeliveryError) as failed:
        await transport.send(Recipient("telegram", "987654", "vi"), Reply("Nhắc việc"))

    assert failed.value.permanent is True
    assert "chat not found" in str(failed.value).lower()


async def test_a_rate_limit_reports_when_to_retry_without_waiting(telegram, transport, lan):
    telegram.faults.next(1, "retry_after", retry_after=17)

    with pytest.raises(DeliveryError) as failed:
        await transport.send(to(lan), Reply("Nhắc việc"))

    assert (failed.value.permanent, failed.value.retry_after) == (False, 17.0)
    assert telegram.sent_to(lan.id) == []


async def test_a_token_telegram_refuses_keeps_the_message_for_later_and_says_so(telegram, transport, lan):
    # A revoked token: our configuration, not the member's chat, so nothing is given up.
    telegram.faults.next(1, "unauthorized")

    with pytest.raises(DeliveryError) as failed:
        await transport.send(to(lan), Reply("Nhắc việc"))

    assert (failed.value.permanent, failed.value.channel_only) == (False, False)
    assert "unauthorized" in str(failed.value).lower()
    assert "endpoint" not in str(failed.value).lower()
    assert telegram.sent_to(lan.id) == []


@pytest.mark.parametrize("kind", ["server_error", "bad_gateway"])
async def test_a_server_error_is_temporary_and_known_not_sent(telegram, transport, lan, kind):
    telegram.faults.next(1, kind)

    with pytest.raises(DeliveryError) as failed:
        await transport.send(to(lan), Reply("Nhắc việc"))

    assert (failed.value.permanent, failed.value.outcome_unknown) == (False, False)


async def test_a_timeout_after_the_request_left_is_an_unknown_outcome(telegram, lan):
    telegram.faults.next(1, "timeout", delay=1.0, process=True)
    application = build_application(telegram_config(telegram, request_timeout=0.3), telegram.token)

    async with application:
        with pytest.raises(DeliveryError) as failed:
            await TelegramTransport(application.bot).send(to(lan), Reply("Nhắc việc"))

    assert (failed.value.permanent, failed.value.outcome_unknown) == (False, True)
    # The emulator did deliver it: exactly the case the engine's policy must allow for.
    assert [m.text for m in telegram.sent_to(lan.id)] == ["Nhắc việc"]


async def test_an_unreachable_server_is_temporary_and_known_not_sent(telegram, lan):
    application = build_application(telegram_config(telegram), telegram.token)
    async with application:
        # No kept-alive connection from start-up: one the server closes a moment before the call is
        # a race of its own, which is reported as possibly sent (a reminder may come twice, never lost).
        await application.bot.request.shutdown()
        await application.bot.request.initialize()
        await telegram.stop()
        with pytest.raises(DeliveryError) as failed:
            await TelegramTransport(application.bot).send(to(lan), Reply("Nhắc việc"))

    assert (failed.value.permanent, failed.value.outcome_unknown) == (False, False)


async def test_a_message_telegram_refuses_closes_the_channel_for_it_without_blaming_the_member(
    telegram, transport, lan
):
    telegram.faults.next(1, "bad_request", detail="message is too long")

    with pytest.raises(DeliveryError) as failed:
        await transport.send(to(lan), Reply("Nhắc việc"))

    assert (failed.value.permanent, failed.value.channel_only) == (True, True)


async def test_a_reply_with_only_buttons_still_shows_them(telegram, transport, lan):
    await transport.send(to(lan), Reply("", buttons=[[Button("Tiếp", "n1")]]))

    sent = telegram.sent_to(lan.id)[0]
    assert sent.button_labels == ["Tiếp"]


def test_callback_data_within_64_bytes_passes_unchanged():
    callbacks = CallbackData()

    assert callbacks.encode("k3Yp0aQ1rT7vW9xZ") == "k3Yp0aQ1rT7vW9xZ"
    assert callbacks.decode("k3Yp0aQ1rT7vW9xZ") == "k3Yp0aQ1rT7vW9xZ"


async def test_a_docx_report_arrives_as_a_document_word_can_open(telegram, transport, lan, sqlite_db, clock):
    async with sqlite_db.transaction() as session:
        built = await make_plan(session)
        report = await export_summary(session, built.plan.id, "docx", today=clock.now().date(), language="vi")

    await transport.send(to(lan), Reply("Báo cáo tổng hợp:", documents=[report]))

    _intro, sent = telegram.sent_to(lan.id)
    document = docx.Document(io.BytesIO(sent.document.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert sent.method == "sendDocument"
    assert sent.document.filename.endswith(".docx")
    assert sent.document.mime_type == DOCX
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text + "\n".join(
        cell.text for table in document.tables for row in table.rows for cell in row.cells
    )


async def test_a_group_upgraded_to_a_supergroup_names_its_new_id(telegram, transport, lan):
    group = telegram.group(-5001, "Sở Du lịch")
    supergroup = await telegram.upgrade_group(group, by=lan)

    with pytest.raises(DeliveryError) as failed:
        await transport.send(Recipient("telegram", "-5001", "vi"), Reply("Nhắc việc"))

    assert failed.value.permanent is True
    assert f"new chat id {supergroup.id}" in str(failed.value)
