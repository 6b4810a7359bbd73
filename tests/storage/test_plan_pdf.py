"""Plans from PDF: the sample plan printed by LibreOffice reads task by task like its text, in every
layout a signed copy comes in; scans, locked, cut and hostile PDFs are refused and change nothing."""

from __future__ import annotations

import io

import pytest

from storage.plans.importer import CREATED, UNCHANGED
from storage.plans.limits import ImportLimits
from storage.plans.notices import PlanFormatError
from storage.plans.parser import parse_plan_bytes, parse_plan_file
from tests.conftest import SAMPLE_PLAN
from tests.office import print_to_pdf, soffice
from tests.pdf_files import encrypted, inflating_pdf, many_pages, scanned_pdf
from tests.plan_files import write_pdf
from tests.storage.test_plan_import import document, dump, import_file, tasks_of

needs_libreoffice = pytest.mark.skipif(
    soffice() is None, reason="LibreOffice (soffice) prints the test PDFs; CI installs it"
)

LAYOUTS = {
    # The text's pages as they are: one table per page, the header row repeated at the top of each,
    # continuation rows where the text has them.
    "portrait": {},
    "landscape appendix": {"landscape": True},
    # One table whose header row Word repeats on each page: rows break wherever a page ends.
    "one table, rows cut by page ends": {"one_table": True},
    "one table, landscape appendix": {"one_table": True, "landscape": True},
    "letterhead": {"letterhead": True},
}


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """The sample plan printed to PDF in a layout (printed once per module)."""
    made: dict[str, bytes] = {}

    def make(layout: str) -> bytes:
        if layout not in made:
            folder = tmp_path_factory.mktemp("pdf")
            made[layout] = write_pdf(SAMPLE_PLAN, folder / "ke-hoach-mau.pdf", **LAYOUTS[layout]).read_bytes()
        return made[layout]

    return make


def comparable(plan) -> dict:
    return {
        "header": (plan.issuer, plan.number, plan.issued, plan.title, plan.year, plan.reporting_deadlines),
        "sections": [(s.numeral, s.heading) for s in plan.sections],
        "tasks": {
            task.code(section.numeral): (
                task.content,
                (task.timeframe.text, task.timeframe.start, task.timeframe.end),
                task.lead_text,
                task.coordinating_text,
                task.responsible,
            )
            for section, task in plan.tasks
        },
        "warnings": [str(w) for w in plan.warnings],
    }


@needs_libreoffice
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_sample_plan_printed_to_pdf_reads_task_by_task_like_its_text(printed, layout):
    expected = comparable(parse_plan_file(SAMPLE_PLAN))
    from_pdf = comparable(parse_plan_bytes(printed(layout), "ke-hoach-mau.pdf"))
    assert from_pdf["header"] == expected["header"]
    assert from_pdf["sections"] == expected["sections"]
    for code, task in expected["tasks"].items():
        assert from_pdf["tasks"].get(code) == task, code
    assert from_pdf["tasks"].keys() == expected["tasks"].keys()
    assert from_pdf["warnings"] == expected["warnings"]


def _first_rows(pdf: bytes) -> list[list[str | None]]:
    """The first two rows of the first ruled table of each page."""
    import pdfplumber

    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [(page.extract_tables() or [[]])[0][:2] for page in document.pages]


@needs_libreoffice
def test_a_row_cut_by_a_page_end_goes_on_under_the_repeated_header_and_is_joined_to_its_row(printed):
    pdf = printed("one table, rows cut by page ends")
    firsts = [rows for rows in _first_rows(pdf) if rows]
    # What makes the layout what it claims: the header repeated on every page of the table, and at
    # least one page going on with the rest of a row (its TT cell empty) under it.
    assert len(firsts) >= 3
    assert all(rows[0][0] == "TT" for rows in firsts)
    assert any(len(rows) > 1 and not rows[1][0] for rows in firsts[1:])

    plan = parse_plan_bytes(pdf, "ke-hoach-mau.pdf")
    expected = parse_plan_file(SAMPLE_PLAN)
    assert comparable(plan)["tasks"] == comparable(expected)["tasks"]


@needs_libreoffice
def test_a_portrait_body_and_a_landscape_appendix_in_one_file_both_read(printed):
    import pdfplumber

    pdf = printed("landscape appendix")
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        shapes = [page.width > page.height for page in document.pages]
    assert shapes[0] is False and shapes[-1] is True
    plan = parse_plan_bytes(pdf, "ke-hoach-mau.pdf")
    assert (plan.number, len(plan.sections), len(plan.tasks)) == ("45/KH-UBND", 7, 30)
    assert [d.isoformat() for d in plan.reporting_deadlines] == ["2021-06-15", "2021-11-15"]


