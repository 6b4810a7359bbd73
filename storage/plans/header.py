"""The plan's identity from the text above its appendix: number, issue date, title, year, and the
reporting clause ("định kỳ báo cáo … trước ngày 20/6 và 20/11 …")."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from storage.agency_names import strip_markup
from storage.text import normalize_space, strip_diacritics


@dataclass
class Header:
    number: str | None = None
    issued: dt.date | None = None
    title: str = ""
    year: int | None = None
    # The last year a multi-year plan covers ("giai đoạn 2021 - 2025"); None for a one-year plan.
    end_year: int | None = None
    issuer: str = ""  # "UBND thành phố Hà Nội", as the letterhead or the preamble names it
    reporting_deadlines: list[dt.date] | None = None
    clause: str = ""  # the sentence the deadlines were read from
    unreadable_deadlines: list[str] = field(default_factory=list)


def _plain(line: str) -> str:
    """Markup gone ("**87**", "<b>", "## "), spaces single, diacritics kept."""
    line = strip_markup(line).replace("*", "")
    return normalize_space(re.sub(r"^\s*#+\s*", "", line))


def _ascii(line: str) -> str:
    return strip_diacritics(line).lower()


# "Số: 87 /KH-UBND", "Số: 80-KH/TU", "Số 45/KH-UBND"; a Word header table puts it mid-line.
_NUMBER = re.compile(r"(?:^|\s)S[ốỐoO]\s*(?::\s*|\s+(?=\d))(\d+)\s*([/-])\s*([A-Za-zĐđ0-9][\w./-]*)")
# "(Kèm theo Kế hoạch số... 87.../KH-UBND ngày 24/4/2020)" under the appendix title.
_ANNEX = re.compile(
    r"ke hoach so[\s.…]*(\d+)[\s.…]*([/-])\s*([a-z0-9][\w-]*)(?:[\s.…]*ngay\s+(\d{1,2})/(\d{1,2})/(\d{4}))?"
)
_ISSUED = re.compile(r"ngay\s+(\d{1,2})\s+thang\s+(\d{1,2})\s+nam\s+(\d{4})")
_YEAR_IN_TITLE = re.compile(r"\bnam\s+(\d{4})\b")
# "giai đoạn 2021 - 2025", "năm 2021 - 2025", "2021-2025", "2021 đến 2025" in the title.
_YEARS_IN_TITLE = re.compile(r"\b(?:giai doan\s+|nam\s+)?((?:19|20)\d{2})\s*(?:-|–|den)\s*((?:19|20)\d{2})\b")
# The letterhead ("ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI") or the preamble ("…, UBND thành phố Hà Nội
# ban hành Kế hoạch …"): the body that issued the plan.
_ISSUER_LINE = re.compile(
    r"^(?:uy ban nhan dan|ubnd)\s+(tinh|thanh pho|tp\.?|quan|huyen|thi xa|xa|phuong)\s+(.+)$"
)
_ISSUER_PREAMBLE = re.compile(
    r"(?:uy ban nhan dan|ubnd)\s+(tinh|thanh pho|tp\.?|quan|huyen|thi xa)\s+([^,;]{2,60}?)\s+ban hanh\s+ke hoach"
)
_DEADLINE_LIST = re.compile(
    r"truoc\s+ngay\s+((?:\d{1,2}\s*(?:/\s*\d{1,2}(?:\s*/\s*\d{4})?|thang\s+\d{1,2}(?:\s+nam\s+\d{4})?)"
    r"(?:\s*(?:,|;|va|ngay|hoac)\s*)*)+)"
)
_DAY_MONTH = re.compile(r"(\d{1,2})\s*(?:/|thang)\s*(\d{1,2})(?:\s*(?:/|nam)\s*(\d{4}))?")


def _original_number(line: str, match: re.Match[str]) -> str:
    return f"{match[1]}{match[2]}{match[3]}".rstrip(".")


def parse_header(lines: list[str]) -> Header:
    header = Header()
    plain = [_plain(line) for line in lines]
    title_index = None
    for index, line in enumerate(plain):
        ascii_line = _ascii(line)
        if header.number is None and title_index is None and (m := _NUMBER.search(line)):
            header.number = _original_number(line, m)
        elif header.issued is None and title_index is None and (m := _ISSUED.search(ascii_line)):
            header.issued = _safe_date(int(m[3]), int(m[2]), int(m[1]))
        if title_index is None and ascii_line.rstrip(" .:") == "ke hoach":
            title_index = index
    if title_index is not None:
        header.title = _title_after(plain, title_index)
    # An appendix on its own (a sheet, a CSV) names its plan under its title.
    for line in plain:
        m = _ANNEX.search(_ascii(line))
        if m:
            if header.number is None:
                header.number = f"{m[1]}{m[2]}{m[3]}".upper()
            if header.issued is None and m[4]:
                header.issued = _safe_date(int(m[6]), int(m[5]), int(m[4]))
            break
    if not header.title:
        header.title = _appendix_title(plain)
    title = _ascii(header.title)
    if (m := _YEARS_IN_TITLE.search(title)) and int(m[1]) < int(m[2]):
        header.year, header.end_year = int(m[1]), int(m[2])
    elif m := _YEAR_IN_TITLE.search(title):
        header.year = int(m[1])
    elif header.issued:
        header.year = header.issued.year
    header.issuer = _issuer(plain)
    _reporting_clause(plain, header)
    return header


_LEVELS = {
    "tinh": "tỉnh",
    "thanh pho": "thành phố",
    "tp": "thành phố",
    "tp.": "thành phố",
    "quan": "quận",
    "huyen": "huyện",
    "thi xa": "thị xã",
    "xa": "xã",
    "phuong": "phường",
}


def _issuer(lines: list[str]) -> str:
    """ "UBND <level> <place>" from the letterhead, else from the preamble; "" when neither names one.
    The place keeps the spelling of the file (diacritics included), the level is written out."""
    top = lines[:15]
    for index, line in enumerate(top):
        if _ascii(line).strip(" .") in ("uy ban nhan dan", "ubnd") and index + 1 < len(top):
            line = f"{line.strip()} {top[index + 1]}"  # the letterhead on two lines
        ascii_line = _ascii(line).rstrip(" .")
        if m := _ISSUER_LINE.match(ascii_line):
            return _issuer_name(line, m)
    for line in lines:
        ascii_line = _ascii(line)
        if m := _ISSUER_PREAMBLE.search(ascii_line):
            return _issuer_name(line, m)
    return ""


def _issuer_name(line: str, match: re.Match[str]) -> str:
    # Folding keeps the length of the line, so the place can be cut from the original spelling.
    place = normalize_space(line[match.start(2) : match.end(2)]).strip(" ,.")
    if place.isupper():
        place = " ".join(word.capitalize() for word in place.split())
    return f"UBND {_LEVELS[match[1]]} {place}"


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _title_after(lines: list[str], index: int) -> str:
    """The lines under "KẾ HOẠCH" up to the first blank one: the plan's subject."""
    parts = []
    for line in lines[index + 1 :]:
        if not line:
            if parts:
                break
            continue
        if _ascii(line).startswith(("can cu", "thuc hien")):
            break
        parts.append(line)
    return normalize_space(" ".join(parts)).rstrip(".")


