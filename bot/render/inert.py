"""User text made inert in the files we write: one writer per format, used by every export.

Notes, display names, agency names and plan text reach spreadsheets, Word files and wikis. There
they must stay text:

- XML 1.0 (DOCX, XLSX) forbids some characters outright (C0 controls, lone surrogates, U+FFFE and
  U+FFFF); one of them in one note would make every report of the plan fail. `xml_text` drops them,
  with the other Unicode non-characters, which no one can read either.
- A spreadsheet runs a cell that starts with `=` (and, in CSV, `+`, `-`, `@`, a tab or a carriage
  return) as a formula: `=HYPERLINK(...)` leaks the sheet to another site, `=cmd|...` starts a
  program. XLSX cells are written with an explicit string type (`xlsx_cell`); CSV cells get the
  OWASP prefix, a leading apostrophe (`csv_cell`).
- Markdown passes raw HTML through and turns `[x](javascript:...)` into a link. `markdown_text`
  writes HTML's special characters as entities and escapes Markdown's own punctuation, so a wiki
  shows exactly what was typed.

Input is cleaned with the same `readable` rule (storage.text) when it is stored, from chat
(bot.core.service) and from the command line (bot.cli); the writers clean again because rows
stored before that rule existed must not break a report.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from storage.text import readable

# Only a type here: openpyxl loads with the first spreadsheet, not with every chat message.
if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell

# OWASP's list: what makes Excel, LibreOffice or Google Sheets read a CSV cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Markdown's punctuation that makes emphasis, code, links and images (none without a bracket), or
# ends a table cell; CommonMark shows a backslash-escaped one as itself. Line-start marks (#, -, +)
# need no escape: every piece of user text is written after other text on its line.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|~])")


def xml_text(text: str) -> str:
    """Text safe to put in a DOCX or XLSX part."""
    return readable(text)


def csv_cell(value):
    """A CSV cell that a spreadsheet shows as text: readable, and a leading formula character
    behind an apostrophe. Numbers stay numbers (a spreadsheet sums them)."""
    if not isinstance(value, str):
        return value
    text = readable(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def xlsx_cell(cell: Cell, value) -> Cell:
    """Write `value` into `cell`; text always as a string cell, never a formula."""
    if isinstance(value, str):
        cell.value = xml_text(value)
        # openpyxl makes any string starting with "=" a formula; the explicit type makes it text.
        cell.data_type = "s"
    else:
        cell.value = value
    return cell


def xlsx_row(sheet, values) -> None:
    """Append `values` as the next row of `sheet`, every piece of text as a string cell."""
    sheet.append([xml_text(value) if isinstance(value, str) else value for value in values])
    for cell, value in zip(sheet[sheet.max_row], values, strict=False):
        if isinstance(value, str):
            cell.data_type = "s"


def markdown_text(value) -> str:
    """`value` as Markdown that renders to exactly that text: no HTML, no link, no emphasis."""
    text = readable(str(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
