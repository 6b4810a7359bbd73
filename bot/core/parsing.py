"""Reading what people type: statuses, percentages, task references, days, moments, durations.

People type on phones, often without diacritics ("hoan thanh", "so du lich"), in either language.
Everything here compares folded text (storage.text.fold: lower case, no diacritics, no punctuation)
and returns None for what it cannot read, so that the caller can answer with the valid choices.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from storage.models.people import BLOCKED, DONE, IN_PROGRESS, NOT_STARTED
from storage.text import fold, fold_word

# Folded phrases for each reported status, Vietnamese and English. Longer phrases are tried first so
# that "chua hoan thanh" (not finished) is never read as "hoan thanh" (finished).
STATUS_PHRASES: dict[str, tuple[str, ...]] = {
    NOT_STARTED: (
        "chua trien khai",
        "chua thuc hien",
        "chua bat dau",
        "chua lam",
        "chua",
        "not started",
        "not yet started",
        "to do",
        "todo",
    ),
    IN_PROGRESS: (
        "dang thuc hien",
        "dang trien khai",
        "dang lam",
        "dang tien hanh",
        # "Not finished yet" means work is under way, not that it never began.
        "chua hoan thanh",
        "chua xong",
        "dang",
        "in progress",
        "ongoing",
        "started",
        "doing",
    ),
    DONE: (
        "hoan thanh",
        "da hoan thanh",
        "da xong",
        "xong",
        "done",
        "completed",
        "complete",
        "finished",
    ),
    BLOCKED: (
        "gap vuong mac",
        "vuong mac",
        "gap kho khan",
        "kho khan",
        "bi chan",
        "blocked",
        "stuck",
    ),
}

_PHRASES = sorted(
    ((tuple(phrase.split()), status) for status, phrases in STATUS_PHRASES.items() for phrase in phrases),
    key=lambda item: -len(item[0]),
)

_PERCENT = re.compile(r"^(\d{1,3})\s*%$")
_TASK_CODE = re.compile(r"^#?([ivxlc]+)[.\-/:](\d{1,3})\.?$", re.IGNORECASE)
_TASK_NUMBER = re.compile(r"^#?(\d{1,4})\.?$")
_DURATION = re.compile(r"^\s*(\d{1,4})\s*([a-z]*)\s*$")
_URL = re.compile(r"(https?://\S+)", re.IGNORECASE)


def match_status_words(words: list[str]) -> tuple[str, int] | None:
    """The status the leading words name and how many words it took, or None."""
    folded = [fold_word(word) for word in words]
    # A word may fold to two ("đã-xong" → "da xong"); compare on the flattened folded words.
    flat: list[str] = []
    owner: list[int] = []
    for index, word in enumerate(folded):
        for part in word.split():
            flat.append(part)
            owner.append(index)
    for phrase, status in _PHRASES:
        if tuple(flat[: len(phrase)]) == phrase:
            last_word = owner[len(phrase) - 1]
            # The phrase must end on a word boundary of what was typed, not in the middle of a word.
            if len(phrase) == len(flat) or owner[len(phrase)] != last_word:
                return status, last_word + 1
    return None


def parse_status(text: str) -> str | None:
    """A whole answer naming a status ("hoan thanh", "Done", "gặp vướng mắc"), else None."""
    words = text.split()
    found = match_status_words(words)
    if found and found[1] == len(words):
        return found[0]
    return None


def parse_percent(word: str) -> int | None:
    """'60%' → 60; None when the word is no percentage. Values over 100 are returned for the caller
    to refuse with a message, rather than silently read as something else."""
    match = _PERCENT.match(word.strip())
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class TaskRef:
    """How a task was named: its number in the agency's list, or its plan numbering ("IV.3")."""

    number: int | None = None
    code: str | None = None

    def __str__(self) -> str:
        return self.code or str(self.number)


def parse_task_ref(word: str) -> TaskRef | None:
    word = word.strip()
    match = _TASK_CODE.match(word)
    if match:
        return TaskRef(code=f"{match.group(1).upper()}.{int(match.group(2))}")
    match = _TASK_NUMBER.match(word)
    if match:
        return TaskRef(number=int(match.group(1)))
    return None


