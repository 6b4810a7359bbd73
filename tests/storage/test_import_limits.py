"""Hostile plan files: each is refused before it is expanded, with a message saying why, and the
database is unchanged (SQLite and PostgreSQL). Time and memory are measured in
bench/bench_import_limits.py; here, the outcomes a user sees."""

from __future__ import annotations

import pytest

from storage.plans.limits import ImportLimits
from storage.plans.notices import PlanFormatError
from storage.plans.parser import parse_plan_bytes, parse_plan_file
from tests import hostile_files as hostile
from tests.conftest import SAMPLE_PLAN
from tests.storage.test_plan_import import dump, import_file


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


HOSTILE = [
    ("docx expanding to 60 MB", lambda tmp: hostile.docx_expanding_to(tmp, 60), "expands to 60"),
    (
        "docx of a million empty paragraphs",
        lambda tmp: hostile.docx_of_empty_paragraphs(tmp, 1_000_000),
        "more than 200000 lines or paragraphs",
    ),
    (
        "docx lying about its size",
        lambda tmp: hostile.docx_lying_about_its_size(tmp, 100),
        "damaged: the Word document cannot be read",
    ),
    ("xlsx with a DTD", lambda tmp: hostile.xlsx_with_a_dtd(tmp), "declares a document type (DTD)"),
    (
        "xlsx of 100000 rows",
        lambda tmp: hostile.xlsx_of_rows(tmp, 100_000),
        "more than 20000 table rows",
    ),
    (
        "csv of 30000 continuation rows",
        lambda tmp: _write(tmp, "noi-tiep.csv", hostile.csv_with_continuation_rows(30_000)),
        "more than 20000 table rows",
    ),
    (
        "text of 3 million empty lines",
        lambda tmp: _write(tmp, "dong-trong.txt", SAMPLE_PLAN.read_bytes()[:200] + b"\n" * 3_000_000),
        "more than 200000 lines or paragraphs",
    ),
]


@pytest.mark.parametrize(("kind", "make", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_a_hostile_file_is_refused_saying_why_and_the_database_is_unchanged(
    db, tmp_path, kind, make, message
):
    await import_file(db, SAMPLE_PLAN)
    before = await dump(db)
    path = make(tmp_path)
    with pytest.raises(PlanFormatError) as caught:
        await import_file(db, path)
    assert message in str(caught.value)
    assert await dump(db) == before


def test_a_file_larger_than_the_limit_is_refused_before_it_is_read(tmp_path):
    path = _write(tmp_path, "lon.txt", SAMPLE_PLAN.read_bytes() + b"\n" * (2 * 1024 * 1024))
    with pytest.raises(PlanFormatError) as caught:
        parse_plan_file(path, ImportLimits(max_megabytes=1))
    assert str(caught.value) == (
        f"{path} is too large: 2.0 MB, more than the 1 MB a plan may take ([plan] max_megabytes)"
    )


def test_rows_past_the_size_a_sheet_declares_are_read_not_dropped(tmp_path):
    plan = parse_plan_file(hostile.xlsx_declaring_fewer_rows(tmp_path))
    expected = parse_plan_file(SAMPLE_PLAN)
    assert [(s.numeral, len(s.tasks)) for s in plan.sections] == [
        (s.numeral, len(s.tasks)) for s in expected.sections
    ]
    assert len(plan.tasks) == 30


def test_thousands_of_continuation_rows_within_the_limit_are_joined_to_their_task():
    plan = parse_plan_bytes(hostile.csv_with_continuation_rows(15_000), "noi-tiep.csv")
    ((_, task),) = plan.tasks
    assert task.content == "Việc đầu tiên" + " thêm nội dung" * 15_000


def test_the_row_limit_counts_every_row_of_the_appendix_and_allows_exactly_the_limit():
    """The sample's appendix has 45 rows, its repeated headers and continuation rows included."""
    data = SAMPLE_PLAN.read_bytes()
    assert len(parse_plan_bytes(data, "ke-hoach.txt", ImportLimits(max_table_rows=45)).tasks) == 30
    with pytest.raises(PlanFormatError, match="more than 44 table rows"):
        parse_plan_bytes(data, "ke-hoach.txt", ImportLimits(max_table_rows=44))
