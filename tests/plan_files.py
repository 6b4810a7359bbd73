"""Plan files in the other formats plans circulate in (.docx, .xlsx, .csv), built from a text plan.

The text format is the reference: its body above the appendix, then the tab-separated table with
blank lines at page breaks. These builders write the same content the way Word, Excel and a CSV
export hold it, so that tests can check every format imports to the same plan.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

_BOLD = re.compile(r"</?b>")


def split_text_plan(path: Path) -> tuple[list[str], list[list[list[str]]]]:
    """(body lines, pages of table rows) of a text plan; the table starts at its first header row."""
    body: list[str] = []
    pages: list[list[list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = line.split("\t")
        if not pages and not (len(cells) > 1 and _BOLD.sub("", cells[0]) == "TT"):
            body.append(line.replace("**", "").strip())
            continue
        if not pages or (not line.strip() and pages[-1]):
            pages.append([])
        if line.strip():
            pages[-1].append(cells)
    return body, [page for page in pages if page]


def write_docx(source: Path, target: Path) -> Path:
    import docx

    body, pages = split_text_plan(source)
    document = docx.Document()
    for line in body:
        document.add_paragraph(line)
    for index, page in enumerate(pages):
        if index:
            document.add_page_break()
        table = document.add_table(rows=0, cols=len(page[0]))
        for cells in page:
            row = table.add_row().cells
            for cell, text in zip(row, cells, strict=True):
                run = cell.paragraphs[0].add_run(_BOLD.sub("", text))
                run.bold = "<b>" in text
    document.save(target)
    return target


def write_xlsx(source: Path, target: Path) -> Path:
    import openpyxl

    body, pages = split_text_plan(source)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Phụ lục"
    for line in body:
        sheet.append([line] if line else [])
    for index, page in enumerate(pages):
        if index:
            sheet.append([])
        for cells in page:
            # Numbers typed in Excel come back as numbers, not text.
            sheet.append([int(c) if c.isdigit() else (_BOLD.sub("", c) or None) for c in cells])
    workbook.save(target)
    return target


def write_csv(source: Path, target: Path, *, delimiter: str = ",", encoding: str = "utf-8-sig") -> Path:
    body, pages = split_text_plan(source)
    with target.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        for line in body:
            writer.writerow([line] if line else [])
        for index, page in enumerate(pages):
            if index:
                writer.writerow([])
            for cells in page:
                writer.writerow([_BOLD.sub("", c) for c in cells])
    return target
