"""Folding text for matching: users type without diacritics, plans spell agencies several ways."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_PUNCT = re.compile(r"[^\w\s]+", re.UNICODE)
_SPACE = re.compile(r"\s+")

# What XML 1.0 does not allow in a document (tab, line feed and carriage return it does), plus the
# Unicode non-characters: U+FDD0..U+FDEF and the last two code points of every plane.
_XML_INVALID = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
    + "]"
)
# DEL and the C1 controls are valid XML but invisible and meaningless in a note.
_INVISIBLE_CONTROLS = re.compile("[\x7f-\x9f]")


def strip_diacritics(text: str) -> str:
    # đ/Đ is a letter of its own, not d plus a mark, so NFD leaves it alone.
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def fold(text: str) -> str:
    """Lower case, no diacritics, punctuation as space, single spaces: 'Sở Du lịch' -> 'so du lich'."""
    text = strip_diacritics(unicodedata.normalize("NFC", text)).lower()
    text = _PUNCT.sub(" ", text).replace("_", " ")
    return _SPACE.sub(" ", text).strip()


def fold_word(word: str) -> str:
    """`fold` for one word of a command or an answer: the same few words start nearly every message,
    and folding one costs several microseconds. Long ones (anyone can type anything) are not kept."""
    return _fold_kept(word) if len(word) <= 40 else fold(word)


@lru_cache(maxsize=4096)
def _fold_kept(word: str) -> str:
    return fold(word)


def normalize_space(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def readable(text: str) -> str:
    """`text` without the characters no person can read and XML cannot hold; line breaks and tabs
    stay. What a person typed is otherwise kept as it is. Every way in (chat, command line, plan
    files) cleans with this one rule."""
    if not text:
        return text
    return _INVISIBLE_CONTROLS.sub("", _XML_INVALID.sub("", text))
