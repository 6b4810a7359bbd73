"""The workbook read back with openpyxl: the sheet a coordinator filters and sorts."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from bot.i18n import use_language
from bot.render.xlsx import render_xlsx
from storage.progress_rules import REPORTED, TIMINGS
from tests.bot.render.conftest import HANOI


def workbook(summary, language="vi"):
    with use_language(language):
        return load_workbook(io.BytesIO(render_xlsx(summary, tz=HANOI)))


async def test_the_task_sheet_has_one_row_per_task_under_a_translated_header(sample):
    sheet = workbook(sample.summary).worksheets[0]
    header = [cell.value for cell in sheet[1]]

    assert sheet.title == "Nhiệm vụ"
    assert header == [
        "Mục",
        "Đơn vị",
        "TT",
        "Nội dung công việc",
        "Tiến độ thời gian",
        "Cơ quan phụ trách",
        "Cơ quan phối hợp",
        "Tình trạng báo cáo",
        "Tiến độ (%)",
        "Thời hạn",
        "Ghi chú",
        "Người cập nhật",
        "Thời điểm cập nhật",
        "Minh chứng",
    ]
    assert sheet.max_row == 1 + len(sample.tasks)
    assert [row[3].value for row in sheet.iter_rows(min_row=2)] == [task.content for task in sample.tasks]


async def test_each_row_shows_what_was_reported_beside_the_timing_with_note_and_who_when(sample):
    sheet = workbook(sample.summary).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]

    assert rows[0][:3] == ["I. Sở Thông tin và Truyền thông", "Sở Thông tin và Truyền thông", "I.1"]
    assert rows[0][7:13] == [
        "Hoàn thành",
        100,
        "Đúng hạn",
        "Đã phát hành 2.000 tờ gấp",
        "Nguyễn Thị Lan",
        "02/06/2021 10:00",
    ]
    # The percentage is a number: a spreadsheet averages it.
    assert rows[2][7:11] == ["Đang thực hiện", 60, "Chưa đến hạn", "Đang biên tập"]
    assert rows[3][7:13] == ["Chưa báo cáo", None, "Chưa đến hạn", None, None, None]
    assert [row[7] for row in rows].count("Gặp vướng mắc") == 1


async def test_the_header_is_frozen_filters_are_on_and_long_text_wraps(sample):
    sheet = workbook(sample.summary).worksheets[0]

    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:N{1 + len(sample.tasks)}"
    assert sheet.column_dimensions["D"].width == 60  # the content
    assert sheet.column_dimensions["C"].width == 7  # TT
    assert sheet["D2"].alignment.wrap_text is True
    assert sheet["A1"].font.bold is True


async def test_the_second_sheet_counts_tasks_per_agency(sample):
    sheet = workbook(sample.summary).worksheets[1]
    header = [cell.value for cell in sheet[1]]
    rows = {row[0].value: [cell.value for cell in row] for row in sheet.iter_rows(min_row=2)}
    tttt = rows["Sở Thông tin và Truyền thông"]
    agency = next(a for a in sample.summary.agencies if a.name == "Sở Thông tin và Truyền thông")

    assert sheet.title == "Theo đơn vị"
    assert header[:13] == [
        "Đơn vị",
        "Số nhiệm vụ",
        "Gặp vướng mắc",
        "Đang thực hiện",
        "Chưa thực hiện",
        "Chưa báo cáo",
        "Hoàn thành",
        "Quá hạn",
        "Chưa đến hạn",
        "Không có thời hạn",
        "Trễ hạn",
        "Đúng hạn",
        "Hoàn thành (%)",
    ]
    assert tttt[1:12] == [
        agency.total,
        *(agency.reported_counts[status] for status in REPORTED),
        *(agency.timing_counts[timing] for timing in TIMINGS),
    ]
    # Its six tasks and the one it leads in another section: the seven /nhiemvu lists for it.
    assert tttt[1:12] == [7, 1, 1, 0, 4, 1, 0, 5, 1, 0, 1]  # one task without an end date
    # 1 of 7 done; average progress (100 + 60) / 7.
    assert tttt[12:] == [14.3, 22.9, "có", 4, 1]
    assert len(rows) == len(sample.summary.expected_agencies)
    assert sheet.freeze_panes == "A2"


async def test_the_workbook_reads_in_english_when_asked(sample):
    book = workbook(sample.summary, language="en")

    assert [sheet.title for sheet in book.worksheets] == ["Tasks", "By agency"]
    assert book.worksheets[0]["H1"].value == "Reported status"
    assert book.worksheets[0]["H2"].value == "Done"
    assert book.worksheets[0]["J2"].value == "On time"
