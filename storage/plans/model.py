"""A plan as read from a file, before it meets the database: plain values only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from storage.plans.notices import Notice
from storage.plans.timeframe import Timeframe


@dataclass
class ParsedTask:
    number: int
    content: str
    timeframe: Timeframe
    lead_text: str = ""
    coordinating_text: str = ""
    responsible: str = ""
    line: int = 0  # where the task row starts in the source, for messages

    def code(self, numeral: str) -> str:
        return f"{numeral}.{self.number}"


@dataclass
class ParsedSection:
    numeral: str
    heading: str  # the agency as the plan writes it, markup removed
    tasks: list[ParsedTask] = field(default_factory=list)
    line: int = 0


@dataclass
class ParsedPlan:
    number: str  # "87/KH-UBND"
    issued: dt.date | None
    title: str
    year: int
    # None when the source has no reporting clause at all (an appendix on its own), as opposed to a
    # clause naming no date: a re-import from such a file keeps the deadlines already stored.
    reporting_deadlines: list[dt.date] | None
    sections: list[ParsedSection] = field(default_factory=list)
    warnings: list[Notice] = field(default_factory=list)
    source_name: str = ""
    source_sha256: str = ""
    # The last year the plan covers (`year` is the first); the same for a one-year plan.
    end_year: int | None = None
    # The issuing body the file names ("UBND thành phố Hà Nội"); "" when it names none, and the
    # importer then takes the configured default.
    issuer: str = ""

    @property
    def last_year(self) -> int:
        return self.end_year or self.year

    @property
    def tasks(self) -> list[tuple[ParsedSection, ParsedTask]]:
        return [(section, task) for section in self.sections for task in section.tasks]
