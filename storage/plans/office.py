"""Word and Excel files, read within the import limits.

Both are ZIP archives of XML parts, and both can be made hostile: a few hundred kilobytes that
expand to gigabytes, millions of empty paragraphs, a document type declaration that defines
entities. Before anything is expanded, the archive's declared sizes are checked (Python's zipfile
never inflates a member past its declared size) and every XML part is refused if it carries a DTD,
which Word and Excel never write.

The Word document is then read as a stream (lxml's iterparse), each paragraph and table row dropped
once read, so memory follows the plan's text rather than the document's markup; python-docx's
object model of a whole document costs some 170 bytes per XML element. Excel sheets are read
through openpyxl's read-only (streaming) mode, counting rows as they come.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator

from storage.plans.limits import ImportLimits, LineCounter
from storage.plans.notices import N_, PlanFormatError
from storage.plans.rows import IsHeader, Row, Source

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_XML_PART = re.compile(r"\.(xml|rels|vml)$", re.IGNORECASE)
# The first element of a part: anything before it (declaration, comments, a DTD) is its prolog.
_ROOT_START = re.compile(rb"<[A-Za-z_]")


def check_archive(archive: zipfile.ZipFile, name: str, limits: ImportLimits) -> None:
    infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    if total > limits.max_bytes:
        raise PlanFormatError(
            N_(
                "{name} expands to {megabytes} MB when unpacked, more than the {limit} MB a plan may take "
                "([plan] max_megabytes)"
            ),
            name=name,
            megabytes=round(total / 1024 / 1024, 1),
            limit=limits.max_megabytes,
        )
    for info in infos:
        if _XML_PART.search(info.filename) and _has_dtd(archive, info):
            raise PlanFormatError(
                N_(
                    "{name} is refused: its part {part} declares a document type (DTD), which Word and "
                    "Excel never write"
                ),
                name=name,
                part=info.filename,
            )


def _has_dtd(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    try:
        with archive.open(info) as part:
            prolog = part.read(64 * 1024)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        return False  # a damaged member is reported by the reader that needs it
    root = _ROOT_START.search(prolog)
    return b"<!DOCTYPE" in (prolog[: root.start()] if root else prolog)


def _damaged(name: str, kind: str) -> PlanFormatError:
    if kind == "docx":
        return PlanFormatError(N_("{name} is damaged: the Word document cannot be read"), name=name)
    return PlanFormatError(N_("{name} is damaged: the Excel workbook cannot be read"), name=name)


# --- Word ---------------------------------------------------------------------------------------


def _run_text(run) -> str:
    # As python-docx reads a run: text, tabs, line breaks (not page or column breaks), hyphens.
    parts = []
    for child in run:
        tag = child.tag
        if tag == W + "t":
            parts.append(child.text or "")
        elif tag in (W + "tab", W + "ptab"):
            parts.append("\t")
        elif tag == W + "br":
            if child.get(W + "type", "textWrapping") == "textWrapping":
                parts.append("\n")
        elif tag == W + "cr":
            parts.append("\n")
        elif tag == W + "noBreakHyphen":
            parts.append("-")
    return "".join(parts)


def _paragraph_text(paragraph) -> str:
    parts = []
    for child in paragraph:
        if child.tag == W + "r":
            parts.append(_run_text(child))
        elif child.tag == W + "hyperlink":
            parts.extend(_run_text(run) for run in child if run.tag == W + "r")
    return "".join(parts)


def _property(element, *path: str) -> str | None:
    """The w:val of a property element such as tcPr/gridSpan; "" when present without a value."""
    for tag in path:
        element = element.find(W + tag) if element is not None else None
    if element is None:
        return None
    return element.get(W + "val", "")


def _row_cells(row, above: dict[int, tuple[str, int]]) -> tuple[list[str], dict[int, tuple[str, int]]]:
    """The cells of a table row as python-docx gives them: a cell spanning several grid columns once
    with its text and then empty, a cell continuing a vertical merge with the text of the cell it
    continues. Returns the cells and the row's grid (offset -> text and span) for the next row."""
    cells: list[str] = []
    grid: dict[int, tuple[str, int]] = {}
    offset = int(_property(row, "trPr", "gridBefore") or 0)
    for cell in row:
        if cell.tag != W + "tc":
            continue
        span = max(1, int(_property(cell, "tcPr", "gridSpan") or 1))
        merge = _property(cell, "tcPr", "vMerge")
        if merge is not None and merge in ("", "continue") and offset in above:
            text, span = above[offset]
        else:
            text = "\n".join(_paragraph_text(p) for p in cell if p.tag == W + "p")
        grid[offset] = (text, span)
        cells.append(text)
        cells.extend([""] * (span - 1))
        offset += span
    return cells, grid


