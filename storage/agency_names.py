"""How plans name agencies: the built-in table of names and abbreviations, and how a table cell that
names several agencies is cut into one name per agency. Pure text rules; `storage.agencies` keeps the
registry in the database.

Matching keys are `fold()` of a name (case, diacritics and punctuation ignored). "và" and "&" are
interchangeable in names ("Sở Thông tin & Truyền thông"), so a name also matches with "và" dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from storage.text import fold, normalize_space, strip_diacritics


@dataclass(frozen=True)
class KnownAgency:
    name: str
    short_name: str | None = None
    aliases: tuple[str, ...] = ()
    # History: a body that no longer exists under this name names its successor and the day it changed.
    status: str = "active"  # active | merged | renamed | dissolved (storage.models.plan)
    since: dt.date | None = None
    successor: str | None = None
    # A phrase for many bodies ("UBND các xã, phường"): its members are defined per deployment.
    group: bool = False

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *((self.short_name,) if self.short_name else ()), *self.aliases)


# Nghị định 45/2025/NĐ-CP took effect on 1 March 2025 and reorganised the provincial departments;
# Nghị quyết 202/2025/QH15 ended the district level on 1 July 2025.
ND45 = dt.date(2025, 3, 1)
DISTRICTS_END = dt.date(2025, 7, 1)

# Agencies that plans name, with the abbreviations and variants seen in issued plans. Only rows a
# plan actually names are created in the database; this table decides what they are called, which
# other spellings lead to them, and, for the names of before 2025, what they became and when.
KNOWN_AGENCIES: tuple[KnownAgency, ...] = (
    # --- The standard departments (Nghị định 45/2025/NĐ-CP, Điều 9) --------------------------------
    KnownAgency("Sở Nội vụ", "Sở NV"),
    KnownAgency("Sở Tư pháp", "Sở TP"),
    KnownAgency("Sở Tài chính", "Sở TC"),
    KnownAgency("Sở Công Thương", "Sở CT", ("Sở Công thương",)),
    KnownAgency(
        "Sở Nông nghiệp và Môi trường",
        "Sở NN&MT",
        ("Sở NNMT", "Sở NN-MT", "Sở NN và MT", "Sở Nông nghiệp - Môi trường", "Sở Nông nghiệp, Môi trường"),
    ),
    KnownAgency("Sở Xây dựng", "Sở XD"),
    KnownAgency("Sở Khoa học và Công nghệ", "Sở KH&CN", ("Sở KHCN", "Sở KH-CN", "Sở Khoa học - Công nghệ")),
    KnownAgency(
        "Sở Văn hóa, Thể thao và Du lịch",
        "Sở VHTTDL",
        ("Sở VH,TT&DL", "Sở VHTT&DL", "Sở VH-TT-DL", "Sở VHTT và DL"),
    ),
    KnownAgency("Sở Giáo dục và Đào tạo", "Sở GD&ĐT", ("Sở GDĐT", "Sở GD-ĐT")),
    KnownAgency("Sở Y tế", "Sở YT"),
    KnownAgency("Thanh tra Thành phố", "TTTP", ("Thanh tra TP",)),
    KnownAgency("Thanh tra tỉnh", None),
    KnownAgency("Văn phòng UBND Thành phố", "VP UBND TP", ("Văn phòng Ủy ban nhân dân Thành phố", "VPUB")),
    KnownAgency("Văn phòng UBND tỉnh", "VP UBND tỉnh", ("Văn phòng Ủy ban nhân dân tỉnh",)),
    # --- Departments a province may have besides (same decree) -------------------------------------
    KnownAgency("Sở Ngoại vụ", "Sở NgV"),
    KnownAgency("Sở Dân tộc và Tôn giáo", "Sở DTTG", ("Sở DT&TG", "Sở DT-TG", "Sở Dân tộc - Tôn giáo")),
    KnownAgency(
        "Sở Văn hóa và Thể thao",
        "Sở VHTT",
        ("Sở VH TT", "Sở VHHT", "Sở VH&TT", "Sở VH-TT", "Sở Văn hóa - Thể thao", "Sở Văn hóa, Thể thao"),
    ),
    KnownAgency("Sở Du lịch", "Sở DL"),
    KnownAgency("Sở Quy hoạch - Kiến trúc", "Sở QHKT", ("Sở QH-KT", "Sở Quy hoạch Kiến trúc")),
    KnownAgency("Sở An toàn thực phẩm", "Sở ATTP"),
    # --- Departments before 1 March 2025, and what they became --------------------------------------
    KnownAgency(
        "Sở Thông tin và Truyền thông",
        "Sở TTTT",
        ("Sở TT&TT", "Sở TT-TT", "Sở TT và TT", "STTTT", "Sở Thông tin - Truyền thông"),
        status="merged",
        since=ND45,
        successor="Sở Khoa học và Công nghệ",
    ),
    KnownAgency(
        "Sở Kế hoạch và Đầu tư",
        "Sở KHĐT",
        ("Sở KH&ĐT", "Sở KH-ĐT", "Sở Kế hoạch - Đầu tư"),
        status="merged",
        since=ND45,
        successor="Sở Tài chính",
    ),
    KnownAgency(
        "Sở Giao thông Vận tải",
        "Sở GTVT",
        ("Sở GT-VT", "Sở GT&VT", "Sở Giao thông - Vận tải", "Sở Giao thông và Vận tải"),
        status="merged",
        since=ND45,
        successor="Sở Xây dựng",
    ),
    KnownAgency(
        "Sở Tài nguyên và Môi trường",
        "Sở TNMT",
        ("Sở TN&MT", "Sở TN-MT", "Sở Tài nguyên - Môi trường"),
        status="merged",
        since=ND45,
        successor="Sở Nông nghiệp và Môi trường",
    ),
    KnownAgency(
        "Sở Nông nghiệp và Phát triển nông thôn",
        "Sở NN&PTNT",
        ("Sở NNPTNT", "Sở NN-PTNT", "Sở Nông nghiệp - Phát triển nông thôn"),
        status="merged",
        since=ND45,
        successor="Sở Nông nghiệp và Môi trường",
    ),
    KnownAgency(
        "Sở Lao động - Thương binh và Xã hội",
        "Sở LĐTBXH",
        ("Sở LĐ-TB&XH", "Sở LĐTB&XH", "Sở Lao động, Thương binh và Xã hội"),
        status="merged",
        since=ND45,
        successor="Sở Nội vụ",
    ),
    KnownAgency(
        "Ban Dân tộc tỉnh", "Ban Dân tộc", status="merged", since=ND45, successor="Sở Dân tộc và Tôn giáo"
    ),
    KnownAgency(
        "Bộ Thông tin và Truyền thông",
        "Bộ TTTT",
        ("Bộ TT&TT", "Bộ TT-TT"),
        status="merged",
        since=ND45,
        successor="Bộ Khoa học và Công nghệ",
    ),
    KnownAgency("Bộ Khoa học và Công nghệ", "Bộ KH&CN", ("Bộ KHCN",)),
    # --- Bodies plans commonly name -----------------------------------------------------------------
    KnownAgency(
        "Trung tâm Xúc tiến Đầu tư, Thương mại, Du lịch",
        "Trung tâm XTĐT-TMDL",
        (
            "XTĐT-TMDL",
            "XTĐTMDL",
            "Trung tâm XTĐTMDL",
            "Trung tâm XTĐT, TM&DL",
            "Trung tâm XTĐT-TM-DL",
            "Trung tâm Xúc tiến Đầu tư, Thương mại và Du lịch",
            "Trung tâm Xúc tiến đầu tư, thương mại, du lịch thành phố Hà Nội",
            "HPA",
        ),
    ),
    KnownAgency("Công an Thành phố", "CATP", ("Công an thành phố Hà Nội", "Công an TP", "CATP Hà Nội")),
    KnownAgency("Công an tỉnh", "CAT"),
    KnownAgency(
        "Ban Tuyên giáo và Dân vận Thành ủy",
        "Ban TG&DV Thành ủy",
        (
            "Ban Tuyên giáo và Dân vận Thành ủy Hà Nội",
            "Ban TGDV Thành ủy",
            "Ban Tuyên giáo - Dân vận Thành ủy",
        ),
    ),
    KnownAgency(
        "Ban Tuyên giáo và Dân vận Tỉnh ủy",
        "Ban TG&DV Tỉnh ủy",
        ("Ban TGDV Tỉnh ủy", "Ban Tuyên giáo - Dân vận Tỉnh ủy"),
    ),
    KnownAgency(
        "Ban Tuyên giáo Thành ủy",
        "BTG Thành ủy",
        ("Ban Tuyên giáo Thành ủy Hà Nội", "Ban TG Thành ủy"),
        status="merged",
        since=ND45,
        successor="Ban Tuyên giáo và Dân vận Thành ủy",
    ),
    KnownAgency(
        "Ban Dân vận Thành ủy",
        "BDV Thành ủy",
        ("Ban DV Thành ủy",),
        status="merged",
        since=ND45,
        successor="Ban Tuyên giáo và Dân vận Thành ủy",
    ),
    KnownAgency(
        "Ban Tuyên giáo Tỉnh ủy",
        "BTG Tỉnh ủy",
        ("Ban TG Tỉnh ủy",),
        status="merged",
        since=ND45,
        successor="Ban Tuyên giáo và Dân vận Tỉnh ủy",
    ),
    KnownAgency("Ban Tuyên giáo Trung ương", "BTGTW", ("Ban TGTW",)),
    # --- Groups: many bodies under one phrase; each member reports for itself once defined ----------
    KnownAgency(
        "UBND các xã, phường",
        "UBND xã/phường",
        (
            "UBND xã, phường",
            "UBND các phường, xã",
            "UBND cấp xã",
            "Ủy ban nhân dân các xã, phường",
            "Ủy ban nhân dân cấp xã",
            "UBND các xã, phường, đặc khu",
            "UBND các xã, phường, thị trấn",
        ),
        group=True,
    ),
    KnownAgency(
        "Các Sở, ban, ngành",
        None,
        ("Các Sở, ban, ngành Thành phố", "Các sở, ban, ngành tỉnh", "Các Sở, ngành"),
        group=True,
    ),
    KnownAgency(
        "UBND các quận, huyện, thị xã",
        "UBND quận/huyện/thị xã",
        (
            "UBND quận, huyện, thị xã",
            "Ủy ban nhân dân các quận, huyện, thị xã",
            "Ủy ban nhân dân quận, huyện, thị xã",
            "UBND cấp huyện",
            "Ủy ban nhân dân cấp huyện",
            "UBND các quận, huyện",
        ),
        status="merged",
        since=DISTRICTS_END,
        successor="UBND các xã, phường",
        group=True,
    ),
    # Provinces have no "quận": their district level is named after what the province has.
    KnownAgency(
        "UBND các huyện, thành phố",
        "UBND huyện/thành phố",
        ("UBND huyện, thành phố", "Ủy ban nhân dân các huyện, thành phố"),
        status="merged",
        since=DISTRICTS_END,
        successor="UBND các xã, phường",
        group=True,
    ),
    KnownAgency(
        "UBND các huyện, thị xã, thành phố",
        "UBND huyện/thị xã/thành phố",
        (
            "UBND huyện, thị xã, thành phố",
            "UBND các huyện, thành phố, thị xã",
            "UBND các huyện, thị xã",
            "Ủy ban nhân dân các huyện, thị xã, thành phố",
        ),
        status="merged",
        since=DISTRICTS_END,
        successor="UBND các xã, phường",
        group=True,
    ),
    KnownAgency(
        "Phòng Văn hóa và Thông tin quận, huyện, thị xã",
        "Phòng VHTT quận, huyện, thị xã",
        (
            "Phòng VHHT quận, huyện, thị xã",
            "Phòng VH-TT quận, huyện, thị xã",
            "Phòng Văn hóa - Thông tin quận, huyện, thị xã",
            "Phòng Văn hóa và Thông tin cấp huyện",
        ),
        status="dissolved",
        since=DISTRICTS_END,
    ),
    # --- Press and the state's information channels -------------------------------------------------
    KnownAgency("Thông tấn xã Việt Nam", "TTXVN"),
    KnownAgency("Đài Tiếng nói Việt Nam", "VOV"),
    KnownAgency("Đài Truyền hình Việt Nam", "VTV"),
    KnownAgency(
        "Đài Phát thanh và Truyền hình Hà Nội",
        "Đài PT&TH Hà Nội",
        ("Đài PTTH Hà Nội", "Đài PT-TH Hà Nội", "Đài Hà Nội", "Đài Phát thanh, Truyền hình Hà Nội"),
    ),
    KnownAgency(
        "Đài Phát thanh và Truyền hình tỉnh",
        "Đài PT&TH tỉnh",
        ("Đài PTTH tỉnh", "Đài PT-TH tỉnh", "Đài Phát thanh - Truyền hình tỉnh"),
    ),
    KnownAgency("Báo Nhân dân", None, ("Báo Nhân Dân",)),
    KnownAgency("Báo Hà Nội mới"),
    KnownAgency("Báo Kinh tế và Đô thị", None, ("Báo Kinh tế & Đô thị",)),
    KnownAgency("Báo An ninh Thủ đô"),
    KnownAgency("Cổng thông tin điện tử Chính phủ", None, ("Cổng TTĐT Chính phủ",)),
    KnownAgency(
        "Cổng Giao tiếp điện tử Hà Nội",
        None,
        ("Cổng Giao tiếp điện tử Thành phố", "Cổng GTĐT Hà Nội", "Cổng giao tiếp điện tử thành phố Hà Nội"),
    ),
    KnownAgency(
        "Liên hiệp các tổ chức hữu nghị Thành phố",
        "Liên hiệp các TCHN Thành phố",
        ("Liên hiệp các tổ chức hữu nghị thành phố Hà Nội", "Liên hiệp các TCHN", "HAUFO"),
    ),
    KnownAgency(
        "Viện Nghiên cứu phát triển kinh tế - xã hội Hà Nội",
        "Viện NCPT KT-XH Hà Nội",
        ("Viện Nghiên cứu phát triển KT-XH Hà Nội",),
    ),
    KnownAgency(
        "Cơ quan Hợp tác Quốc tế Nhật Bản",
        "JICA",
        ("Cơ quan Hợp tác Quốc tế Nhật Bản (JICA)",),
    ),
)


def drop_and(key: str) -> str:
    """A folded key without the word "và", so that "và" and "&" spell the same name."""
    return " ".join(word for word in key.split() if word != "va")


def match_keys(text: str) -> list[str]:
    """The keys a spelling may be stored under: its fold, and its fold without "và"."""
    key = fold(text)
    if not key:
        return []
    bare = drop_and(key)
    return [key] if bare == key or not bare else [key, bare]


def _build_index() -> dict[str, KnownAgency]:
    index: dict[str, KnownAgency] = {}
    for entry in KNOWN_AGENCIES:
        for spelling in entry.spellings:
            for key in match_keys(spelling):
                # First entry wins: a short form shared by two agencies must not silently flip.
                index.setdefault(key, entry)
    return index


_KNOWN_INDEX = _build_index()


def known_agency(text: str) -> KnownAgency | None:
    """The built-in entry a spelling names, if any."""
    for key in match_keys(text):
        if entry := _KNOWN_INDEX.get(key):
            return entry
    return None


# --- Cutting a cell into agency names ---------------------------------------------------------------

# Words that begin an agency's name. After "và" only these (or "các …") start a new agency, so that
# "Sở Khoa học và Công nghệ" stays whole while "Sở Nội vụ và Sở Tài chính" is two.
_HEAD_WORDS = tuple(
    fold(word)
    for word in (
        "Sở",
        "Ban",
        "Bộ",
        "UBND",
        "Ủy ban",
        "Uỷ ban",
        "Trung tâm",
        "Đài",
        "Báo",
        "Cổng",
        "Công an",
        "Thông tấn xã",
        "Viện",
        "Liên hiệp",
        "Liên đoàn",
        "Phòng",
        "Đoàn",
        "Cơ quan",
        "Tổng cục",
        "Cục",
        "Chi cục",
        "Hiệp hội",
        "Hội",
        "Hãng",
        "Văn phòng",
        "Thành ủy",
        "Tỉnh ủy",
        "Huyện ủy",
        "Mặt trận",
        "Trường",
        "Bệnh viện",
        "Kho bạc",
        "Ngân hàng",
        "Quỹ",
        "Tòa án",
        "Thanh tra",
        "Bộ Chỉ huy",
        "Tập đoàn",
        "Tổng công ty",
        "Công ty",
        "Bưu điện",
        "Truyền hình",
        "Trang",
        "Tạp chí",
        "Nhà xuất bản",
        "Học viện",
        "Đại học",
        "Thành đoàn",
        "Tỉnh đoàn",
        "Công đoàn",
        "Hội đồng",
    )
)
# Plural or open-ended phrases ("các cơ quan liên quan"): kept in the cell's text, never an agency.
# They are compared with their diacritics: folded, "mọi" (every) and "môi" (as in "Môi trường") are
# the same word, and "Sở Nông nghiệp và Môi trường" must not lose its second half. Text typed without
# any diacritics is compared folded, with the one name-word that folds onto a generic start set apart.
_GENERIC_STARTS = ("các ", "những ", "toàn thể ", "mọi ")
_GENERIC_STARTS_FOLDED = ("cac ", "nhung ", "toan the ", "moi ")
_NOT_GENERIC_FOLDED = ("moi truong",)
_GENERIC_WORDS = ("lien quan", "co lien quan")


def _has_diacritics(text: str) -> bool:
    return strip_diacritics(text) != text


def _generic_start(text: str) -> bool:
    """Whether a piece begins like "các …", "mọi …": a phrase about many bodies, not one name."""
    lowered = normalize_space(text).lower()
    if _has_diacritics(text):
        return lowered.startswith(_GENERIC_STARTS)
    key = fold(text) + " "
    return key.startswith(_GENERIC_STARTS_FOLDED) and not key.startswith(_NOT_GENERIC_FOLDED)


# Separators in the order of the original text; "và" is handled apart because names contain it.
_SEPARATOR = re.compile(r"\s*(?:\n[-–+•]\s|[,;\n]|\s[-–]\s|^[-–+•]\s)\s*|\s+và\s+|\s+cùng\s+", re.IGNORECASE)
_MARKUP = re.compile(r"</?(?:b|i|u|em|strong)>|\*\*|__", re.IGNORECASE)
_UNDER = re.compile(r",?\s+(?:trực\s+)?thuộc\s+.*$", re.IGNORECASE | re.DOTALL)


def strip_markup(text: str) -> str:
    return _MARKUP.sub("", text)


def _first_letter(text: str) -> str:
    for ch in text:
        if ch.isalpha():
            return ch
    return ""


def _is_abbreviation(piece: str) -> bool:
    word = piece.split()[0] if piece.split() else ""
    letters = [ch for ch in word if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def _starts_agency(piece: str) -> bool:
    key = fold(piece)
    if _generic_start(piece):
        return True
    if not _first_letter(piece).isupper():
        return False
    return _is_abbreviation(piece) or any(key == w or key.startswith(w + " ") for w in _HEAD_WORDS)


def starts_agency(text: str) -> bool:
    """Whether `text` begins the name of an agency ("Sở …", "UBND …", an abbreviation)."""
    return _starts_agency(text)


def ends_on_head_word(text: str) -> bool:
    """Whether `text` ends on words that begin agency names ("… thuộc Sở", "Trung tâm"): a name
    cannot end there."""
    key = fold(text).rstrip(" .")
    return any(key == w or key.endswith(" " + w) for w in _HEAD_WORDS)


def is_generic(text: str) -> bool:
    """Whether a piece of a cell is a phrase like "Các cơ quan, đơn vị liên quan" rather than a name."""
    entry = known_agency(text)
    if entry is not None and not (entry.group and _generic_start(text)):
        return False
    # A group written as a plural ("Các Sở, ban, ngành") stays generic here: it becomes an agency only
    # where the deployment has defined its members (storage.plans.importer).
    key = fold(text)
    return not key or _generic_start(text) or any(w in key for w in _GENERIC_WORDS)


def _pieces(text: str) -> list[tuple[str, str]]:
    """(separator before, piece) pairs, separators outside parentheses only."""
    pieces: list[tuple[str, str]] = []
    depth = 0
    start = 0
    separator = ""
    position = 0
    while position < len(text):
        ch = text[position]
        if ch in "([":
            depth += 1
        elif ch in ")]" and depth:
            depth -= 1
        if depth == 0 and (match := _SEPARATOR.match(text, position)) and match.end() > position:
            pieces.append((separator, text[start:position]))
            separator = match.group().strip().lower() or ","
            start = position = match.end()
            continue
        position += 1
    pieces.append((separator, text[start:]))
    return [(sep, piece.strip()) for sep, piece in pieces if piece.strip()]


def _merge_known(pieces: list[tuple[str, str]], text_of) -> list[tuple[str, str]]:
    """Put back together a known name that the separators cut ("Trung tâm Xúc tiến Đầu tư, Thương
    mại, Du lịch"), longest first."""
    merged: list[tuple[str, str]] = []
    i = 0
    while i < len(pieces):
        best = i
        for j in range(len(pieces) - 1, i, -1):
            if known_agency(text_of(pieces, i, j)):
                best = j
                break
        merged.append((pieces[i][0], text_of(pieces, i, best)))
        i = best + 1
    return merged


def _join(pieces: list[tuple[str, str]], i: int, j: int) -> str:
    out = pieces[i][1]
    for sep, piece in pieces[i + 1 : j + 1]:
        out += {"và": " và ", "cùng": " cùng ", "-": " - ", "–": " – "}.get(sep, f"{sep} ") + piece
    return out


def split_cell(text: str) -> list[tuple[str, bool]]:
    """The pieces of a cell, each with whether it is a generic phrase (True) or an agency (False)."""
    lines = (normalize_space(line) for line in strip_markup(text).replace("\r", "\n").split("\n"))
    text = "\n".join(line for line in lines if line).strip(" .;")
    if not text:
        return []
    pieces = _merge_known(_pieces(text), _join)
    # Glue back whatever does not start a new agency: a lower-case continuation ("các Sở, ngành",
    # "quận, huyện, thị xã", "kinh tế - xã hội"), or a "và" that sits inside a name.
    groups: list[list[tuple[str, str]]] = []
    for sep, piece in pieces:
        starts = known_agency(piece) is not None or _starts_agency(piece)
        if sep == "và" or sep == "cùng":
            new = starts
        else:
            new = starts or _first_letter(piece).isupper() or not groups
        if new or not groups:
            groups.append([("", piece)])
        else:
            groups[-1].append((sep, piece))
    result = []
    for group in groups:
        piece = _join(group, 0, len(group) - 1).strip(" .;:-–+•")
        if piece:
            result.append((piece, is_generic(piece)))
    return result


def split_agencies(text: str) -> list[str]:
    """The agencies a cell names, in order, as written.

    Rules: agencies are separated by commas, semicolons, line breaks, spaced dashes or "- " bullets,
    and by "và" only where the next words begin an agency ("Sở …", "Ban …", an abbreviation …);
    a piece starting in lower case continues the previous one; a known name is never cut; "X, thuộc
    Y" names X (a unit of Y). Generic phrases ("các cơ quan, đơn vị liên quan", "các Sở, ngành")
    are left out: they stay in the cell's text but are nobody in particular to remind.
    """
    names = []
    for piece, generic in split_cell(text):
        if generic:
            continue
        if not known_agency(piece):
            piece = _UNDER.sub("", piece).strip(" ,") or piece
        if piece not in names:
            names.append(piece)
    return names
