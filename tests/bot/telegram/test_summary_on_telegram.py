"""/tonghop on Telegram, end to end over real HTTP: the summary with its buttons, the completion chart
as a photo, and the report file one tap away."""

from __future__ import annotations

import io

import docx
import pytest
from PIL import Image as PillowImage

from storage.models.people import COORDINATOR
from tests.factories import make_member, make_plan

pytestmark = pytest.mark.parametrize("mode", ["polling", "webhook"])

HA = 1001  # the coordinator's Telegram user id


async def test_the_summary_arrives_with_the_chart_as_a_photo_and_its_docx_button_sends_the_report(
    telegram, start_bot, sqlite_db, mode
):
    await start_bot(mode)
    async with sqlite_db.transaction() as session:
        await make_plan(session)
        await make_member(
            session, "Hà", role=COORDINATOR, platform="telegram", user_id=str(HA), language="en"
        )
    ha = telegram.user(HA, "Hà", language_code="en")

    await telegram.send_text(ha, "/tonghop")
    summary, chart = await telegram.wait_for_messages(HA, 2, within=20)
    picture = PillowImage.open(io.BytesIO(chart.photo.content))

    assert summary.method == "sendMessage"
    assert summary.text.startswith("Summary of plan 87/KH-UBND")
    assert summary.button_labels == ["📄 Report (DOCX)", "📊 Spreadsheet (XLSX)", "🏢 Open an agency"]
    assert chart.method == "sendPhoto"
    assert chart.text == "Completion by agency — plan 87/KH-UBND"
    assert picture.format == "PNG" and picture.width >= 800

    await telegram.tap(ha, summary, "📄 Report (DOCX)")
    (sent,) = await telegram.next_messages(HA, after=3, within=20)  # the counts line, then the file
    report = docx.Document(io.BytesIO(sent.document.content))

    assert sent.method == "sendDocument"
    assert sent.document.filename == "bao-cao-87-KH-UBND-2020-06-20.docx"
    assert "REPORT" in [p.text for p in report.paragraphs]
