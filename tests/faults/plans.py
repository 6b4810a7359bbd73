"""Malformed plan files, generated from the sample plan, and what importing each must do.

`malformed_plans(directory, count, seed)` writes `count` files: truncated, re-encoded, with the
header or the appendix table damaged, with impossible dates, shuffled or corrupted bytes, binary
junk under a .txt/.docx/.xlsx/.csv name, and combinations of those. `check_import` runs one through
`nhacviec plan import` (the CLI, in Vietnamese or English) and through the importer itself, and
reports what went wrong:
- an exception other than the importer's PlanFormatError, or a traceback from the command;
- a partial write: a refused file changed the database, or an accepted one is not all there;
- a message in the wrong language.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bot.cli import main as nhacviec
from storage.db import Database
from storage.plans.notices import PlanFormatError
from storage.plans.parser import parse_plan_file
from tests.conftest import SAMPLE_PLAN
from tests.faults.fuzz import wrong_language

Mutation = Callable[[random.Random, str], tuple[str, bytes]]  # -> (file suffix, content)


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _table_rows(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.count("\t") >= 3]


def truncated(rng, text):
    return ".txt", text[: rng.randrange(0, len(text))].encode()


def empty(rng, text):
    return ".txt", rng.choice([b"", b"   \n\n\t", b"\xef\xbb\xbf"])


def binary_junk(rng, text):
    return rng.choice([".txt", ".docx", ".xlsx", ".csv"]), bytes(
        rng.randrange(256) for _ in range(rng.randrange(1, 5000))
    )


def reencoded(rng, text):
    encoding = rng.choice(["utf-16", "utf-16-be", "cp1258", "latin-1", "utf-32"])
    return ".txt", text.encode(encoding, errors="replace")


def invalid_utf8(rng, text):
    data = bytearray(text.encode())
    for _ in range(rng.randrange(1, 30)):
        data.insert(rng.randrange(len(data)), rng.choice([0x80, 0xC3, 0xFF, 0xFE, 0x00]))
    return ".txt", bytes(data)


def no_number(rng, text):
    return ".txt", "\n".join(line for line in _lines(text) if "KH-UBND" not in line).encode()


def weird_number(rng, text):
    number = rng.choice(
        ["Số: /KH-UBND", "Số: **-45** /KH-UBND", "Số: 45/KH-", "Số: ٤٥/KH-UBND", "Số: " + "9" * 300]
    )
    return ".txt", "\n".join(number if "/KH-UBND" in line else line for line in _lines(text)).encode()


def impossible_dates(rng, text):
    replacement = rng.choice(
        [("ngày **15** tháng **3** năm 2021", "ngày **32** tháng **13** năm 2021"),
         ("năm 2021", "năm 99999"), ("năm 2021", "năm 0"), ("15/6 và 15/11", "31/2 và 45/13"),
         ("15/6 và 15/11", "")]
    )  # fmt: skip
    return ".txt", text.replace(*replacement).encode()


def no_table_header(rng, text):
    return ".txt", "\n".join(line for line in _lines(text) if "Nội dung, quy mô" not in line).encode()


def damaged_rows(rng, text):
    lines = _lines(text)
    for i in rng.sample(_table_rows(lines), k=min(4, len(_table_rows(lines)))):
        cells = lines[i].split("\t")
        how = rng.randrange(4)
        if how == 0:
            cells = cells[: rng.randrange(1, len(cells))]  # cells missing
        elif how == 1:
            cells += ["thừa"] * rng.randrange(1, 6)  # extra columns
        elif how == 2:
            cells[0] = rng.choice(["", "x", "-1", "1.5", "999999999999", "IV"])  # bad number
        else:
            cells[rng.randrange(len(cells))] = ""
        lines[i] = "\t".join(cells)
    return ".txt", "\n".join(lines).encode()


def duplicate_rows(rng, text):
    lines = _lines(text)
    rows = _table_rows(lines)
    for i in rng.sample(rows, k=min(3, len(rows))):
        lines.insert(i, lines[i])
    return ".txt", "\n".join(lines).encode()


def bad_timeframes(rng, text):
    lines = _lines(text)
    for i in _table_rows(lines)[1:]:
        cells = lines[i].split("\t")
        if len(cells) > 2:
            cells[2] = rng.choice(
                ["Quý VIII/2021", "31/02/2021", "Tháng 13", "Từ 5/2021 đến 1/2021", "", "∞"]
            )
        lines[i] = "\t".join(cells)
    return ".txt", "\n".join(lines).encode()


def shuffled(rng, text):
    lines = _lines(text)
    rng.shuffle(lines)
    return ".txt", "\n".join(lines).encode()


def flipped_bytes(rng, text):
    data = bytearray(text.encode())
    for _ in range(rng.randrange(1, 40)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return ".txt", bytes(data)


def huge_cells(rng, text):
    lines = _lines(text)
    i = rng.choice(_table_rows(lines)[1:])
    cells = lines[i].split("\t")
    cells[rng.randrange(len(cells))] = "Sở " * rng.choice([10_000, 100_000])
    lines[i] = "\t".join(cells)
    return ".txt", "\n".join(lines).encode()


def markup(rng, text):
    return ".txt", text.replace(
        "Sở Thông tin và Truyền thông", "<b>Sở <i>Thông tin</b> & Truyền thông</i>"
    ).encode()


def control_characters(rng, text):
    chars = list(text)
    for _ in range(50):
        chars.insert(
            rng.randrange(len(chars)), rng.choice(["\x00", "\x0b", "\x1b", "\u200b", "\u202e", "\r"])
        )
    return ".txt", "".join(chars).encode()


def bad_docx(rng, text):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", rng.choice(["<w:document>", text[:500], "\x00\x01"]))
    return ".docx", buffer.getvalue()


def bad_xlsx(rng, text):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook><sheets/></workbook>")
    return ".xlsx", buffer.getvalue()


def bad_csv(rng, text):
    rows = [line.replace("\t", rng.choice([",", ";", '"'])) for line in _lines(text)]
    return ".csv", "\n".join(rows).encode()


def unsupported(rng, text):
    return rng.choice([".pdf", ".odt", ".png", ""]), text.encode()


MUTATIONS: tuple[Mutation, ...] = (
    truncated, empty, binary_junk, reencoded, invalid_utf8, no_number, weird_number, impossible_dates,
    no_table_header, damaged_rows, duplicate_rows, bad_timeframes, shuffled, flipped_bytes, huge_cells,
    markup, control_characters, bad_docx, bad_xlsx, bad_csv, unsupported,
)  # fmt: skip
_TEXT_MUTATIONS = (
    no_number, weird_number, impossible_dates, damaged_rows, duplicate_rows, bad_timeframes, markup,
    control_characters, no_table_header,
)  # fmt: skip


def malformed_plans(directory: Path, count: int = 50, seed: int = 87) -> list[Path]:
    """Every mutation once, then random combinations of the textual ones, `count` files in all."""
    rng = random.Random(seed)
    text = SAMPLE_PLAN.read_text(encoding="utf-8")
    files = []
    for n in range(count):
        if n < len(MUTATIONS):
            suffix, content = MUTATIONS[n](rng, text)
            name = MUTATIONS[n].__name__
        else:
            chosen = rng.sample(_TEXT_MUTATIONS, k=rng.randrange(2, 4))
            mixed = text
            for mutation in chosen:
                mixed = mutation(rng, mixed)[1].decode("utf-8", errors="replace")
            suffix, content = ".txt", mixed.encode()
            name = "+".join(m.__name__ for m in chosen)
        path = directory / f"{n:02d}-{name}{suffix}"
        path.write_bytes(content)
        files.append(path)
    return files


# ---------------------------------------------------------------- importing one


PLAN_TABLES = ("plan", "section", "task", "task_agency", "agency", "agency_alias", "progress_update")


async def _fingerprint(url: str) -> str:
    db = Database(url)
    try:
        digest = hashlib.sha256()
        async with db.snapshot() as session:
            for table in PLAN_TABLES:
                for row in await session.execute(text(f'SELECT * FROM "{table}" ORDER BY 1')):
                    digest.update(repr(tuple(row)).encode())
        return digest.hexdigest()
    finally:
        await db.dispose()


def fingerprint(url: str) -> str:
    """What the plan tables hold, as one hash: equal before and after means nothing was written."""
    return asyncio.run(_fingerprint(url))


async def _plan_tasks(url: str, number: str) -> int | None:
    db = Database(url)
    try:
        async with db.snapshot() as session:
            plan_id = await session.scalar(text("SELECT id FROM plan WHERE number = :n"), {"n": number})
            if plan_id is None:
                return None
            return await session.scalar(text("SELECT count(*) FROM task WHERE plan_id = :p"), {"p": plan_id})
    finally:
        await db.dispose()


def plan_tasks(url: str, number: str) -> int | None:
    return asyncio.run(_plan_tasks(url, number))


@dataclass
class PlanVerdict:
    path: Path
    language: str
    accepted: bool
    problems: list[str]
    message: str


def check_import(path: Path, url: str, config: Path, language: str) -> PlanVerdict:
    """Import `path` with the CLI configured for `language`; what it did and what went wrong."""
    problems: list[str] = []
    parsed = None
    try:
        parsed = parse_plan_file(path)
    except PlanFormatError:
        pass
    except Exception as exc:  # the parser must turn every bad file into PlanFormatError
        problems.append(f"parser raised {type(exc).__name__}: {exc}")
    before = fingerprint(url)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = nhacviec(
                [
                    "--config",
                    str(config),
                    "--db",
                    url,
                    "plan",
                    "import",
                    str(path),
                ]
            )
        except BaseException as exc:  # noqa: BLE001 - anything escaping the command is the finding
            code = -1
            problems.append(f"the command raised {type(exc).__name__}: {exc}")
    message = (out.getvalue() + err.getvalue()).strip()
    if "Traceback" in message:
        problems.append("the command printed a traceback")
    if code == 0:
        if parsed is None:
            problems.append("the command accepted a file the parser refuses")
        else:
            expected = sum(len(section.tasks) for section in parsed.sections)
            stored = plan_tasks(url, parsed.number)
            if stored != expected:
                problems.append(f"partial import: {stored} tasks stored, the file has {expected}")
    elif code == 1:
        if fingerprint(url) != before:
            problems.append("a refused file changed the database")
        if not message:
            problems.append("refused without a message")
    else:
        problems.append(f"exit status {code}")
    marker = wrong_language(message, language, typed=path.read_text(encoding="utf-8", errors="replace"))
    if marker:
        problems.append(f"message not in {language} ({marker!r})")
    return PlanVerdict(path, language, code == 0, problems, message)


def write_language_config(directory: Path, language: str) -> Path:
    path = directory / f"{language}.toml"
    path.write_text(f'[i18n]\ndefault_language = "{language}"\n', encoding="utf-8")
    return path


def run_all(directory: Path, url: str, count: int = 50, seed: int = 87) -> list[PlanVerdict]:
    """Generate the files and import each, alternately in Vietnamese and in English."""
    configs = {lang: write_language_config(directory, lang) for lang in ("vi", "en")}
    files = malformed_plans(directory, count, seed)
    return [
        check_import(path, url, configs["vi" if n % 2 == 0 else "en"], "vi" if n % 2 == 0 else "en")
        for n, path in enumerate(files)
    ]
