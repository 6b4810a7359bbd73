"""Reading a plan from a PDF with a text layer: the signed copy as published and circulated.

The library is pdfplumber (on pdfminer.six). The appendix is read by its ruled cells, and pdfplumber
finds a table's cells from the lines and rectangles drawn on the page and gives every word with its
position; pypdfium2 gives text positions too, but no table finding, which would then be ours to
write and keep.

A PDF holds no paragraphs, only positioned lines. Lines are joined back into paragraphs (in the body
and in each cell) where the first word of the next line would not have fitted on the line before:
that is a wrap. Anything else is a real line break, which in an agency cell separates two agencies.

pdfminer inflates a page's streams without any bound, so the reading runs in a child process limited
in memory and time (`python -m storage.plans.pdf`): a hostile file ends in a refusal, never in a
runaway. The child sends back plain blocks (body lines and table rows, page by page, in reading
order); the parent decides where the appendix starts, as it does for a Word file.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import unicodedata

from storage.agency_names import ends_on_head_word, starts_agency
from storage.plans.limits import ImportLimits
from storage.plans.notices import N_, PlanFormatError
from storage.plans.rows import IsHeader, Row, Source

_BULLETS = ("-", "+", "•", "–", "*")
_UNBROKEN = re.compile(r"^[A-Z0-9/.&-]+$")
# Words after which a name or a list goes on.
_CONNECTORS = {"và", "của", "thuộc", "với", "cùng", "các", "trực"}


# --- In the parent ------------------------------------------------------------------------------


def read_pdf(data: bytes, name: str, is_header: IsHeader, limits: ImportLimits) -> Source:
    # pdfminer repairs a file cut short by scanning for the objects it still has, and would then
    # import the pages before the cut as if they were the whole plan.
    if b"%%EOF" not in data[-2048:]:
        raise PlanFormatError(
            N_(
                "{name} is a truncated or damaged PDF (it does not end as a PDF file ends); import the plan's Word (.docx) or Excel (.xlsx) file instead"
            ),
            name=name,
        )
    result = _run_child(data, name, limits)
    if "refused" in result:
        refused = result["refused"]
        raise PlanFormatError(refused["template"], name=name, **refused.get("params", {}))
    return _source(result["pages"], name, is_header)


def _run_child(data: bytes, name: str, limits: ImportLimits) -> dict:
    command = [sys.executable, "-m", "storage.plans.pdf", json.dumps(dataclasses.asdict(limits))]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=limits.pdf_seconds)
    except subprocess.TimeoutExpired as exc:
        raise PlanFormatError(
            N_(
                "{name} could not be read within {seconds} seconds; import the plan's Word (.docx) or Excel (.xlsx) file instead"
            ),
            name=name,
            seconds=limits.pdf_seconds,
        ) from exc
    if done.returncode != 0 or not done.stdout:
        # Killed by its memory or CPU bound, or crashed inside the PDF library.
        raise PlanFormatError(
            N_(
                "{name} could not be read within the import limits ({megabytes} MB of memory); import the plan's Word (.docx) or Excel (.xlsx) file instead"
            ),
            name=name,
            megabytes=limits.pdf_memory_megabytes,
        )
    return json.loads(done.stdout)


def _source(pages: list[list[dict]], name: str, is_header: IsHeader) -> Source:
    body: list[str] = []
    rows: list[Row] = []
    columns = 0
    for blocks in pages:
        for block in blocks:
            if "line" in block:
                if not rows:
                    body.append(block["line"])
                continue
            table_rows = block["rows"]
            if not rows:
                start = next((i for i, cells in enumerate(table_rows) if is_header(cells)), None)
                if start is None:
                    body.extend(" ".join(c for c in cells if c) for cells in table_rows)
                    continue
                body.extend(" ".join(c for c in cells if c) for cells in table_rows[:start])
                table_rows = table_rows[start:]
                columns = len(table_rows[0])
            elif len(table_rows[0]) != columns and not any(is_header(cells) for cells in table_rows):
                # A later table of another shape (a signature block) is not part of the appendix.
                continue
            for cells in table_rows:
                rows.append(Row(cells, len(rows) + 1))
    if not rows:
        raise PlanFormatError(
            N_(
                '{name}: no appendix table with ruled cells (a header row starting "TT | Nội dung") was '
                "found in the PDF; import the plan's Word (.docx) or Excel (.xlsx) file instead"
            ),
            name=name,
        )
    return Source(name, "pdf", body, rows)


# --- In the child -------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, template: str, **params: object):
        super().__init__(template)
        self.template, self.params = template, params


def _bound_memory(megabytes: int) -> None:
    import resource

    # RLIMIT_DATA counts the heap and anonymous mappings (what a runaway inflates into), not the
    # shared libraries mapped at start-up.
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _child(limits: ImportLimits) -> dict:
    data = sys.stdin.buffer.read()
    try:
        _bound_memory(limits.pdf_memory_megabytes)
        return {"pages": _extract(data, limits)}
    except _Refused as refused:
        return {"refused": {"template": refused.template, "params": refused.params}}
    except MemoryError:
        return {
            "refused": {
                "template": N_(
                    "{name} could not be read within the import limits ({megabytes} MB of memory); import the plan's Word (.docx) or Excel (.xlsx) file instead"
                ),
                "params": {"megabytes": limits.pdf_memory_megabytes},
            }
        }


def _extract(data: bytes, limits: ImportLimits) -> list[list[dict]]:
    import io

    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except MemoryError:
        raise
    except Exception as exc:  # pdfplumber wraps pdfminer's several error types
        cause = exc.__cause__ or exc.__context__ or exc
        if isinstance(exc, PDFPasswordIncorrect | PDFEncryptionError) or isinstance(
            cause, PDFPasswordIncorrect | PDFEncryptionError
        ):
            raise _Refused(
                N_(
                    "{name} is protected by a password and cannot be read; import the plan's Word (.docx) or Excel (.xlsx) file instead"
                )
            ) from exc
        raise _Refused(
            N_(
                "{name} is a damaged PDF and cannot be read; import the plan's Word (.docx) or Excel (.xlsx) file instead"
            )
        ) from exc
    with pdf:
        try:
            count = len(pdf.pages)
        except Exception as exc:
            raise _Refused(
                N_(
                    "{name} is a damaged PDF and cannot be read; import the plan's Word (.docx) or Excel (.xlsx) file instead"
                )
            ) from exc
        if count > limits.max_pdf_pages:
            raise _Refused(
                N_("{name} has {pages} pages, more than the {limit} a plan may have ([plan] max_pdf_pages)"),
                pages=count,
                limit=limits.max_pdf_pages,
            )
        pages, words, rows, lines, images = [], 0, 0, 0, 0
        for page in pdf.pages:
            try:
                blocks, page_words = _page_blocks(page)
                images += 0 if page_words else len(page.images)
            except (_Refused, MemoryError):
                raise
            except Exception as exc:
                if _out_of_memory(exc):
                    raise MemoryError from exc
                raise _Refused(
                    N_(
                        "{name} is a damaged PDF: page {page} cannot be read; import the plan's Word (.docx) or Excel (.xlsx) file instead"
                    ),
                    page=page.page_number,
                ) from exc
            finally:
                page.close()  # pdfplumber keeps every parsed page otherwise
            words += page_words
            rows += sum(len(b["rows"]) for b in blocks if "rows" in b)
            lines += sum(1 for b in blocks if "line" in b)
            if rows > limits.max_table_rows:
                raise _Refused(
                    N_(
                        "{name} has more than {limit} table rows, more than the import allows "
                        "([plan] max_table_rows)"
                    ),
                    limit=limits.max_table_rows,
                )
            if lines > limits.max_lines:
                raise _Refused(
                    N_("{name} has more than {limit} lines or paragraphs, far more than a plan has"),
                    limit=limits.max_lines,
                )
            pages.append(blocks)
    if words == 0 and images:
        raise _Refused(
            N_(
                "{name} has no text layer: it is a scanned image, which cannot be read (no OCR); import the plan's Word (.docx) or Excel (.xlsx) file instead"
            ),
        )
    if words == 0:
        raise _Refused(
            N_("{name} holds no text at all; import the plan's Word (.docx) or Excel (.xlsx) file instead")
        )
    return pages


def _out_of_memory(exc: BaseException | None) -> bool:
    """Whether a MemoryError lies under the exception pdfplumber wrapped it in."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, MemoryError):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _page_blocks(page) -> tuple[list[dict], int]:
    tables = page.find_tables({"vertical_strategy": "lines", "horizontal_strategy": "lines"})
    words = page.extract_words(x_tolerance_ratio=0.15, extra_attrs=["size"])
    grids = [_Grid(table) for table in tables]
    loose = []
    for word in words:
        word["text"] = unicodedata.normalize("NFC", word["text"])
        if not any(grid.take(word) for grid in grids):
            loose.append(word)
    placed: list[tuple[float, dict]] = []
    right = max((w["x1"] for w in loose), default=0.0)
    left = min((w["x0"] for w in loose), default=0.0)
    right = max(right, float(page.width) - left)
    for text_line in _body_lines(loose, right):
        placed.append((text_line[0], {"line": text_line[1]}))
    for grid in grids:
        placed.append((grid.top, {"rows": grid.rows()}))
    placed.sort(key=lambda item: item[0])
    return [block for _, block in placed], len(words)


