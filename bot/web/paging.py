"""Paging a long list on a page: which slice to show, and which page links to offer.

A province's plan names thousands of agencies and tasks; a page shows one slice of each and links
to the first, the last and the pages around the current one, never to all of them (300 links for
30,000 agencies would cost more than the rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Pages linked on either side of the current one.
AROUND = 2


@dataclass(frozen=True)
class Page:
    number: int  # 1-based, clamped to the pages there are
    size: int
    total: int  # items in the whole list

    @classmethod
    def of(cls, asked: int, size: int, total: int) -> Page:
        pages = max(1, -(-total // size))
        return cls(number=min(max(1, asked), pages), size=size, total=total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def start(self) -> int:
        """Index of the first item shown."""
        return (self.number - 1) * self.size

    @property
    def stop(self) -> int:
        return min(self.start + self.size, self.total)

    def slice(self, items: Sequence) -> Sequence:
        return items[self.start : self.stop]

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None

    def links(self) -> list[int | None]:
        """Page numbers to link, in order, None where some are skipped: 1 … 4 5 [6] 7 8 … 30."""
        shown = {1, self.pages, *range(self.number - AROUND, self.number + AROUND + 1)}
        numbers = sorted(n for n in shown if 1 <= n <= self.pages)
        found: list[int | None] = []
        for n in numbers:
            if found and n - found[-1] > 1:
                found.append(None)
            found.append(n)
        return found
