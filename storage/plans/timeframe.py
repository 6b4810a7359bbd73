"""Timeframes as plans write them ("Cả năm", "Quý III, IV/2020", "Trước ngày 30/6/2021") → dates.

A timeframe becomes a first and a last day, both inclusive. A year left out means the plan's year.
"Trước ngày …" names only an end, so its start stays open (None). Text that matches no form below
is kept as written with no dates: the importer warns about it, it never fails on it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from storage.text import normalize_space, strip_diacritics


@dataclass(frozen=True)
class Timeframe:
    text: str
    start: dt.date | None = None
    end: dt.date | None = None
    understood: bool = False


_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
# A year written after a slash, "năm" or nothing: "Quý IV/2020", "Quý IV năm 2020", "Tháng 6 2020".
_YEAR = r"(?:\s*(?:/|nam)?\s*(?P<year>\d{4}|\d{2}))?"
_LIST_SEP = r"\s*(?:,|-|–|va|den)\s*"
_DAY = r"(?P<{n}d>\d{{1,2}})\s*/\s*(?P<{n}m>\d{{1,2}})(?:\s*/\s*(?P<{n}y>\d{{4}}|\d{{2}}))?"

_WHOLE_YEAR = re.compile(
    r"^(?:ca nam|trong nam|hang nam|thuong xuyen|thuong xuyen trong nam|thuong xuyen lien tuc|lien tuc"
    r"|dinh ky|dinh ky hang nam|quanh nam)(?:\s+(?P<year>\d{4}))?$"
)
_YEARS = re.compile(
    r"^(?:trong\s+)?(?:(?:nam|giai doan)\s+)?(?:tu\s+(?:nam\s+)?)?(?P<first>\d{4})"
    r"(?:\s*(?:-|–|den)\s*(?:nam\s+)?(?P<last>\d{4}))?$"
)
# Every year of the plan: a recurring task of a multi-year plan runs from its first year to its last.
_EVERY_YEAR = re.compile(r"^(?:hang nam|moi nam|dinh ky hang nam|thuong xuyen hang nam)$")
_QUARTERS = re.compile(rf"^quy\s+(?P<items>[ivx\d]+(?:{_LIST_SEP}(?:quy\s+)?[ivx\d]+)*){_YEAR}$")
_MONTHS = re.compile(rf"^thang\s+(?P<items>\d{{1,2}}(?:{_LIST_SEP}(?:thang\s+)?\d{{1,2}})*){_YEAR}$")
_MONTH_RANGE = re.compile(
    r"^tu\s+thang\s+(?P<first>\d{1,2})(?:\s*/\s*(?P<fy>\d{4}))?\s*(?:den|-|–)\s*"
    r"(?:het\s+)?thang\s+(?P<last>\d{1,2})(?:\s*(?:/|nam)\s*(?P<ly>\d{4}))?$"
)
_HALF = re.compile(r"^(?:(?P<n>\d{1,2})\s+thang|nua)\s+(?P<side>dau|cuoi)\s+nam(?:\s+(?P<year>\d{4}))?$")
_BEFORE = re.compile(
    r"^(?:truoc|den|han|han chot|cham nhat|hoan thanh truoc)\s+(?:ngay\s+)?" + _DAY.format(n="e") + r"$"
)
_RANGE = re.compile(
    r"^tu\s+(?:ngay\s+)?" + _DAY.format(n="s") + r"\s*(?:den|-|–)\s*(?:ngay\s+)?" + _DAY.format(n="e") + r"$"
)
_ONE_DAY = re.compile(r"^(?:ngay\s+)?" + _DAY.format(n="e") + r"$")


def _normalize(text: str) -> str:
    # Keep the slashes and dashes that carry meaning here; fold only case, diacritics and spaces.
    text = strip_diacritics(normalize_space(text)).lower()
    return text.strip(" .;:")


def _year(value: str | None, default: int) -> int:
    if not value:
        return default
    year = int(value)
    return 2000 + year if year < 100 else year


def _last_day(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _numbers(items: str, roman: bool) -> list[int]:
    values = []
    for token in re.split(_LIST_SEP, items):
        token = token.removeprefix("quy").removeprefix("thang").strip()
        value = (
            _ROMAN.get(token) if roman and not token.isdigit() else int(token) if token.isdigit() else None
        )
        if value is None:
            raise ValueError(token)
        values.append(value)
    return values


def _date(day: str, month: str, year: int) -> dt.date:
    return dt.date(year, int(month), int(day))


def _parse(text: str, year: int, last_year: int) -> tuple[dt.date | None, dt.date] | None:
    if _EVERY_YEAR.match(text):
        return dt.date(year, 1, 1), dt.date(last_year, 12, 31)
    if m := _WHOLE_YEAR.match(text):
        y = _year(m["year"], year)
        return dt.date(y, 1, 1), dt.date(y, 12, 31)
    if m := _YEARS.match(text):
        first = int(m["first"])
        last = int(m["last"] or first)
        return (dt.date(first, 1, 1), dt.date(last, 12, 31)) if first <= last else None
    if m := _QUARTERS.match(text):
        quarters = _numbers(m["items"], roman=True)
        if not all(1 <= q <= 4 for q in quarters):
            return None
        y = _year(m["year"], year)
        return dt.date(y, 3 * min(quarters) - 2, 1), _last_day(y, 3 * max(quarters))
    if m := _MONTHS.match(text):
        months = _numbers(m["items"], roman=False)
        if not all(1 <= n <= 12 for n in months):
            return None
        y = _year(m["year"], year)
        return dt.date(y, min(months), 1), _last_day(y, max(months))
    if m := _MONTH_RANGE.match(text):
        last_year = _year(m["ly"], year)
        first_year = _year(m["fy"], last_year)
        return dt.date(first_year, int(m["first"]), 1), _last_day(last_year, int(m["last"]))
    if m := _HALF.match(text):
        months = int(m["n"] or 6)
        if not 1 <= months <= 12:
            return None
        y = _year(m["year"], year)
        if m["side"] == "dau":
            return dt.date(y, 1, 1), _last_day(y, months)
        return dt.date(y, 13 - months, 1), dt.date(y, 12, 31)
    if m := _BEFORE.match(text):
        return None, _date(m["ed"], m["em"], _year(m["ey"], year))
    if m := _RANGE.match(text):
        end = _date(m["ed"], m["em"], _year(m["ey"], year))
        start = _date(m["sd"], m["sm"], _year(m["sy"], end.year))
        return (start, end) if start <= end else None
    if m := _ONE_DAY.match(text):
        day = _date(m["ed"], m["em"], _year(m["ey"], year))
        return day, day
    return None


def parse_timeframe(text: str, year: int, last_year: int | None = None) -> Timeframe:
    """The dates a timeframe cell names; `year` is the plan's (first) year, used wherever the cell
    omits one, and `last_year` the last year a multi-year plan covers ("Hằng năm" spans them all)."""
    text = normalize_space(text)
    if not text:
        return Timeframe(text)
    try:
        dates = _parse(_normalize(text), year, max(last_year or year, year))
    except ValueError:  # an impossible date such as 31/6, or a quarter "V"
        dates = None
    if dates is None:
        return Timeframe(text)
    start, end = dates
    return Timeframe(text, start, end, understood=True)
