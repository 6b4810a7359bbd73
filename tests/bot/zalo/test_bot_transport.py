"""The Zalo Bot Platform transport: core replies as the user sees them, errors as the sender needs them."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo

import docx
import pytest

from bot.core.messages import Button, Document, Image, Reply
from bot.transports.base import DeliveryError, Recipient
from bot.transports.zalo.bot_transport import ZaloBotTransport
from bot.transports.zalo.documents import DOCX
from bot.transports.zalo.files import SharedFiles
from tests.emulators.faults import Fault
from tests.emulators.zalo_bot import utf16_length

HANOI = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
USER = Recipient(platform="zalo", chat_id="u-1", language="vi")


@pytest.fixture
async def transport(zalo_bot_api, zalo_client):
    await zalo_bot_api.user_sends("u-1", "xin chào")  # a bot may only write to people who wrote first
    return ZaloBotTransport(zalo_client, tz=HANOI)


def a_docx(*paragraphs: str) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


async def test_a_reply_reaches_the_chat_and_returns_its_message_id(zalo_bot_api, transport):
    message_id = await transport.send(USER, Reply("Đã ghi nhận cập nhật."))
    assert zalo_bot_api.texts_to("u-1") == ["Đã ghi nhận cập nhật."]
    assert message_id == zalo_bot_api.sent[-1].message_id


async def test_buttons_become_numbered_choices(zalo_bot_api, transport):
    reply = Reply(
        "Chọn trạng thái:",
        buttons=[[Button("Đang thực hiện", "a"), Button("Hoàn thành", "b")], [Button("Vướng mắc", "c")]],
    )
    await transport.send(USER, reply)
    text = zalo_bot_api.texts_to("u-1")[0]
    expected = ["1. Đang thực hiện", "2. Hoàn thành", "3. Vướng mắc"]
    assert [line for line in text.splitlines() if line[:1].isdigit()] == expected
    assert text.startswith("Chọn trạng thái:")


async def test_a_long_text_is_split_below_2000_characters_at_line_boundaries(zalo_bot_api, transport):
    lines = [f"{n}. Sở Thông tin và Truyền thông — nhiệm vụ số {n} đang thực hiện" for n in range(1, 120)]
    await transport.send(USER, Reply("\n".join(lines)))
    texts = zalo_bot_api.texts_to("u-1")
    assert len(texts) > 1
    assert all(utf16_length(text) <= 2000 for text in texts)
    assert "\n".join(texts).splitlines() == lines


async def test_emoji_count_twice_towards_the_limit(zalo_bot_api, transport):
    text = "\n".join(["📌 nhắc việc"] * 300)  # 3,299 code points, more UTF-16 units
    await transport.send(USER, Reply(text))
    texts = zalo_bot_api.texts_to("u-1")
    assert all(utf16_length(text) <= 2000 for text in texts)
    assert sum(t.count("📌") for t in texts) == 300


async def test_a_document_without_links_is_summarised_in_text(zalo_bot_api, transport):
    content = a_docx("BÁO CÁO KẾT QUẢ THỰC HIỆN", "Kế hoạch 87/KH-UBND", "Số đơn vị đã báo cáo: 9/12")
    reply = Reply("Báo cáo đã sẵn sàng.", documents=[Document("bao-cao.docx", content, DOCX)])
    await transport.send(USER, reply)
    texts = zalo_bot_api.texts_to("u-1")
    assert texts[0] == "Báo cáo đã sẵn sàng."
    assert "bao-cao.docx" in texts[1]
    assert "Số đơn vị đã báo cáo: 9/12" in texts[1]


async def test_an_unreadable_document_is_named_with_a_way_to_get_it(zalo_bot_api, transport):
    reply = Reply("", documents=[Document("tong-hop.xlsx", b"not a workbook", "application/vnd.ms-excel")])
    await transport.send(USER, reply)
    assert zalo_bot_api.texts_to("u-1") == [
        "📄 Zalo không gửi được tệp tong-hop.xlsx. Hãy nhận tệp qua Telegram, hoặc nhờ điều phối viên gửi."
    ]


async def test_a_document_becomes_a_link_to_the_file_when_links_are_served(
    zalo_bot_api, zalo_client, db, clock
):
    files = SharedFiles(
        db, clock, public_base_url="https://bot.example.gov.vn", lifetime=dt.timedelta(hours=24)
    )
    await zalo_bot_api.user_sends("u-1", "xin chào")
    transport = ZaloBotTransport(zalo_client, tz=HANOI, files=files)
    content = a_docx("BÁO CÁO")
    await transport.send(USER, Reply("Báo cáo:", documents=[Document("bao-cao.docx", content, DOCX)]))
    text = zalo_bot_api.texts_to("u-1")[1]
    url = next(word for word in text.split() if word.startswith("https://"))
    shared = await files.fetch(url.rsplit("/", 1)[1])
    assert (shared.filename, shared.content) == ("bao-cao.docx", content)
    assert "08:00 2/6/2020" in text  # 24 hours after 08:00 on 1 June, Hanoi time


async def test_an_image_is_summarised_in_text_when_links_are_not_served(zalo_bot_api, transport):
    await transport.send(USER, Reply("Biểu đồ:", images=[Image("chart.png", b"\x89PNG", "Tiến độ quý II")]))
    assert zalo_bot_api.texts_to("u-1")[1] == "(Không hiển thị được hình ảnh trên Zalo: Tiến độ quý II)"


async def test_a_user_who_blocked_the_bot_is_a_permanent_failure(zalo_bot_api, transport):
    zalo_bot_api.block("u-1")
    with pytest.raises(DeliveryError) as caught:
        await transport.send(USER, Reply("Nhắc việc"))
    assert (caught.value.permanent, caught.value.channel_only) == (True, False)


async def test_a_chat_that_never_wrote_is_a_permanent_failure(transport):
    with pytest.raises(DeliveryError) as caught:
        await transport.send(Recipient("zalo", "stranger"), Reply("Nhắc việc"))
    assert caught.value.permanent is True


async def test_a_rate_limit_is_temporary_and_says_when_to_retry(zalo_bot_api, transport):
    zalo_bot_api.faults.add("sendMessage", Fault("rate_limit", retry_after=12))
    with pytest.raises(DeliveryError) as caught:
        await transport.send(USER, Reply("Nhắc việc"))
    assert (caught.value.permanent, caught.value.retry_after) == (False, 12.0)


async def test_a_server_error_is_temporary(zalo_bot_api, transport):
    zalo_bot_api.faults.add("sendMessage", Fault("server_error", status=502))
    with pytest.raises(DeliveryError) as caught:
        await transport.send(USER, Reply("Nhắc việc"))
    assert (caught.value.permanent, caught.value.outcome_unknown) == (False, False)


async def test_a_rejected_bot_token_is_not_blamed_on_the_member(zalo_bot_api, transport):
    zalo_bot_api.faults.add("sendMessage", Fault("unauthorized"))
    with pytest.raises(DeliveryError) as caught:
        await transport.send(USER, Reply("Nhắc việc"))
    assert caught.value.permanent is False


async def test_a_timeout_after_delivery_leaves_the_outcome_unknown(zalo_bot_api, transport):
    zalo_bot_api.faults.add("sendMessage", Fault("timeout", deliver=True))
    with pytest.raises(DeliveryError) as caught:
        await transport.send(USER, Reply("Nhắc việc"))
    assert (caught.value.permanent, caught.value.outcome_unknown) == (False, True)


async def test_a_failure_after_the_first_part_went_out_leaves_the_outcome_unknown(zalo_bot_api, transport):
    lines = [f"Dòng {n} " + "x" * 60 for n in range(60)]  # two messages' worth
    zalo_bot_api.faults.add("sendMessage", Fault("server_error"), after=1)
    with pytest.raises(DeliveryError) as caught:
        await transport.send(USER, Reply("\n".join(lines)))
    assert len(zalo_bot_api.texts_to("u-1")) == 1
    assert (caught.value.permanent, caught.value.outcome_unknown) == (False, True)
