"""Folding text for matching: users type without diacritics, plans spell agencies several ways."""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[^\w\s]+", re.UNICODE)
_SPACE = re.compile(r"\s+")


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


def normalize_space(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()
