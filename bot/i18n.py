"""Translations: stdlib gettext, one catalog per language, the active language in a context variable.

Translate first, then format: `_("Hello, {name}").format(name=...)`, never an f-string inside `_()`.
Module-level constants use `N_()` (mark only) and are translated where they are shown. Code that runs
outside a user's update (a scheduled reminder) sets the recipient's language with `use_language`.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import gettext
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path

DOMAIN = "nhacviec"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("nhacviec_language", default=DEFAULT_LANGUAGE)


@cache
def translations(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, localedir=LOCALES_DIR, languages=[language], fallback=True)


def normalize_language(value: str | None) -> str:
    """'vi-VN', 'VI', 'en_US' -> a supported code; anything else -> the default."""
    if not value:
        return DEFAULT_LANGUAGE
    code = value.replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    return _current.get()


@contextlib.contextmanager
def use_language(language: str | None) -> Iterator[str]:
    token = _current.set(normalize_language(language))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def _(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark for extraction only; translate with `_()` where it is shown."""
    return message


# Babel loads at the first date or number written out (about 0.6 MB and 15 ms of CPU): a bot that
# has started and waits for messages has written none.
def format_day(day: dt.date, language: str | None = None) -> str:
    """'Thứ Bảy, 20/6/2020' in Vietnamese, 'Saturday, 20 June 2020' in English."""
    return _format_day(day, normalize_language(language or _current.get()))


# Babel's formatting costs tens of microseconds a call, and a task list formats a date and a
# percentage per task; the same few days and numbers recur in every list, so they are kept.
@lru_cache(maxsize=4096)
def _format_day(day: dt.date, language: str) -> str:
    from babel.dates import format_date as _babel_format_date

    if language == "vi":
        weekday = _babel_format_date(day, "EEEE", locale="vi")
        return f"{weekday[:1].upper()}{weekday[1:]}, {day.day}/{day.month}/{day.year}"
    return _babel_format_date(day, "EEEE, d MMMM y", locale="en")


def format_short_day(day: dt.date, language: str | None = None) -> str:
    """'20/6/2020' in Vietnamese, '20 Jun 2020' in English."""
    return _format_short_day(day, normalize_language(language or _current.get()))


@lru_cache(maxsize=4096)
def _format_short_day(day: dt.date, language: str) -> str:
    if language == "vi":
        return f"{day.day}/{day.month}/{day.year}"
    from babel.dates import format_date as _babel_format_date

    return _babel_format_date(day, "d MMM y", locale="en")


def format_number(value: float | int, language: str | None = None) -> str:
    return _format_number(value, normalize_language(language or _current.get()))


@lru_cache(maxsize=4096, typed=True)
def _format_number(value: float | int, language: str) -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, locale=language)