@needs_libreoffice
def test_the_letterheads_two_sides_are_read_as_lines_of_their_own(printed):
    from storage.plans.pdf import read_pdf
    from storage.plans.table import is_header_row

    source = read_pdf(printed("letterhead"), "ke-hoach-mau.pdf", is_header_row, ImportLimits())
    expected = [
        "ỦY BAN NHÂN DÂN",
        "TỈNH LAM GIANG",
        "Số: 45 /KH-UBND",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Lam Giang, ngày 15 tháng 3 năm 2021",
    ]
    assert source.body[: len(expected)] == expected
    plan = parse_plan_bytes(printed("letterhead"), "ke-hoach-mau.pdf")
    assert (plan.issuer, plan.number, plan.issued.isoformat()) == (
        "UBND tỉnh Lam Giang",
        "45/KH-UBND",
        "2021-03-15",
    )


@needs_libreoffice
def test_agency_cells_keep_their_line_breaks_and_lose_the_wraps_of_a_narrow_column(tmp_path):
    """Two agencies on two lines of a centred cell are two agencies; one long name wrapped by a
    narrow column is one; a merged section row and a lead cell merged down over two tasks read as
    Word reads them; an empty lead cell stays empty."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    document = docx.Document()
    for line in [
        "Số: 12/KH-UBND",
        "Lam Giang, ngày 2 tháng 2 năm 2024",
        "KẾ HOẠCH",
        "Cải cách hành chính năm 2024",
    ]:
        document.add_paragraph(line)
    rows = [
        ["TT", "Nội dung", "Thời gian", "Cơ quan chủ trì", "Cơ quan phối hợp"],
        ["I", "CÁC SỞ, NGÀNH", "", "", ""],
        ["1", "Rà soát thủ tục hành chính.", "Quý II-III/2024", ["Sở Tài chính", "Sở Nội vụ"], ""],
        ["2", "Số hóa hồ sơ lưu trữ.", "Năm 2024", "Sở Văn hóa, Thể thao và Du lịch", "Sở Nội vụ"],
        ["3", "Tập huấn cán bộ một cửa.", "Trước ngày 30/6/2024", "Sở Thông tin và Truyền thông", ""],
        ["4", "Khảo sát mức độ hài lòng.", "Tháng 10/2024", "", ""],
        ["5", "Báo cáo kết quả.", "Trước ngày 15/12/2024", "", "Văn phòng UBND tỉnh"],
    ]
    table = document.add_table(rows=0, cols=5)
    table.style = "Table Grid"
    table.autofit = False
    for values in rows:
        cells = table.add_row().cells
        for cell, value, width in zip(cells, values, (1.0, 6.0, 2.2, 2.6, 3.0), strict=True):
            cell.width = Cm(width)
            lines = value if isinstance(value, list) else [value]
            cell.paragraphs[0].text = lines[0]
            for more in lines[1:]:
                cell.add_paragraph(more)
            for paragraph in cell.paragraphs:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    table.rows[1].cells[1].merge(table.rows[1].cells[4])  # the section row across the table
    table.rows[4].cells[3].merge(table.rows[5].cells[3])  # one lead for tasks 3 and 4
    document.add_paragraph()
    path = tmp_path / "ke-hoach-12.docx"
    document.save(path)

    plan = parse_plan_bytes(print_to_pdf(path).read_bytes(), "ke-hoach-12.pdf")

    tasks = {task.number: task for _, task in plan.tasks}
    assert plan.sections[0].heading == "CÁC SỞ, NGÀNH"
    assert tasks[1].lead_text == "Sở Tài chính\nSở Nội vụ"
    assert tasks[1].timeframe.text == "Quý II-III/2024"
    assert tasks[2].lead_text == "Sở Văn hóa, Thể thao và Du lịch"
    assert tasks[3].lead_text == tasks[4].lead_text == "Sở Thông tin và Truyền thông"
    assert tasks[5].lead_text == ""
    assert tasks[5].coordinating_text == "Văn phòng UBND tỉnh"
    assert (tasks[3].timeframe.end.isoformat(), tasks[5].timeframe.end.isoformat()) == (
        "2024-06-30",
        "2024-12-15",
    )


# --- In the database ----------------------------------------------------------------------------


@needs_libreoffice
async def test_the_pdf_of_a_plan_imported_as_text_changes_nothing(db, printed, tmp_path):
    await import_file(db, SAMPLE_PLAN)
    before = await dump(db)
    path = tmp_path / "ke-hoach-mau.pdf"
    path.write_bytes(printed("one table, landscape appendix"))
    report = await import_file(db, path)
    assert report.status == UNCHANGED
    assert await dump(db) == before


@needs_libreoffice
async def test_a_plan_imported_first_from_its_pdf_reads_like_the_text(db, printed, tmp_path):
    path = tmp_path / "ke-hoach-mau.pdf"
    path.write_bytes(printed("portrait"))
    report = await import_file(db, path)
    doc = await document(db)
    assert (report.status, report.sections, report.tasks) == (CREATED, 7, 30)
    assert doc["reporting_deadlines"] == ["2021-06-15", "2021-11-15"]
    assert tasks_of(doc)["IV.2"]["timeframe"] == {
        "text": "Từ 01/7 đến 31/12/2021",
        "start": "2021-07-01",
        "end": "2021-12-31",
    }
    again = await import_file(db, SAMPLE_PLAN)
    assert again.status == UNCHANGED


@needs_libreoffice
async def test_a_pdf_locked_only_against_editing_opens_without_a_password_and_imports(db, printed, tmp_path):
    path = tmp_path / "ke-hoach-mau.pdf"
    path.write_bytes(encrypted(printed("portrait"), user_password=""))
    report = await import_file(db, path)
    assert (report.status, report.tasks) == (CREATED, 30)


# --- Refused ------------------------------------------------------------------------------------

SUGGESTION = "import the plan's Word (.docx) or Excel (.xlsx) file instead"


def _damaged(printed) -> bytes:
    return b"%PDF-1.4\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"


BAD_PDFS = [
    ("scan", lambda printed: scanned_pdf(), "has no text layer: it is a scanned image"),
    (
        "password",
        lambda printed: encrypted(printed("portrait"), user_password="mat-khau"),
        "protected by a password",
    ),
    (
        "cut in half",
        lambda printed: printed("portrait")[: len(printed("portrait")) // 2],
        "truncated or damaged PDF",
    ),
    ("damaged", _damaged, "is a damaged PDF"),
    ("inflates to 400 MB", lambda printed: inflating_pdf(400), "within the import limits (256 MB of memory)"),
    ("600 pages", lambda printed: many_pages(600), "has 600 pages, more than the 500"),
    ("text but no ruled table", lambda printed: many_pages(2), "no appendix table with ruled cells"),
]


@needs_libreoffice
@pytest.mark.parametrize(("kind", "make", "message"), BAD_PDFS, ids=[b[0] for b in BAD_PDFS])
async def test_a_bad_pdf_is_refused_saying_why_and_the_database_is_unchanged(
    db, printed, tmp_path, kind, make, message
):
    await import_file(db, SAMPLE_PLAN)
    before = await dump(db)
    path = tmp_path / "ke-hoach.pdf"
    path.write_bytes(make(printed))
    with pytest.raises(PlanFormatError) as caught:
        await import_file(db, path)
    assert message in str(caught.value)
    if kind not in ("600 pages",):
        assert SUGGESTION in str(caught.value)
    assert await dump(db) == before


@needs_libreoffice
@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (ImportLimits(max_pdf_pages=3), "more than the 3 a plan may have ([plan] max_pdf_pages)"),
        (ImportLimits(max_table_rows=12), "more than 12 table rows"),
        (ImportLimits(max_megabytes=1), None),
    ],
    ids=["pages", "rows", "megabytes"],
)
def test_the_configured_limits_apply_to_a_pdf(printed, limits, message):
    pdf = printed("one table, rows cut by page ends")
    if message is None:
        pdf = pdf + b"%" + b"x" * (1024 * 1024) + b"\n%%EOF\n"  # a comment past the end: same plan, 1 MB more
        message = "is too large"
    with pytest.raises(PlanFormatError) as caught:
        parse_plan_bytes(pdf, "ke-hoach.pdf", limits)
    assert message in str(caught.value)


def test_a_pdf_that_the_reader_cannot_finish_in_time_is_refused():
    # 200 MB of blanks to inflate and lex, with memory to spare: several seconds of work, given one.
    slow = inflating_pdf(200)
    with pytest.raises(PlanFormatError, match="could not be read within 1 seconds"):
        parse_plan_bytes(slow, "ke-hoach.pdf", ImportLimits(pdf_seconds=1, pdf_memory_megabytes=1024))