class _Grid:
    """One ruled table of a page: its cells and the words that fall in each."""

    def __init__(self, table):
        self.top = table.bbox[1]
        self.bbox = table.bbox
        self.cells: list[list[tuple | None]] = [list(row.cells) for row in table.rows]
        self.words: dict[tuple[int, int], list[dict]] = {}

    def take(self, word: dict) -> bool:
        x = (word["x0"] + word["x1"]) / 2
        y = (word["top"] + word["bottom"]) / 2
        x0, top, x1, bottom = self.bbox
        if not (x0 <= x <= x1 and top <= y <= bottom):
            return False
        for r, row in enumerate(self.cells):
            for c, cell in enumerate(row):
                if cell is not None and cell[0] <= x <= cell[2] and cell[1] <= y <= cell[3]:
                    self.words.setdefault((r, c), []).append(word)
                    return True
        return False

    def rows(self) -> list[list[str]]:
        result: list[list[str]] = []
        # A cell merged down over several rows stands in each of them, as Word reads it.
        above: dict[int, tuple[tuple, str]] = {}
        for r, row in enumerate(self.cells):
            cells = []
            for c, cell in enumerate(row):
                if cell is None:
                    spanning = above.get(c)
                    row_top = next((b[1] for b in row if b is not None), None)
                    if spanning and row_top is not None and spanning[0][3] > row_top + 1:
                        cells.append(spanning[1])
                    else:
                        cells.append("")
                    continue
                text = _cell_text(self.words.get((r, c), []), cell)
                above[c] = (cell, text)
                cells.append(text)
            result.append(cells)
        return result


