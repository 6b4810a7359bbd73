"""Reading a plan file into body lines and table rows, whatever it was saved as.

Plans circulate as text exported from the signed document (the appendix table tab-separated, one
row per line), as Word files, as Excel sheets and as CSV. Each reader yields the same thing: the
lines of the body (where the number, date, title and reporting clause are) and the rows of the
appendix table from its first header row on. The kind of file is told by its content, not its name,
so a Word file saved as ".txt" is still read as Word and a PDF gets a clear refusal.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from storage.plans.limits import DEFAULT_LIMITS, ImportLimits
from storage.plans.notices import N_, PlanFormatError


@dataclass
class Row:
    cells: list[str]
    line: int  # line of a text file, row of a sheet, or row of a Word table (header row = 1)


@dataclass
class Source:
    name: str
    kind: str  # "text", "csv", "docx", "xlsx", "pdf"
    body: list[str]
    rows: list[Row]  # from the first header row of the appendix table on
    stray: list[Row] = field(default_factory=list)  # text lines among the table rows, not rows
    # Whether the last table row may have been cut short by a truncated file (text formats only:
    # a damaged .docx or .xlsx does not open at all).
    cut_possible: bool = False


IsHeader = Callable[[list[str]], bool]

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
        return _read_zip(data, name, is_header)
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
    if name.lower().endswith(".csv"):
        return _read_csv(text, name, is_header)
    return _read_text(text, name, is_header)


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


def _split_body(rows: Iterable[Row], is_header: IsHeader) -> tuple[list[str], list[Row]]:
    body: list[str] = []
    table: list[Row] = []
    for row in rows:
        if table or is_header(row.cells):
            table.append(row)
        else:
            line = " ".join(cell.strip() for cell in row.cells if cell.strip())
            body.append(line)
    return body, table


def _read_text(text: str, name: str, is_header: IsHeader) -> Source:
    body: list[str] = []
    rows: list[Row] = []
    stray: list[Row] = []
    for number, line in enumerate(text.splitlines(), start=1):
        cells = line.split("\t")
        if not rows:
            if is_header(cells):
                rows.append(Row(cells, number))
            else:
                body.append(line)
        elif "\t" in line:
            rows.append(Row(cells, number))
        elif line.strip():
            stray.append(Row([line.strip()], number))
    return Source(name, "text", body, rows, stray, cut_possible=True)


def _read_csv(text: str, name: str, is_header: IsHeader) -> Source:
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    rows = []
    try:
        for cells in reader:
            rows.append(Row(cells, reader.line_num))
    except csv.Error as exc:
        raise PlanFormatError(
            N_("{name} is truncated or damaged near line {line}: {reason}"),
            name=name,
            line=reader.line_num,
            reason=str(exc),
        ) from exc
    body, table = _split_body(rows, is_header)
    return Source(name, "csv", body, table, cut_possible=True)


def _read_zip(data: bytes, name: str, is_header: IsHeader) -> Source:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise PlanFormatError(
            N_("{name} is damaged or truncated: it cannot be opened as a Word or Excel file"), name=name
        ) from exc
    if "word/document.xml" in members:
        return _read_docx(data, name, is_header)
    if "xl/workbook.xml" in members:
        return _read_xlsx(data, name, is_header)
    raise PlanFormatError(N_("{name} is a ZIP archive but neither a Word nor an Excel file"), name=name)


def _docx_cells(row) -> list[str]:
    # A merged cell appears once per grid column it spans; keep its text in the first only, as a
    # text export would.
    cells, seen = [], set()
    for cell in row.cells:
        key = id(cell._tc)
        cells.append("" if key in seen else "\n".join(p.text for p in cell.paragraphs))
        seen.add(key)
    return cells


def _read_docx(data: bytes, name: str, is_header: IsHeader) -> Source:
    import docx  # python-docx; imported here so that text imports never pay for it
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several types for a broken package
        raise PlanFormatError(N_("{name} is damaged: the Word document cannot be read"), name=name) from exc
    body: list[str] = []
    rows: list[Row] = []
    columns = 0
    for block in document.iter_inner_content():
        if not isinstance(block, Table):
            if not rows:
                body.append(block.text)
            continue
        table_rows = [_docx_cells(row) for row in block.rows]
        if not rows:
            start = next((i for i, cells in enumerate(table_rows) if is_header(cells)), None)
            if start is None:
                body.extend(" ".join(c.strip() for c in cells if c.strip()) for cells in table_rows)
                continue
            body.extend(" ".join(c.strip() for c in cells if c.strip()) for cells in table_rows[:start])
            table_rows = table_rows[start:]
            columns = len(table_rows[0])
        elif not any(is_header(cells) for cells in table_rows) and len(table_rows[0]) != columns:
            # A later table of another shape (a signature block) is not part of the appendix.
            continue
        for cells in table_rows:
            rows.append(Row(cells, len(rows) + 1))
    return Source(name, "docx", body, rows)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        # A timeframe typed as a date in Excel: write it the way plans do.
        return f"{value.day}/{value.month}/{value.year}"
    return str(value)


def _read_xlsx(data: bytes, name: str, is_header: IsHeader) -> Source:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a broken workbook
        raise PlanFormatError(N_("{name} is damaged: the Excel workbook cannot be read"), name=name) from exc
    try:
        for sheet in workbook.worksheets:
            rows = [
                Row([_cell_text(v) for v in values], number)
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
            ]
            body, table = _split_body(rows, is_header)
            if table:
                return Source(name, "xlsx", body, table)
        first = workbook.worksheets[0] if workbook.worksheets else None
        body = []
        if first is not None:
            body = [
                " ".join(_cell_text(v) for v in values if v is not None)
                for values in first.iter_rows(values_only=True)
            ]
        return Source(name, "xlsx", body, [])
    finally:
        workbook.close()
