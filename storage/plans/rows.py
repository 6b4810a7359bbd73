"""What every reader makes of a plan file: body lines and appendix table rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


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