def _lines(words: list[dict]) -> list[list[dict]]:
    """Words grouped into lines by their baseline, each line left to right."""
    lines: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (round(w["bottom"], 1), w["x0"])):
        if lines and abs(lines[-1][0]["bottom"] - word["bottom"]) <= 0.4 * word["size"]:
            lines[-1].append(word)
        else:
            lines.append([word])
    for line in lines:
        line.sort(key=lambda w: w["x0"])
    return lines


def _wraps(line: list[dict], following: list[dict], right: float) -> bool:
    """Whether `following` continues `line`: its first word would not have fitted after it."""
    first = following[0]
    if first["text"].startswith(_BULLETS):
        return False
    size = line[-1]["size"]
    if following[0]["top"] - line[-1]["bottom"] > 0.9 * size:
        return False  # a blank line or paragraph spacing between them
    # A space is a quarter of an em in the usual fonts, wider in bold; layout engines keep a little
    # slack at the edge. Generous on both: a hard break that nearly reaches the edge is rarer than a
    # wrap read as a break.
    space = 0.3 * size
    return line[-1]["x1"] + space + (first["x1"] - first["x0"]) > right - 0.15 * size


def _text(line: list[dict]) -> str:
    return " ".join(w["text"] for w in line)


def _glue(line: list[dict], following: list[dict], right: float) -> str:
    """What joins a wrapped line to the next: a space, or nothing where the break fell inside a word
    ("Quý II-" / "III/2021" after a hyphen, "31/12/202" / "1" in a cell narrower than the word)."""
    last, first = line[-1], following[0]
    if len(last["text"]) > 1 and last["text"].endswith("-"):
        return ""
    # A word cut where it met the cell's edge rather than at a space: in a plan only numbers, dates,
    # Roman numerals and abbreviations ("VHTTDL", "PT&TH") are wider than its narrowest column.
    if (
        len(line) == 1
        and last["x1"] > right - 0.6 * last["size"]
        and _UNBROKEN.match(last["text"])
        and _UNBROKEN.match(first["text"])
    ):
        return ""
    return " "


