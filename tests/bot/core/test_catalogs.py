"""The gettext catalogs: every message the code can show has a reviewed translation in Vietnamese
and in English, with the same placeholders, and Vietnamese is what a new user reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, format_day, use_language
from bot.render.text import DERIVED_LABELS, derived_label

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
        labels = [derived_label(status) for status in DERIVED_LABELS]
        day = format_day(dt.date(2020, 6, 20))

    expected = [
        "chưa đến hạn",
        "đang thực hiện",
        "hoàn thành đúng hạn",
        "hoàn thành trễ hạn",
        "quá hạn",
        "gặp vướng mắc",
    ]
    assert sorted(labels) == sorted(expected)
    assert day == "Thứ Bảy, 20/6/2020"
