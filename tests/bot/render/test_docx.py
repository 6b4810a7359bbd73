"""The draft report read back with python-docx: what a drafter at Sở TTTT opens in Word."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import subprocess

import docx
import pytest
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn
from docx.shared import Pt

from bot.i18n import use_language
from bot.render.chart import completion_chart
from bot.render.docx import Letterhead, render_docx
from tests.bot.render.conftest import HANOI, load_sample
from tests.office import print_to_pdf, soffice

LETTERHEAD = Letterhead(
    parent_body="UBND tỉnh Lam Giang",
    issuing_body="Sở Thông tin và Truyền thông",
    symbol="STTTT",
    place="Lam Giang",
    signer_title="Giám đốc",
    signer_name="Trần Minh Đức",
)


def mm(*lengths) -> tuple[float, ...]:
    # Word keeps lengths in twentieths of a point; a millimetre is not a whole number of them.
    return tuple(round(length.mm, 1) for length in lengths)


def read(content: bytes):
    return docx.Document(io.BytesIO(content))


def texts(cell) -> list[str]:
    return [p.text for p in cell.paragraphs if p.text]


def body_text(document) -> str:
    return "\n".join(p.text for p in document.paragraphs)


def render(summary, language="vi", letterhead=LETTERHEAD, chart=None) -> bytes:
    with use_language(language):
        return render_docx(summary, tz=HANOI, letterhead=letterhead, chart_png=chart)


async def test_the_national_heading_stands_beside_the_issuing_body_with_the_motto_underlined(sample):
    document = read(render(sample.summary))
    heading = document.tables[0]
    left, right = heading.rows[0].cells

    assert texts(left) == ["UBND TỈNH LAM GIANG", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"]
    assert texts(right) == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    motto = right.paragraphs[1].runs[0]
    assert (motto.bold, motto.underline) == (True, True)
    assert left.paragraphs[1].runs[0].bold is True
    # The table draws no borders: the heading must look like the decree's, not a grid.
    borders = heading._tbl.tblPr.find(qn("w:tblBorders"))
    assert {edge.get(qn("w:val")) for edge in borders} == {"nil"}


async def test_the_number_and_the_place_and_date_line_are_under_the_heading(sample):
    document = read(render(sample.summary))
    number, place_date = document.tables[0].rows[1].cells

    assert texts(number) == ["Số: …/BC-STTTT"]
    # The day the report is made (10 June 2021 in the sample); only the number is left blank.
    assert texts(place_date) == ["Lam Giang, ngày 10 tháng 6 năm 2021"]
    assert place_date.paragraphs[0].runs[0].italic is True


async def test_what_the_bot_cannot_know_is_left_as_a_marked_blank(sample):
    document = read(render(sample.summary, letterhead=Letterhead()))
    heading = document.tables[0]
    signature = document.tables[1]

    assert texts(heading.rows[0].cells[0]) == ["…"]
    assert texts(heading.rows[1].cells[0]) == ["Số: …/BC-…"]
    assert texts(heading.rows[1].cells[1]) == ["…, ngày 10 tháng 6 năm 2021"]
    assert texts(signature.rows[0].cells[1]) == ["…", "…"]


async def test_the_title_names_the_plan_its_date_and_the_period(sample):
    paragraphs = [p.text for p in read(render(sample.summary)).paragraphs if p.text]

    assert paragraphs[:6] == [
        "BÁO CÁO",
        "Kết quả thực hiện Kế hoạch số 45/KH-UBND ngày 15/3/2021 về triển khai chuyển đổi số và truyền "
        "thông chính sách năm 2021",
        # By default the report goes to the body that issued the plan.
        "Kính gửi: UBND tỉnh Lam Giang",
        "Kỳ báo cáo: từ 1/1/2021 đến 15/6/2021",
        # The report is made on 10 June, before the deadline: the figures go to that day.
        "Số liệu tính đến ngày 10/6/2021",
        "Thực hiện Kế hoạch số 45/KH-UBND ngày 15/3/2021, Sở Thông tin và Truyền thông báo cáo kết quả "
        "thực hiện như sau:",
    ]


async def test_the_text_is_times_new_roman_14_pt_on_a4_with_the_decrees_margins(sample):
    document = read(render(sample.summary))
    normal = document.styles["Normal"]
    fonts = normal.element.rPr.rFonts
    first, appendix = document.sections

    assert (normal.font.name, normal.font.size) == ("Times New Roman", Pt(14))
    assert {fonts.get(qn(slot)) for slot in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia")} == {
        "Times New Roman"
    }
    assert mm(first.page_width, first.page_height) == (210, 297)
    assert mm(first.top_margin, first.bottom_margin, first.left_margin, first.right_margin) == (
        20,
        20,
        30,
        15,
    )
    assert appendix.orientation == WD_ORIENT.LANDSCAPE
    assert mm(appendix.page_width, appendix.page_height, appendix.left_margin) == (297, 210, 30)


async def test_each_agency_that_leads_tasks_has_a_results_section(sample):
    text = body_text(read(render(sample.summary)))
    expected = [f"{n}. {agency.name}" for n, agency in enumerate(sample.summary.expected_agencies, start=1)]

    found = [line for line in text.splitlines() if re.match(r"^\d+\. \S", line)]
    assert found == expected
    assert "- I.1. " in text
    assert "hoàn thành · đúng hạn. Đã phát hành 2.000 tờ gấp (Nguyễn Thị Lan, 2/6/2021)" in text
    assert "đang thực hiện 60% · chưa đến hạn. Đang biên tập (Nguyễn Thị Lan, 4/6/2021)" in text


async def test_blockers_are_reported_as_difficulties(sample):
    text = body_text(read(render(sample.summary)))
    difficulties = text.split("III. KHÓ KHĂN, VƯỚNG MẮC")[1].split("IV. ĐỀ XUẤT, KIẾN NGHỊ")[0]

    assert difficulties.strip().startswith("- Gặp vướng mắc: I.2.")
    assert "Chưa được cấp kinh phí (Nguyễn Thị Lan, 3/6/2021)" in difficulties


async def test_the_appendix_mirrors_the_plans_appendix_row_by_row(sample):
    table = read(render(sample.summary)).tables[-1]
    header = [cell.text for cell in table.rows[0].cells]
    rows = [[cell.text for cell in row.cells] for row in table.rows[1:]]
    task_rows = [row for row in rows if row[1] != row[2]]  # section rows span the row: merged cells repeat
    section_rows = [row for row in rows if row[1] == row[2]]

    assert header == [
        "TT",
        "Nội dung công việc",
        "Tiến độ thời gian",
        "Cơ quan phụ trách",
        "Cơ quan phối hợp",
        "Tình trạng báo cáo",
        "Thời hạn",
        "Kết quả thực hiện",
    ]
    assert [(row[0], row[1]) for row in section_rows] == [
        ("I", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"),
        ("II", "SỞ NỘI VỤ"),
        ("III", "SỞ KẾ HOẠCH VÀ ĐẦU TƯ"),
        ("IV", "SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH"),
        ("V", "CÔNG AN TỈNH"),
        ("VI", "ĐÀI PHÁT THANH VÀ TRUYỀN HÌNH TỈNH"),
        ("VII", "UBND CÁC HUYỆN, THÀNH PHỐ"),
    ]
    expected = [[str(task.number), task.content, task.timeframe_text] for task in sample.tasks]
    assert [row[:3] for row in task_rows] == expected
    assert task_rows[0][3] == "Sở Thông tin và Truyền thông"
    # A lead cell the plan left empty shows the agency the import resolved it to.
    second_section = [row for row in task_rows if row[1] == sample.tasks[7].content][0]
    assert second_section[3] == "Sở Nội vụ"
    # The header row repeats on every page of the appendix.
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None


async def test_the_appendix_status_and_result_columns_show_each_tasks_standing(sample):
    table = read(render(sample.summary)).tables[-1]
    by_content = {row.cells[1].text: [cell.text for cell in row.cells] for row in table.rows[1:]}
    first, second, third, fourth = sample.tasks[:4]

    assert by_content[first.content][5:] == [
        "Hoàn thành",
        "Đúng hạn",
        "Đã phát hành 2.000 tờ gấp (Nguyễn Thị Lan, 2/6/2021)",
    ]
    assert by_content[second.content][5:] == [
        "Gặp vướng mắc",
        "Chưa đến hạn",
        "Chưa được cấp kinh phí (Nguyễn Thị Lan, 3/6/2021)",
    ]
    assert by_content[third.content][5:] == [
        "Đang thực hiện 60%",
        "Chưa đến hạn",
        "Đang biên tập (Nguyễn Thị Lan, 4/6/2021)",
    ]
    assert by_content[fourth.content][5:] == ["Chưa báo cáo", "Chưa đến hạn", ""]


async def test_the_report_reads_in_english_when_asked(sample):
    document = read(render(sample.summary, language="en", letterhead=Letterhead(place="Lam Giang")))
    right = document.tables[0].rows[0].cells[1]

    assert texts(right) == ["SOCIALIST REPUBLIC OF VIETNAM", "Independence - Freedom - Happiness"]
    assert texts(document.tables[0].rows[1].cells[1]) == ["Lam Giang, 10/6/2021"]
    assert [cell.text for cell in document.tables[-1].rows[0].cells][:3] == ["No.", "Content", "Timeframe"]


async def test_the_chart_is_embedded_when_given(sample):
    with use_language("vi"):
        chart = completion_chart(sample.summary)
    document = read(render(sample.summary, chart=chart))

    images = [rel for rel in document.part.rels.values() if "image" in rel.reltype]
    assert len(images) == 1
    assert images[0].target_part.blob == chart


async def _pdf_pages(tmp_path, content: bytes) -> list[str]:
    """The DOCX printed to PDF by LibreOffice, read back as the text of each page."""
    from pypdf import PdfReader

    source = tmp_path / "bao-cao.docx"
    source.write_bytes(content)
    pdf = await asyncio.to_thread(print_to_pdf, source, 300)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = (
            await asyncio.to_thread(
                subprocess.run,
                ["pdftotext", "-layout", str(pdf), "-"],
                capture_output=True,
                check=True,
                timeout=60,
            )
        ).stdout.decode()
        return text.split("\f")[: len(PdfReader(pdf).pages)]
    return [page.extract_text() for page in PdfReader(pdf).pages]


HEADING = re.compile(r"^\s*(?:[IV]+\. [A-ZĐÀ-Ỹ ,]+|\d+\. \S.*|PHỤ LỤC)\s*$")


def last_line(page: str) -> str:
    lines = [line for line in page.splitlines() if line.strip()]
    # The page number sits in the header, on top: the last line is the body's.
    return lines[-1].strip() if lines else ""


@pytest.mark.slow
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed; CI installs it")
async def test_the_reference_plans_report_prints_without_orphan_headings_or_cut_words(
    sqlite_db, reference_plan, tmp_path
):
    import datetime as dt

    from storage.plans.importer import import_plan_file
    from storage.summary import build_summary

    async with sqlite_db.transaction() as session:
        plan_id = (await import_plan_file(session, reference_plan)).plan_id
    async with sqlite_db.snapshot() as session:
        summary = await build_summary(
            session, plan_id, cycle=dt.date(2020, 11, 20), today=dt.date(2020, 11, 21)
        )
    with use_language("vi"):
        chart = completion_chart(summary)
    pages = await _pdf_pages(tmp_path, render(summary, chart=chart, letterhead=LETTERHEAD))
    text = "\n".join(pages)
    flat = " ".join(text.split())

    # Bounds that catch a layout gone wrong (a table a character wide, a page per task) without
    # pinning LibreOffice's exact breaks: the body takes a few pages, the 64-task appendix more.
    assert 6 <= len(pages) <= 40, len(pages)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in pages[0]
    assert "Lam Giang, ngày 21 tháng 11 năm 2020" in flat
    assert "Số liệu tính đến ngày 20/11/2020" in flat
    assert "2026" not in flat
    orphans = [
        (number, last_line(page)) for number, page in enumerate(pages, 1) if HEADING.match(last_line(page))
    ]
    assert orphans == []
    # Every task text is there whole in the body (words as the plan has them, across line and page
    # breaks; the page numbers in the headers left out). The appendix is a table, whose columns
    # pdftotext interleaves.
    appendix = next(n for n, page in enumerate(pages) if "PHỤ LỤC" in page)
    body = " ".join(
        line for page in pages[:appendix] for line in page.splitlines() if not line.strip().isdigit()
    )
    body = " ".join(body.split())
    for task in summary.tasks:
        assert " ".join(task.content.rstrip(" .;,").split()) in body, task.code


async def test_a_summary_detailing_only_what_needs_attention_says_so(sqlite_db):
    from storage.summary import ATTENTION

    report = await load_sample(sqlite_db, detail=ATTENTION)
    document = read(render(report.summary))
    text = body_text(document)

    assert "(còn 5 nhiệm vụ khác không nêu chi tiết trong bản tổng hợp này.)" in text
    assert "Chỉ liệt kê các nhiệm vụ cần lưu ý." in text
    appendix_rows = [[cell.text for cell in row.cells] for row in document.tables[-1].rows[1:]]
    assert [row[5] for row in appendix_rows if row[1] != row[2]] == ["Gặp vướng mắc"]


async def test_a_plan_can_have_its_own_data_cut_off_day(sample):
    from dataclasses import replace

    own = replace(LETTERHEAD, plan_cutoff_days={"45/KH-UBND-2021": 5, "87/KH-UBND": 15})
    other_year = replace(LETTERHEAD, plan_cutoff_days={"45/KH-UBND-2020": 5})

    mine = [p.text for p in read(render(sample.summary, letterhead=own)).paragraphs]
    theirs = [p.text for p in read(render(sample.summary, letterhead=other_year)).paragraphs]

    # The report is made on 10 June: the 5th of the deadline's month comes before it.
    assert "Số liệu tính đến ngày 5/6/2021" in mine
    assert "Số liệu tính đến ngày 10/6/2021" in theirs
