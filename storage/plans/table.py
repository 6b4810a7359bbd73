"""The appendix table: rows in, sections and tasks out.

A row is one of:
- a header row ("TT | Nội dung … | Tiến độ … | Cơ quan phụ trách | …"), repeated after every page
  break, bold or not: the first one maps the columns, the others are skipped;
- a section row: a Roman numeral (bold or not) and the agency the section is about;
- a task row: its number within the section and its cells;
- a continuation row, whose TT cell is empty: the rest of the previous task, cut by a page break.
  Each non-empty cell is joined, with a space, to the same cell of that task.
"""

from __future__ import annotations

import re

from storage.agency_names import strip_markup
from storage.plans.model import ParsedSection, ParsedTask
from storage.plans.notices import N_, Notice, PlanFormatError
from storage.plans.rows import Row
from storage.plans.timeframe import Timeframe, parse_timeframe
from storage.text import fold, normalize_space

NUMBER, CONTENT, TIMEFRAME, LEAD, COORDINATING, RESPONSIBLE = (
    "number",
    "content",
    "timeframe",
    "lead",
    "coordinating",
    "responsible",
)
_REQUIRED = {
    NUMBER: N_("TT (number)"),
    CONTENT: N_("Nội dung (task)"),
    TIMEFRAME: N_("Tiến độ/Thời gian (timeframe)"),
    LEAD: N_("Cơ quan phụ trách/chủ trì (lead agency)"),
}
# Cells that name agencies keep their line breaks: a line break separates two agencies.
_MULTILINE = {LEAD, COORDINATING}
_ROMAN = re.compile(r"^(?=[IVXLC])(C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")
_SECTION_IN_ONE_CELL = re.compile(r"^([IVXLC]+)[.)]?\s+(.+)$")
_TASK_NUMBER = re.compile(r"^(\d{1,4})[.)]?$")


def _folded_cells(cells: list[str]) -> list[str]:
    return [fold(strip_markup(cell)) for cell in cells]


def is_header_row(cells: list[str]) -> bool:
    folded = [cell for cell in _folded_cells(cells) if cell]
    return (
        bool(folded) and folded[0] in _NUMBER_HEADERS and any(_role(cell) == CONTENT for cell in folded[1:])
    )


_NUMBER_HEADERS = {"tt", "stt", "so tt", "so thu tu"}


def _role(header: str) -> str | None:
    if header in _NUMBER_HEADERS:
        return NUMBER
    if "noi dung" in header or "nhiem vu" in header:
        return CONTENT
    if "tien do" in header or "thoi gian" in header or "thoi han" in header:
        return TIMEFRAME
    if "phoi hop" in header:
        return COORDINATING
    if "phan cong" in header or "nguoi phu trach" in header or "lanh dao" in header:
        return RESPONSIBLE
    if "chu tri" in header or "phu trach" in header or "thuc hien" in header:
        return LEAD
    return None


def column_roles(cells: list[str]) -> dict[str, int]:
    roles: dict[str, int] = {}
    for index, header in enumerate(_folded_cells(cells)):
        role = _role(header)
        if role and role not in roles:
            roles[role] = index
    return roles


def _clean(cell: str, multiline: bool) -> str:
    lines = [normalize_space(line) for line in strip_markup(cell).replace("\r", "\n").split("\n")]
    return ("\n" if multiline else " ").join(line for line in lines if line)


def _joined(parts: list[str]) -> str:
    return " ".join(part for part in parts if part)


_CONTINUED = (CONTENT, TIMEFRAME, LEAD, COORDINATING, RESPONSIBLE)


