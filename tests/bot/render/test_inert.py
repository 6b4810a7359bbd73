"""The writers that make user text inert, one per format (bot.render.inert)."""

from __future__ import annotations

from bot.render.inert import csv_cell, markdown_text, readable, xml_text


def test_an_ordinary_cell_keeps_its_text_and_numbers_stay_numbers():
    assert csv_cell("Đã phát hành 2.000 tờ gấp") == "Đã phát hành 2.000 tờ gấp"
    assert csv_cell(42) == 42
    assert csv_cell("") == ""


def test_readable_keeps_what_a_person_reads_and_drops_the_rest():
    expected = "Sở Du lịch:\tđã xong\nphần 2 ✅ 𝐀"
    assert readable("Sở Du lịch:\tđã\u0001 xong\nphần\ufffe 2 ✅ \U0001d400") == expected
    assert xml_text("a\ud83db") == "ab"


def test_markdown_text_escapes_only_what_markdown_or_html_would_act_on():
    assert markdown_text("Kế hoạch 45/KH-UBND, 2.000 tờ (xong)") == "Kế hoạch 45/KH-UBND, 2.000 tờ (xong)"
    assert markdown_text("a|b *c* `d` [e]") == r"a\|b \*c\* \`d\` \[e\]"
