"""How much a plan file may ask of the machine before it is refused.

A plan is a few hundred lines of body and at most a few thousand table rows; a file far larger is a
mistake or an attack (a small archive that expands to gigabytes, millions of empty paragraphs). Each
reader checks these bounds before it expands or materialises anything, so that any input is either
read within them or refused with a message, and the database is never touched. The values come from
the `[plan]` section of the configuration; the defaults suit any real plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.plans.notices import N_, PlanFormatError


@dataclass(frozen=True)
class ImportLimits:
    # The file itself, and everything a Word, Excel or PDF file expands to (its parts unpacked).
    max_megabytes: int = 50
    # Rows of the appendix table; also the bound on body lines and paragraphs, which a plan has far
    # fewer of.
    max_table_rows: int = 20_000
    # PDF only: pages, and the child process that reads them (memory and wall-clock time).
    max_pdf_pages: int = 500
    pdf_memory_megabytes: int = 256
    pdf_seconds: int = 180

    @property
    def max_bytes(self) -> int:
        return self.max_megabytes * 1024 * 1024

    @property
    def max_lines(self) -> int:
        # Body lines and paragraphs: a plan's body is a few hundred; ten table-rows' worth each is
        # generous, and still bounded.
        return self.max_table_rows * 10


DEFAULT_LIMITS = ImportLimits()

# Tasks (each with its agency links, about four rows in all) an import writes per transaction
# (storage.plans.staging): the longest a chat write waits for an import is about one such chunk.
IMPORT_CHUNK_TASKS = 500


class LineCounter:
    """Counts body lines and table rows as a reader yields them, and refuses past the limits."""

    def __init__(self, name: str, limits: ImportLimits):
        self.name, self.limits = name, limits
        self.lines = self.rows = 0

    def line(self) -> None:
        self.lines += 1
        if self.lines > self.limits.max_lines:
            raise PlanFormatError(
                N_("{name} has more than {limit} lines or paragraphs, far more than a plan has"),
                name=self.name,
                limit=self.limits.max_lines,
            )

    def row(self) -> None:
        self.rows += 1
        if self.rows > self.limits.max_table_rows:
            raise PlanFormatError(
                N_(
                    "{name} has more than {limit} table rows, more than the import allows ([plan] max_table_rows)"
                ),
                name=self.name,
                limit=self.limits.max_table_rows,
            )
