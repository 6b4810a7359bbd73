"""A plan file in, a `ParsedPlan` out (no database): the body's header and reporting clause, and
the appendix table. Raises `PlanFormatError` with a message for the person importing."""

from __future__ import annotations

import hashlib
from pathlib import Path

from storage.plans.header import parse_header
from storage.plans.limits import DEFAULT_LIMITS, ImportLimits
from storage.plans.model import ParsedPlan
from storage.plans.notices import N_, Notice, PlanFormatError
from storage.plans.sources import Source, read_bytes, read_file_bytes
from storage.plans.table import is_header_row, read_table


def parse_plan_file(path: str | Path, limits: ImportLimits = DEFAULT_LIMITS) -> ParsedPlan:
    path = Path(path)
    return parse_plan_bytes(read_file_bytes(path, limits), path.name, limits)


def parse_plan_bytes(data: bytes, name: str, limits: ImportLimits = DEFAULT_LIMITS) -> ParsedPlan:
    parsed = parse_source(read_bytes(data, name, is_header_row, limits))
    parsed.source_name = name
    parsed.source_sha256 = hashlib.sha256(data).hexdigest()
    return parsed


def parse_source(source: Source) -> ParsedPlan:
    header = parse_header(source.body)
    if not source.rows:
        if header.number:
            raise PlanFormatError(
                N_(
                    '{name}: plan {number} has no appendix table (a header row starting "TT | Nội dung"); '
                    "the file may be truncated"
                ),
                name=source.name,
                number=header.number,
            )
        raise PlanFormatError(
            N_(
                '{name} is not a plan: it has neither a plan number ("Số: …/KH-…") nor an appendix '
                'table (a header row starting "TT | Nội dung")'
            ),
            name=source.name,
        )
    if not header.number:
        raise PlanFormatError(
            N_(
                '{name}: the plan number was not found (a line "Số: 45/KH-UBND", or "Kèm theo Kế hoạch số …")'
            ),
            name=source.name,
        )
    if header.year is None:
        raise PlanFormatError(
            N_("{name}: the plan's year was not found (in its title or its issue date)"), name=source.name
        )
    warnings: list[Notice] = []
    if header.issued is None:
        warnings.append(Notice(N_('the issue date was not found ("ngày … tháng … năm …")')))
    if not header.title:
        warnings.append(Notice(N_('the title was not found (the line under "KẾ HOẠCH")')))
    if header.reporting_deadlines is None:
        warnings.append(
            Notice(
                N_(
                    'no reporting clause found ("báo cáo … trước ngày …"): reporting deadlines are not changed'
                )
            )
        )
    elif not header.reporting_deadlines:
        warnings.append(
            Notice(
                N_('the reporting clause names no date it could read: "{clause}"'), {"clause": header.clause}
            )
        )
    for text in header.unreadable_deadlines:
        warnings.append(Notice(N_("reporting deadline {text} is not a date"), {"text": text}))
    sections, table_warnings = read_table(
        source.rows, header.year, cut_possible=source.cut_possible, last_year=header.end_year
    )
    warnings += table_warnings
    for row in source.stray:
        warnings.append(
            Notice(
                N_('line {line}: text among the table rows was ignored: "{text}"'),
                {"line": row.line, "text": row.cells[0][:80]},
            )
        )
    return ParsedPlan(
        number=header.number,
        issued=header.issued,
        title=header.title,
        year=header.year,
        end_year=header.end_year or header.year,
        issuer=header.issuer,
        reporting_deadlines=header.reporting_deadlines,
        sections=sections,
        warnings=warnings,
    )
