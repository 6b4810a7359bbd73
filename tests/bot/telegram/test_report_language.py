"""A coordinator's /xuat docx on Telegram is written in the coordinator's language (the one stored
with their registration), whatever language their Telegram app runs in."""

from __future__ import annotations

import io

import docx
import pytest

from storage.models.people import COORDINATOR
from tests.factories import make_member, make_plan

HA = 1001

EXPECTED = {
    "vi": (
        "Kế hoạch 87/KH-UBND, kỳ báo cáo hạn Thứ Bảy, 20/6/2020",
        ["BÁO CÁO", "I. TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ", "II. KẾT QUẢ THỰC HIỆN CỦA CÁC ĐƠN VỊ"],
    ),
    "en": (
        "Plan 87/KH-UBND, reporting cycle ending Saturday, 20 June 2020",
        ["REPORT", "I. REPORTING BY THE AGENCIES", "II. RESULTS BY AGENCY"],
    ),
}
OTHER = {"vi": "en", "en": "vi"}


@pytest.mark.parametrize("language", ["vi", "en"])
async def test_the_word_report_comes_in_the_coordinators_language(telegram, start_bot, sqlite_db, language):
    await start_bot()
    async with sqlite_db.transaction() as session:
        await make_plan(session)
        await make_member(
            session, "Hà", role=COORDINATOR, platform="telegram", user_id=str(HA), language=language
        )
    ha = telegram.user(HA, "Hà", language_code=OTHER[language])

    await telegram.send_text(ha, "/xuat docx")
    counts, sent = await telegram.wait_for_messages(HA, 2, within=20)
    paragraphs = [p.text for p in docx.Document(io.BytesIO(sent.document.content)).paragraphs]

    expected_line, expected_headings = EXPECTED[language]
    assert counts.text.startswith(expected_line)
    assert [p for p in paragraphs if p in expected_headings] == expected_headings