class _TableReader:
    def __init__(self, rows: list[Row], year: int, *, cut_possible: bool, last_year: int | None = None):
        self.rows = rows
        self.year = year
        self.last_year = last_year
        self.cut_possible = cut_possible
        self.sections: list[ParsedSection] = []
        self.warnings: list[Notice] = []
        self.timeframes: dict[int, str] = {}
        # The cells of the last task (or the heading of a section with no task yet) as pieces, joined
        # once the next row starts it anew: joining on every continuation row would copy the text
        # again each time, quadratic in the number of continuation rows.
        self._open: ParsedSection | ParsedTask | None = None
        self._parts: dict[str, list[str]] = {}
        self._numerals: set[str] = set()
        self._numbers: set[int] = set()

    def warn(self, template: str, **params: object) -> None:
        self.warnings.append(Notice(template, params))

    def read(self) -> list[ParsedSection]:
        header = self.rows[0]
        self.roles = column_roles(header.cells)
        missing = [label for role, label in _REQUIRED.items() if role not in self.roles]
        if missing:
            raise PlanFormatError(
                N_("line {line}: the table header has no column {column}"),
                line=header.line,
                column=missing[0],
            )
        self.width = max(self.roles.values()) + 1
        self.columns = len(header.cells)
        while self.columns > self.width and not header.cells[self.columns - 1].strip():
            self.columns -= 1
        self._check_not_cut()
        for row in self.rows[1:]:
            self._row(row)
        self._close()
        self._finish()
        return self.sections

    def _check_not_cut(self) -> None:
        last = self.rows[-1]
        if (
            self.cut_possible
            and len(self.rows) > 1
            and len(last.cells) < self.columns
            and any(cell.strip() for cell in last.cells)
        ):
            raise PlanFormatError(
                N_(
                    "the file is truncated: its last table row (line {line}) has {found} of {expected} "
                    "columns"
                ),
                line=last.line,
                found=len(last.cells),
                expected=self.columns,
            )

    def _cell(self, cells: list[str], role: str) -> str:
        index = self.roles.get(role)
        if index is None or index >= len(cells):
            return ""
        return _clean(cells[index], role in _MULTILINE)

    def _row(self, row: Row) -> None:
        cells = row.cells
        if is_header_row(cells) or not any(cell.strip() for cell in cells):
            return
        known = set(self.roles.values())
        extra = [i for i, cell in enumerate(cells) if i >= self.columns and i not in known and cell.strip()]
        if extra:
            raise PlanFormatError(
                N_("line {line}: the row has {found} cells but the table has {expected} columns"),
                line=row.line,
                found=len(cells),
                expected=self.columns,
            )
        number = (
            normalize_space(strip_markup(cells[self.roles[NUMBER]]))
            if self.roles[NUMBER] < len(cells)
            else ""
        )
        content = self._cell(cells, CONTENT)
        if m := _SECTION_IN_ONE_CELL.match(number):
            if _ROMAN.match(m[1]) and not content:
                number, content = m[1], normalize_space(m[2])
        numeral = number.rstrip(".")
        if numeral and _ROMAN.match(numeral):
            self._section(numeral, content, row)
        elif m := _TASK_NUMBER.match(number):
            self._task(int(m[1]), cells, row)
        else:
            if number:
                self.warn(
                    N_(
                        'line {line}: "{cell}" in the TT column is neither a section numeral nor a task '
                        "number; the row is joined to the task above"
                    ),
                    line=row.line,
                    cell=number,
                )
            self._continuation(cells, row)

    def _close(self) -> None:
        target, parts = self._open, self._parts
        if isinstance(target, ParsedSection):
            target.heading = _joined(parts[CONTENT])
        elif isinstance(target, ParsedTask):
            target.content = _joined(parts[CONTENT])
            target.lead_text = _joined(parts[LEAD])
            target.coordinating_text = _joined(parts[COORDINATING])
            target.responsible = _joined(parts[RESPONSIBLE])
            self.timeframes[id(target)] = _joined(parts[TIMEFRAME])
        self._open, self._parts = None, {}

    def _section(self, numeral: str, heading: str, row: Row) -> None:
        if numeral in self._numerals:
            raise PlanFormatError(
                N_("line {line}: section {numeral} appears twice in the table"),
                line=row.line,
                numeral=numeral,
            )
        if not heading:
            raise PlanFormatError(
                N_("line {line}: section {numeral} names no agency"), line=row.line, numeral=numeral
            )
        self._close()
        section = ParsedSection(numeral=numeral, heading=heading, line=row.line)
        self.sections.append(section)
        self._numerals.add(numeral)
        self._numbers = set()
        self._open, self._parts = section, {CONTENT: [heading]}

    def _task(self, number: int, cells: list[str], row: Row) -> None:
        if not self.sections:
            raise PlanFormatError(
                N_("line {line}: task {number} comes before any section row (Roman numeral and agency)"),
                line=row.line,
                number=number,
            )
        section = self.sections[-1]
        if number in self._numbers:
            raise PlanFormatError(
                N_("line {line}: task {number} appears twice in section {numeral}"),
                line=row.line,
                number=number,
                numeral=section.numeral,
            )
        task = ParsedTask(
            number=number,
            content="",  # its cells are set by _close, once no continuation row can follow
            timeframe=Timeframe(""),
            line=row.line,
        )
        self._close()
        section.tasks.append(task)
        self._numbers.add(number)
        self._open, self._parts = task, {role: [self._cell(cells, role)] for role in _CONTINUED}

    def _continuation(self, cells: list[str], row: Row) -> None:
        if not self.sections:
            self.warn(N_("line {line}: a row before the first section was ignored"), line=row.line)
            return
        if isinstance(self._open, ParsedSection):
            # A section heading cut by a page break.
            self._parts[CONTENT].append(self._cell(cells, CONTENT))
            return
        for role in _CONTINUED:
            self._parts[role].append(self._cell(cells, role))

    def _finish(self) -> None:
        if not any(section.tasks for section in self.sections):
            raise PlanFormatError(N_("the appendix table holds no tasks"))
        expected = 1
        for section in self.sections:
            value = _from_roman(section.numeral)
            if value != expected:
                self.warn(
                    N_("section {numeral} is not numbered in order: is a section missing?"),
                    numeral=section.numeral,
                )
            expected = value + 1
            if not section.tasks:
                self.warn(
                    N_("section {numeral} ({heading}) has no tasks"),
                    numeral=section.numeral,
                    heading=section.heading,
                )
            previous = 0
            for task in section.tasks:
                code = task.code(section.numeral)
                if task.number != previous + 1:
                    self.warn(N_("{code}: task numbers are not consecutive: is a task missing?"), code=code)
                previous = task.number
                if not task.content:
                    self.warn(N_("{code}: the task has no content"), code=code)
                text = self.timeframes.pop(id(task))
                task.timeframe = parse_timeframe(text, self.year, self.last_year)
                if not text:
                    self.warn(N_("{code}: no timeframe given"), code=code)
                elif not task.timeframe.understood:
                    self.warn(
                        N_('{code}: timeframe "{text}" not understood; kept as written, without dates'),
                        code=code,
                        text=text,
                    )


def _from_roman(numeral: str) -> int:
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
    total = 0
    for ch, nxt in zip(numeral, [*numeral[1:], ""], strict=True):
        value = values[ch]
        total += -value if nxt and values[nxt] > value else value
    return total


def read_table(
    rows: list[Row], year: int, *, cut_possible: bool, last_year: int | None = None
) -> tuple[list[ParsedSection], list[Notice]]:
    reader = _TableReader(rows, year, cut_possible=cut_possible, last_year=last_year)
    sections = reader.read()
    return sections, reader.warnings
