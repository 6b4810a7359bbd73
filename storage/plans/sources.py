"""Reading a plan file into body lines and table rows, whatever it was saved as.

Plans circulate as the signed PDF, as text exported from it (the appendix table tab-separated, one
row per line), as Word files, as Excel sheets and as CSV. Each reader yields the same thing: the
lines of the body (where the number, date, title and reporting clause are) and the rows of the
appendix table from its first header row on. The kind of file is told by its content, not its name,
so a Word file saved as ".txt" is still read as Word. Every reader keeps within `ImportLimits`
(storage/plans/limits.py) and refuses what would not.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from storage.plans.limits import DEFAULT_LIMITS, ImportLimits, LineCounter
from storage.plans.notices import N_, PlanFormatError
from storage.plans.rows import IsHeader, Row, Source

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_file_bytes(path: Path, limits: ImportLimits = DEFAULT_LIMITS) -> bytes:
    try:
        # Checked before reading: the whole file is held in memory.
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise _too_large(str(path), size, limits)
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise PlanFormatError(N_("{name}: no such file"), name=str(path)) from exc
    except IsADirectoryError as exc:
        raise PlanFormatError(N_("{name} is a folder, not a plan file"), name=str(path)) from exc
    except OSError as exc:
        raise PlanFormatError(
            N_("{name} cannot be read: {reason}"), name=str(path), reason=exc.strerror
        ) from exc


def _too_large(name: str, size: int, limits: ImportLimits) -> PlanFormatError:
    return PlanFormatError(
        N_(
            "{name} is too large: {megabytes} MB, more than the {limit} MB a plan may take ([plan] max_megabytes)"
        ),
        name=name,
        megabytes=round(size / 1024 / 1024, 1),
        limit=limits.max_megabytes,
    )


def read_bytes(data: bytes, name: str, is_header: IsHeader, limits: ImportLimits = DEFAULT_LIMITS) -> Source:
    if len(data) > limits.max_bytes:
        raise _too_large(name, len(data), limits)
    if not data.strip():
        raise PlanFormatError(N_("{name} is empty"), name=name)
    if data.startswith(_ZIP):
        return _read_zip(data, name, is_header, limits)
    if data.startswith(_OLE2):
        raise PlanFormatError(
            N_(
                "{name} is in the old Word/Excel format (.doc/.xls): save it as .docx or .xlsx and import that"
            ),
            name=name,
        )
    if data.startswith(b"%PDF"):
        from storage.plans.pdf import read_pdf  # the PDF reader and its child process, only when needed

        return read_pdf(data, name, is_header, limits)
    text = decode_text(data, name)
    counter = LineCounter(name, limits)
    if name.lower().endswith(".csv"):
        return _read_csv(text, name, is_header, counter)
    return _read_text(text, name, is_header, counter)


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with BOM; anything else is refused, never guessed,
    because a wrong guess would store misspelt agency names without anyone noticing."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise PlanFormatError(
                N_("{name} is damaged: its UTF-16 text ends mid-character"), name=name
            ) from exc
    head = data[:4096]
    controls = sum(1 for b in head if b < 0x20 and b not in b"\t\n\r\f")
    if b"\x00" in head or controls > len(head) // 100:
        raise PlanFormatError(N_("{name} is a binary file, not a plan"), name=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
            raise PlanFormatError(
                N_("{name} is truncated: it ends in the middle of a character"), name=name
            ) from exc
        raise PlanFormatError(
            N_(
                "{name} is not UTF-8 text (byte {byte} at position {position}); it was probably saved in "
                "another encoding such as Windows-1258: save it as UTF-8 and import it again"
            ),
            name=name,
            byte=f"0x{data[exc.start]:02X}",
            position=exc.start,
        ) from exc


def _split_body(
    rows: Iterable[Row], is_header: IsHeader, counter: LineCounter
) -> tuple[list[str], list[Row]]:
    body: list[str] = []
    table: list[Row] = []
    for row in rows:
        if table or is_header(row.cells):
            counter.row()
            table.append(row)
        else:
            counter.line()
            line = " ".join(cell.strip() for cell in row.cells if cell.strip())
            body.append(line)
    return body, table


# The line boundaries str.splitlines() knows, matched one line at a time: a list of every line of a
# file of millions of empty lines would itself take hundreds of megabytes.
_LINE = re.compile(
    r"([^\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]*)(?:\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]|\Z)"
)


def _lines(text: str) -> Iterator[str]:
    for match in _LINE.finditer(text):
        if match.start() == match.end() == len(text):
            return
        yield match[1]


def _read_text(text: str, name: str, is_header: IsHeader, counter: LineCounter) -> Source:
    body: list[str] = []
    rows: list[Row] = []
    stray: list[Row] = []
    for number, line in enumerate(_lines(text), start=1):
        cells = line.split("\t")
        if not rows:
            if is_header(cells):
                counter.row()
                rows.append(Row(cells, number))
            else:
                counter.line()
                body.append(line)
        elif "\t" in line:
            counter.row()
            rows.append(Row(cells, number))
        elif line.strip():
            counter.line()
            stray.append(Row([line.strip()], number))
        else:
            counter.line()
    return Source(name, "text", body, rows, stray, cut_possible=True)


def _read_csv(text: str, name: str, is_header: IsHeader, counter: LineCounter) -> Source:
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)

    def rows() -> Iterator[Row]:
        try:
            for cells in reader:
                yield Row(cells, reader.line_num)
        except csv.Error as exc:
            raise PlanFormatError(
                N_("{name} is truncated or damaged near line {line}: {reason}"),
                name=name,
                line=reader.line_num,
                reason=str(exc),
            ) from exc

    body, table = _split_body(rows(), is_header, counter)
    return Source(name, "csv", body, table, cut_possible=True)


def _read_zip(data: bytes, name: str, is_header: IsHeader, limits: ImportLimits) -> Source:
    from storage.plans.office import read_docx, read_xlsx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise PlanFormatError(
            N_("{name} is damaged or truncated: it cannot be opened as a Word or Excel file"), name=name
        ) from exc
    if "word/document.xml" in members:
        return read_docx(data, name, is_header, limits)
    if "xl/workbook.xml" in members:
        return read_xlsx(data, name, is_header, limits)
    raise PlanFormatError(N_("{name} is a ZIP archive but neither a Word nor an Excel file"), name=name)
