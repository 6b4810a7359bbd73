"""The coordinator's report files on Zalo: what arrives instead of a DOCX or XLSX the bot cannot send,
or the file itself where Zalo takes it. Real exports (bot.render.exports) over real HTTP."""

from __future__ import annotations

import io
import zoneinfo

import docx
import httpx
import pytest

from bot.core.messages import Reply
from bot.render.exports import export_summary
from bot.transports.base import Recipient
from bot.transports.zalo.bot_transport import ZaloBotTransport
from tests.bot.zalo.apps import start_official_account, webhook_runner
from tests.factories import make_plan

HANOI = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
LETTERHEAD = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"


@pytest.fixture
async def reports(db, clock):
    async with db.transaction() as session:
        built = await make_plan(session)
        today = clock.now().astimezone(HANOI).date()
        word = await export_summary(session, built.plan.id, "docx", today=today, language="vi")
        sheet = await export_summary(session, built.plan.id, "xlsx", today=today, language="vi")
    return word, sheet


def text_of(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    cells = (cell.text for table in document.tables for row in table.rows for cell in row.cells)
    return "\n".join([*(p.text for p in document.paragraphs), *cells])


async def test_without_links_the_report_arrives_as_its_opening_lines(zalo_bot_api, zalo_client, reports):
    word, _sheet = reports
    await zalo_bot_api.user_sends("chi", "xin chào")  # a Zalo bot writes only to people who wrote first
    await ZaloBotTransport(zalo_client, tz=HANOI).send(
        Recipient("zalo", "chi"), Reply("Báo cáo:", documents=[word])
    )

    digest = zalo_bot_api.texts_to("chi")[1]
    lines = digest.splitlines()
    assert lines[0] == "Kết quả thực hiện Kế hoạch số 87/KH-UBND, từ 1/1/2020 đến 20/6/2020"
    assert lines[1] == (
        f"📄 Zalo không gửi được tệp {word.filename} và nơi đây chưa có đường tải tệp. Tóm tắt nội dung tệp:"
    )
    # Labelled as a summary, with how to get the file itself.
    assert lines[-1] == "Để nhận chính tệp này, hãy yêu cầu qua Telegram hoặc nhờ cán bộ điều phối gửi."
    assert "Kỳ báo cáo: từ 1/1/2020 đến 20/6/2020" in lines
    assert "I. TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ" in lines


async def test_with_links_the_report_is_a_link_to_the_very_file(db, clock, zalo_bot_api, reports):
    word, sheet = reports
    runner = webhook_runner(db, clock, zalo_bot_api, serve_files=True)
    await runner.start()
    try:
        await zalo_bot_api.user_sends("chi", "xin chào")
        await runner.queue.drain()
        await runner.transport.send(Recipient("zalo", "chi"), Reply("Báo cáo:", documents=[word, sheet]))
        links = [
            next(word for word in text.split() if word.startswith("http://"))
            for text in zalo_bot_api.texts_to("chi")
            if "zalo-files" in text
        ]
        async with httpx.AsyncClient() as http:
            files = [await http.get(link) for link in links]
    finally:
        await runner.stop()
    assert [f.status_code for f in files] == [200, 200]
    assert LETTERHEAD in text_of(files[0].content)
    assert files[1].content == sheet.content
    assert files[1].headers["Content-Type"].startswith(sheet.mime_type)


async def test_an_official_account_sends_the_word_report_as_a_file(db, clock, zalo_oa_api, reports):
    word, sheet = reports
    runner = await start_official_account(db, clock, zalo_oa_api)
    try:
        await zalo_oa_api.user_sends("chi", "xin chào")  # opens the reply window
        await runner.queue.drain()
        await runner.transport.send(Recipient("zalo_oa", "chi"), Reply("Báo cáo:", documents=[word, sheet]))
    finally:
        await runner.stop()
    files = [message.file for message in zalo_oa_api.sent if message.file]
    assert [name for name, _content in files] == [word.filename]
    assert LETTERHEAD in text_of(files[0][1])
    assert any(
        text.startswith(f"{sheet.caption}\n📄 Zalo không gửi được tệp {sheet.filename}")
        for text in zalo_oa_api.texts_to("chi")
    )