def _appendix_title(lines: list[str]) -> str:
    for line in lines:
        ascii_line = _ascii(line)
        if line.isupper() and ascii_line.startswith("ke hoach ") and "so" not in ascii_line.split()[2:3]:
            subject = line.split(None, 2)[2] if len(line.split(None, 2)) > 2 else ""
            if subject.isupper():
                subject = subject[:1] + subject[1:].lower()
            return subject.rstrip(".")
    return ""


def _reporting_clause(lines: list[str], header: Header) -> None:
    """Deadlines from the paragraph that asks for periodic reports; "định kỳ" paragraphs first."""
    candidates = []
    for line in lines:
        ascii_line = _ascii(line)
        at = ascii_line.find("bao cao")
        if at < 0 or "truoc ngay" not in ascii_line[at:]:
            continue
        candidates.append(
            (0 if "dinh ky" in ascii_line or "dinh ki" in ascii_line else 1, line, ascii_line, at)
        )
    if not candidates:
        return
    candidates.sort(key=lambda c: c[0])
    _, line, ascii_line, at = candidates[0]
    header.clause = line
    deadlines: list[dt.date] = []
    # A deadline without its year recurs in every year the plan covers ("trước ngày 15/12 hằng năm",
    # or simply "trước ngày 20/6" in a plan for 2021 - 2025).
    years = range(header.year, (header.end_year or header.year) + 1) if header.year else range(0)
    for match in _DEADLINE_LIST.finditer(ascii_line, at):
        for day, month, explicit_year in _DAY_MONTH.findall(match[1]):
            candidates = [int(explicit_year)] if explicit_year else list(years)
            found = [d for y in candidates if (d := _safe_date(y, int(month), int(day))) is not None]
            if not found:
                header.unreadable_deadlines.append(f"{day}/{month}")
            deadlines += [d for d in found if d not in deadlines]
    header.reporting_deadlines = sorted(deadlines)
