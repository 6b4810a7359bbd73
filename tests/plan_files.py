"""Plan files in the other formats plans circulate in (.docx, .xlsx, .csv), built from a text plan.

The text format is the reference: its body above the appendix, then the tab-separated table with
blank lines at page breaks. These builders write the same content the way Word, Excel and a CSV
export hold it, so that tests can check every format imports to the same plan.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from tests.office import print_to_pdf

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


# --- PDF, as a plan is printed from Word --------------------------------------------------------

# Column widths (cm) of an appendix as plans lay it out: a narrow number, a wide task.
_PORTRAIT_WIDTHS = (1.0, 5.2, 2.2, 2.5, 2.3, 2.0)
_LANDSCAPE_WIDTHS = (1.2, 8.0, 2.8, 3.8, 3.6, 3.1)


def _whole_rows(pages: list[list[list[str]]]) -> list[list[str]]:
    """One table of whole rows: repeated headers dropped, each continuation row joined to its row,
    as the signed Word file holds them before printing cuts them at page ends."""
    rows: list[list[str]] = []
    for page in pages:
        for cells in page:
            if rows and _BOLD.sub("", cells[0]) == "TT":
                continue
            if rows and not cells[0].strip():
                rows[-1] = [
                    f"{a} {b}".strip() if b.strip() else a for a, b in zip(rows[-1], cells, strict=True)
                ]
            else:
                rows.append(list(cells))
    return rows


def write_print_docx(
    source: Path, target: Path, *, landscape: bool = False, one_table: bool = False, letterhead: bool = False
) -> Path:
    """A Word file laid out for printing: ruled appendix table with set column widths, optionally on
    landscape pages of its own section, optionally as one table whose header row Word repeats on
    every page (so rows break across pages wherever the page ends), optionally with the two-sided
    letterhead of an administrative document."""
    import docx
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    body, pages = split_text_plan(source)
    document = docx.Document()
    if letterhead:
        # The issuing body over the number on the left, the national motto over the place and
        # date on the right: a borderless table of two columns, as administrative documents open.
        number = next(line for line in body if line.startswith("Số:"))
        date = next(line for line in body if ", ngày " in line)
        body = [line for line in body if line not in (number, date)]
        head = document.add_table(rows=0, cols=2)
        head.autofit = False
        for column, width in zip(head.columns, (5.5, 9.7), strict=True):
            column.width = Cm(width)  # LibreOffice lays out by the grid, Word by the cells
        for left, right in [
            ("ỦY BAN NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
            ("TỈNH LAM GIANG", "Độc lập - Tự do - Hạnh phúc"),
            (number, date),
        ]:
            cells = head.add_row().cells
            for cell, text, width in zip(cells, (left, right), (5.5, 9.7), strict=True):
                cell.width = Cm(width)
                cell.paragraphs[0].add_run(text).font.size = Pt(10)
    for line in body:
        document.add_paragraph(line)
    widths = _PORTRAIT_WIDTHS
    if landscape:
        section = document.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
        widths = _LANDSCAPE_WIDTHS
    else:
        document.add_page_break()
    tables = [_whole_rows(pages)] if one_table else pages
    for index, rows in enumerate(tables):
        if index:
            document.add_page_break()
        table = document.add_table(rows=0, cols=len(rows[0]))
        table.style = "Table Grid"
        table.autofit = False
        for column, width in zip(table.columns, widths, strict=True):
            column.width = Cm(width)
        for number, cells in enumerate(rows):
            row = table.add_row()
            if one_table and number == 0:
                # Word's "repeat as header row at the top of each page".
                properties = row._tr.get_or_add_trPr()
                properties.append(OxmlElement("w:tblHeader"))
                properties[-1].set(qn("w:val"), "true")
            for cell, text, width in zip(row.cells, cells, widths, strict=True):
                cell.width = Cm(width)
                run = cell.paragraphs[0].add_run(_BOLD.sub("", text))
                run.bold = "<b>" in text
    # Word always ends a document with a paragraph; without one LibreOffice drops the last section's
    # page setup.
    document.add_paragraph()
    document.save(target)
    return target


def write_pdf(source: Path, target: Path, **layout: bool) -> Path:
    pdf = print_to_pdf(write_print_docx(source, target.with_suffix(".docx"), **layout))
    if pdf != target:
        pdf.rename(target)
    return target