_UNITS = {
    "": "days",
    "d": "days",
    "day": "days",
    "days": "days",
    "ngay": "days",
    "h": "hours",
    "hour": "hours",
    "hours": "hours",
    "gio": "hours",
    "w": "weeks",
    "week": "weeks",
    "weeks": "weeks",
    "tuan": "weeks",
    "m": "minutes",
    "min": "minutes",
    "minutes": "minutes",
    "phut": "minutes",
}


def parse_duration(text: str) -> dt.timedelta | None:
    """'7d', '12h', '2w', '30m', '7' (days), '7 ngày' → a positive timedelta, else None."""
    match = _DURATION.match(fold(text).replace(" ", "") if text else "")
    if not match:
        return None
    amount, unit = int(match.group(1)), _UNITS.get(match.group(2))
    if unit is None or amount <= 0:
        return None
    return dt.timedelta(**{unit: amount})


_DAY_MONTH = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_TIME = re.compile(r"^(\d{1,2})(?:[:h](\d{2})?)?$", re.IGNORECASE)


def parse_day(word: str, year: int) -> dt.date | None:
    """'20/6', '20/6/2020', '20-6-20', '2020-06-20' as a date ('20/6' in `year`); None otherwise.

    The one reading of a typed day: chat commands and every command-line option use it."""
    word = word.strip()
    iso = _ISO_DAY.match(word)
    if iso:
        numbers = int(iso[1]), int(iso[2]), int(iso[3])
    else:
        local = _DAY_MONTH.match(word)
        if local is None:
            return None
        given_year = int(local[3]) if local[3] else year
        numbers = given_year + 2000 if given_year < 100 else given_year, int(local[2]), int(local[1])
    try:
        return dt.date(*numbers)
    except ValueError:
        return None


def parse_time_of_day(word: str) -> dt.time | None:
    """'08:00', '8:30', '8h', '8h30', '14' → a time of day; None otherwise."""
    match = _TIME.match(word.strip())
    if match is None:
        return None
    hour, minute = int(match[1]), int(match[2] or 0)
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def parse_moment(text: str, year: int) -> tuple[dt.date, dt.time | None] | None:
    """'2020-06-12 08:00', '12/6 8h', '12/6/2020' → a day and, when given, a time of day."""
    words = text.split()
    if not 1 <= len(words) <= 2:
        return None
    day = parse_day(words[0], year)
    if day is None:
        return None
    if len(words) == 1:
        return day, None
    time = parse_time_of_day(words[1])
    return (day, time) if time is not None else None


def find_url(text: str) -> str | None:
    match = _URL.search(text)
    return match.group(1).rstrip(").,;") if match else None


def bare_number(text: str) -> int | None:
    """'3' or '3.' typed alone: an answer to the last numbered choice."""
    match = re.fullmatch(r"\s*(\d{1,3})\s*\.?\s*", text)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class UpdateLine:
    """`/capnhat 3 hoàn thành 60% Đã phát sóng 12 chương trình`, taken apart."""

    ref: TaskRef | None
    status: str | None
    percent: int | None
    note: str
    # Words stood where the status belongs but named none ("/capnhat 3 hoan tat …").
    status_unclear: bool = False


_WORD = re.compile(r"\S+")


def parse_update_line(text: str) -> UpdateLine:
    """Task, then status and/or percentage in either order, then the note (kept as typed)."""
    spans = list(_WORD.finditer(text))
    words = [m.group(0) for m in spans]
    index = 0
    ref = parse_task_ref(words[0]) if words else None
    if ref is not None:
        index = 1
    percent: int | None = None
    status: str | None = None
    for _round in range(2):
        if index < len(words) and percent is None and parse_percent(words[index]) is not None:
            percent = parse_percent(words[index])
            index += 1
        if index < len(words) and status is None:
            found = match_status_words(words[index:])
            if found:
                status, used = found
                index += used
    note = text[spans[index].start() :].strip() if index < len(words) else ""
    unclear = status is None and percent is None and bool(note)
    if status is None and percent is not None:
        status = DONE if percent >= 100 else IN_PROGRESS
    return UpdateLine(ref=ref, status=status, percent=percent, note=note, status_unclear=unclear)


def invite_token(args: str) -> str:
    """The invite token in what follows /start: its first word (a deep link sends exactly that)."""
    words = args.split()
    return words[0] if words else ""