def _cell_text(words: list[dict], cell: tuple) -> str:
    lines = _lines(words)
    if not lines:
        return ""
    # The cell's padding, as far as its text shows it (a centred cell shows more: capped).
    padding = min(8.0, max(0.5, min(line[0]["x0"] for line in lines) - cell[0]))
    right = cell[2] - padding
    # Left-aligned lines show the cell's padding, and a wrap is then told by geometry alone; in a
    # centred cell it is not, and the words have the last say.
    left_aligned = max(line[0]["x0"] for line in lines) - min(line[0]["x0"] for line in lines) < 1.0
    paragraphs = [_text(lines[0])]
    for before, line in zip(lines, lines[1:], strict=False):
        if _wraps(before, line, right) and (left_aligned or not _next_agency(before, line)):
            paragraphs[-1] += _glue(before, line, right) + _text(line)
        else:
            paragraphs.append(_text(line))
    return "\n".join(paragraphs)


def _next_agency(line: list[dict], following: list[dict]) -> bool:
    """Whether `following` starts another agency after a complete one, where the geometry cannot
    tell (a centred cell: "Sở Tài chính" over "Sở Nội vụ" looks like a wrap). Only agency cells
    keep line breaks; in the others a break reads as a space all the same."""
    last = line[-1]["text"]
    if last[-1] in ",;-–" or last.lower() in _CONNECTORS or ends_on_head_word(_text(line)):
        return False
    return starts_agency(_text(following))


def _segments(line: list[dict]) -> list[list[dict]]:
    """A line split where a wide gap separates columns (a letterhead's two sides)."""
    parts = [[line[0]]]
    for before, word in zip(line, line[1:], strict=False):
        if word["x0"] - before["x1"] > 3 * word["size"]:
            parts.append([word])
        else:
            parts[-1].append(word)
    return parts


def _body_lines(words: list[dict], right: float) -> list[tuple[float, str]]:
    """Paragraphs of the text outside tables, with a blank line where the page leaves one. Lines in
    two columns (a letterhead) are read column by column, as their writer laid them out: the issuing
    body's lines together, then the motto's."""
    result: list[tuple[float, str]] = []
    previous: list[dict] | None = None
    columns: list[list[str]] = []
    block_top = 0.0

    def flush() -> None:
        lines = [text for column in columns for text in column]
        # Tops just after the block's first line keep this order when blocks are sorted by top.
        result.extend((block_top + index * 1e-3, text) for index, text in enumerate(lines))
        columns.clear()

    for line in _lines(words):
        parts = _segments(line)
        if len(parts) > 1:
            if not columns:
                block_top = line[0]["top"]
            for index, part in enumerate(parts):
                while len(columns) <= index:
                    columns.append([])
                columns[index].append(_text(part))
            previous = None
            continue
        if columns:
            flush()
        if previous is not None and _wraps(previous, line, right):
            top, text = result[-1]
            result[-1] = (top, text + _glue(previous, line, right) + _text(line))
        else:
            if previous is not None and line[0]["top"] - previous[-1]["bottom"] > 0.9 * line[0]["size"]:
                result.append((line[0]["top"] - 0.1, ""))
            result.append((line[0]["top"], _text(line)))
        previous = line
    if columns:
        flush()
    return result


def main() -> None:
    limits = ImportLimits(**json.loads(sys.argv[1]))
    sys.stdout.write(json.dumps(_child(limits), ensure_ascii=False))


if __name__ == "__main__":
    main()