def _word_blocks(part, counter: LineCounter) -> Iterator[tuple[str, object]]:
    """("paragraph", text) and ("table", rows) for the body's top-level blocks, in order."""
    from lxml import etree

    depth = 0
    table: list[list[str]] | None = None
    above: dict[int, tuple[str, int]] = {}
    events = etree.iterparse(
        part, events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False
    )
    for event, element in events:
        if event == "start":
            depth += 1
            if depth == 3 and element.tag == W + "tbl":
                table, above = [], {}
            continue
        depth -= 1
        tag = element.tag
        if tag == W + "p":
            counter.line()
        done = False
        if depth == 2:  # a child of w:body
            done = True
            if tag == W + "p":
                yield "paragraph", _paragraph_text(element)
            elif tag == W + "tbl" and table is not None:
                yield "table", table
                table = None
        elif depth == 3 and tag == W + "tr" and table is not None:
            counter.row()
            cells, above = _row_cells(element, above)
            table.append(cells)
            done = True
        if done:
            element.clear()
            parent = element.getparent()
            if parent is not None:
                parent.remove(element)


def read_docx(data: bytes, name: str, is_header: IsHeader, limits: ImportLimits):
    from lxml import etree

    counter = LineCounter(name, limits)
    body: list[str] = []
    rows: list[Row] = []
    columns = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_archive(archive, name, limits)
            with archive.open("word/document.xml") as part:
                for kind, block in _word_blocks(part, counter):
                    if kind == "paragraph":
                        if not rows:
                            body.append(block)
                        continue
                    table_rows = block
                    if not table_rows:
                        continue
                    if not rows:
                        start = next((i for i, cells in enumerate(table_rows) if is_header(cells)), None)
                        if start is None:
                            body.extend(
                                " ".join(c.strip() for c in cells if c.strip()) for cells in table_rows
                            )
                            continue
                        body.extend(
                            " ".join(c.strip() for c in cells if c.strip()) for cells in table_rows[:start]
                        )
                        table_rows = table_rows[start:]
                        columns = len(table_rows[0])
                    elif not any(is_header(cells) for cells in table_rows) and len(table_rows[0]) != columns:
                        # A later table of another shape (a signature block) is not part of the appendix.
                        continue
                    for cells in table_rows:
                        rows.append(Row(cells, len(rows) + 1))
    except PlanFormatError:
        raise
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, etree.Error, ValueError) as exc:
        raise _damaged(name, "docx") from exc
    return Source(name, "docx", body, rows)


# --- Excel --------------------------------------------------------------------------------------


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


def _count_shared_strings(archive: zipfile.ZipFile, counter: LineCounter) -> None:
    """openpyxl holds every shared string in memory: count them first, as a stream."""
    from lxml import etree

    names = [n for n in archive.namelist() if n.lower().endswith("sharedstrings.xml")]
    for member in names:
        with archive.open(member) as part:
            for _, element in etree.iterparse(
                part, events=("end",), resolve_entities=False, no_network=True, load_dtd=False
            ):
                if element.tag.endswith("}si"):
                    counter.line()
                    element.clear()
                    while element.getprevious() is not None:
                        del element.getparent()[0]


def read_xlsx(data: bytes, name: str, is_header: IsHeader, limits: ImportLimits):
    import openpyxl
    from lxml import etree

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_archive(archive, name, limits)
            _count_shared_strings(archive, LineCounter(name, limits))
    except PlanFormatError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, etree.Error) as exc:
        raise _damaged(name, "xlsx") from exc
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several types for a broken workbook
        raise _damaged(name, "xlsx") from exc
    counter = LineCounter(name, limits)
    try:
        first_body: list[str] | None = None
        for sheet in workbook.worksheets:
            # The <dimension> a sheet declares may be wrong (or forged): rows past it would be
            # dropped without a word. Read every row the sheet holds instead.
            sheet.reset_dimensions()
            body: list[str] = []
            table: list[Row] = []
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = [_cell_text(v) for v in values]
                if table or is_header(cells):
                    counter.row()
                    table.append(Row(cells, number))
                else:
                    counter.line()
                    body.append(" ".join(cell.strip() for cell in cells if cell.strip()))
            if table:
                return Source(name, "xlsx", body, table)
            if first_body is None:
                first_body = [line for line in body]
        return Source(name, "xlsx", first_body or [], [])
    except PlanFormatError:
        raise
    except Exception as exc:  # a sheet is parsed only while it is iterated
        raise _damaged(name, "xlsx") from exc
    finally:
        workbook.close()
