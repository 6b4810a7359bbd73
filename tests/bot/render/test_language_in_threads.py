"""Reports are drawn in worker threads. The language of a message lives in a context variable, which
`loop.run_in_executor` does not carry into the thread (`asyncio.to_thread` does): the renderers take
the language as an argument, so a report drawn on any thread comes in the language asked for."""

from __future__ import annotations

import asyncio
import functools
import io

import docx
import pytest

from bot.i18n import use_language
from bot.render.exports import chart_image, render_summary
from tests.bot.render.conftest import load_sample

EXPECTED_FIRST_PARAGRAPH = {"vi": "BÁO CÁO", "en": "REPORT"}
EXPECTED_CAPTION = {
    "vi": "Tỷ lệ hoàn thành theo đơn vị — Kế hoạch số 45/KH-UBND",
    "en": "Completion by agency — plan 45/KH-UBND",
}
OTHER = {"vi": "en", "en": "vi"}


@pytest.mark.parametrize("language", ["vi", "en"])
async def test_a_report_drawn_on_a_thread_without_the_callers_context_is_in_the_language_asked_for(
    db, language
):
    report = await load_sample(db)
    loop = asyncio.get_running_loop()

    with use_language(OTHER[language]):
        document = await loop.run_in_executor(
            None, functools.partial(render_summary, report.summary, "docx", language=language)
        )
        chart = await loop.run_in_executor(
            None, functools.partial(chart_image, report.summary, language=language)
        )

    paragraphs = [p.text for p in docx.Document(io.BytesIO(document.content)).paragraphs if p.text]
    assert paragraphs[0] == EXPECTED_FIRST_PARAGRAPH[language]
    assert chart.caption == EXPECTED_CAPTION[language]
