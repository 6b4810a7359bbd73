"""Vietnamese alphabetical order for lists people read (agencies, above all).

The Unicode Collation Algorithm (pyuca, with the Unicode default table) tailored by CLDR's rules for
Vietnamese, the same rules ICU applies for the "vi" locale: ă and â are letters after a, đ after d,
ê after e, ô and ơ after o, ư after u; the five tone marks differ at the second level, in the order
huyền, hỏi, ngã, sắc, nặng. So "Sở Tài chính" comes before "Sở Thông tin và Truyền thông", "Đài …"
after every "D…", "Cổng …" before "Cơ quan …".
"""

from __future__ import annotations

import functools
import unicodedata

from pyuca import Collator

# CLDR common/collation/vi.xml, standard: the tailoring rules as CLDR writes them. "&x<y" puts y
# right after x at the first level (a new letter); "&x<<y" right after x at the second (an accent).
VIETNAMESE_RULES = (
    "&\u0300<<\u0309<<\u0303<<\u0301<<\u0323",
    "&a<ă<â",
    "&d<đ",
    "&e<ê",
    "&o<ô<ơ",
    "&u<ư",
)


class VietnameseCollator(Collator):
    """pyuca's collator with VIETNAMESE_RULES applied to its table."""

    def __init__(self):
        super().__init__()
        for rule in VIETNAMESE_RULES:
            self._tailor(rule)

    def _elements(self, text: str) -> list[list[float]]:
        return [list(element) for element in self.collation_elements(unicodedata.normalize("NFD", text))]

    def _tailor(self, rule: str) -> None:
        reset, _sep, rest = rule[1:].partition("<")
        level = 1 if rest.startswith("<") else 0
        successors = rest.lstrip("<").split("<<" if level else "<")
        for case in (str.lower, str.upper):
            anchor = self._elements(case(reset))
            if len(anchor) != 1:
                continue
            for step, letter in enumerate(successors, start=1):
                # Between the anchor's weight and the next one at that level: a fraction of a step.
                element = list(anchor[0])
                element[level] += step / (len(successors) + 1)
                key = [ord(char) for char in unicodedata.normalize("NFD", case(letter))]
                self.table.add(key, [element])


@functools.cache
def _collator() -> VietnameseCollator:
    return VietnameseCollator()


@functools.lru_cache(maxsize=4096)
def vi_sort_key(text: str) -> tuple:
    """The key that sorts `text` in Vietnamese alphabetical order."""
    return _collator().sort_key(text)
