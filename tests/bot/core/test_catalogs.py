"""The gettext catalogs: every message the code can show has a reviewed translation in Vietnamese
and in English, with the same placeholders, and Vietnamese is what a new user reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, format_day, use_language
from bot.render.text import REPORTED_LABELS, TIMING_LABELS, reported_label, timing_label

REPO = Path(__file__).resolve().parents[3]
KEYWORDS = {"_": None, "N_": None, "lazy_gettext": None, "ngettext": (1, 2)}


def _extracted() -> dict[str, str]:
    """Every msgid in the code, with where it is (as `make messages` extracts them)."""
    found: dict[str, str] = {}
    for package in ("bot", "scheduler", "storage"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            REPO / package,
            method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
            keywords=KEYWORDS,
        ):
            msgid = message if isinstance(message, str) else message[0]
            found.setdefault(msgid, f"{package}/{filename}:{lineno}")
    return found


def _catalog(language: str):
    with open(LOCALES_DIR / language / "LC_MESSAGES" / "nhacviec.po", "rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_message_in_the_code_is_translated_in_the_catalog(language):
    catalog = _catalog(language)
    missing = []
    for msgid, where in sorted(_extracted().items(), key=lambda item: item[1]):
        message = catalog.get(msgid)
        strings = (
            [] if message is None else [message.string] if isinstance(message.string, str) else message.string
        )
        if message is None or message.fuzzy or not strings or not all(strings):
            missing.append(f"{where}: {msgid!r}")
    expected: list[str] = []
    assert missing == expected, f"{len(missing)} messages lack a {language} translation (run `make messages`)"


@pytest.mark.parametrize("language", ["vi", "en"])
def test_translations_keep_the_placeholders_of_their_message(language):
    catalog = _catalog(language)
    errors = [f"{message.id!r}: {error}" for message, problems in catalog.check() for error in problems]

    assert errors == []


def test_a_new_user_reads_vietnamese_with_diacritics_and_vietnamese_dates():
    import datetime as dt

    with use_language("vi"):
        reported = [reported_label(status) for status in REPORTED_LABELS]
        timings = [timing_label(timing) for timing in TIMING_LABELS]
        day = format_day(dt.date(2020, 6, 20))

    # The words the issue asks for, what was said and the timing each in their own list.
    assert reported == ["chưa báo cáo", "chưa thực hiện", "đang thực hiện", "hoàn thành", "gặp vướng mắc"]
    assert timings == ["đúng hạn", "trễ hạn", "quá hạn", "chưa đến hạn", "không có thời hạn"]
    assert day == "Thứ Bảy, 20/6/2020"
