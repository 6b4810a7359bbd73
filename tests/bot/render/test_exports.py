"""`export_summary` — the one call behind `/xuat` — and the plain formats (csv, md, json), the chart."""

from __future__ import annotations

import csv
import io
import json
import warnings

import docx
import pytest
from openpyxl import load_workbook
from PIL import Image as PILImage

from bot.i18n import use_language
from bot.render.chart import completion_chart
from bot.render.exports import UnknownFormat, chart_image, export_summary, normalize_format, render_summary
from bot.render.json_report import render_json
from bot.render.tables import render_csv, render_markdown
from tests.bot.render.conftest import HANOI, JUNE_2021, TODAY, load_sample


async def test_export_summary_gives_a_named_docx_document_in_one_call(db):
    report = await load_sample(db)
    async with db.snapshot() as session:
        document = await export_summary(
            session, report.plan_id, "docx", cycle=JUNE_2021, today=TODAY, language="vi"
        )

    assert document.filename == "bao-cao-45-KH-UBND-2021-06-15.docx"
    assert document.mime_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert document.caption == "Kết quả thực hiện Kế hoạch số 45/KH-UBND, từ 1/1/2021 đến 15/6/2021"
    opened = docx.Document(io.BytesIO(document.content))
    assert opened.paragraphs[0].text == "BÁO CÁO"


async def test_export_summary_gives_a_workbook_with_every_task(db):
    report = await load_sample(db)
    async with db.snapshot() as session:
        document = await export_summary(
            session, report.plan_id, "XLSX", cycle=JUNE_2021, today=TODAY, language="en"
        )

    sheet = load_workbook(io.BytesIO(document.content)).worksheets[0]
    assert document.filename.endswith(".xlsx")
    assert sheet.max_row == 1 + len(report.tasks)
    assert document.caption.startswith("Results of carrying out Plan No. 45/KH-UBND")


async def test_an_unknown_format_is_refused_naming_the_formats_there_are(db):
    with pytest.raises(UnknownFormat, match="docx, xlsx, csv, md, json"):
        async with db.snapshot() as session:
            await export_summary(session, 1, "pdf", today=TODAY)
    assert normalize_format(" Word ") == "docx"
    assert normalize_format("markdown") == "md"


async def test_csv_has_one_row_per_task_and_opens_in_excel_with_vietnamese_letters(sample):
    with use_language("vi"):
        content = render_csv(sample.summary, tz=HANOI)

    assert content.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs for UTF-8
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Mục", "Đơn vị", "TT", "Nội dung công việc"]
    assert len(rows) == 1 + len(sample.tasks)
    assert rows[2][2:4] == ["I.2", sample.tasks[1].content]
    assert rows[2][7:10] == ["Gặp vướng mắc", "", "Chưa đến hạn"]


async def test_markdown_lists_the_counts_and_every_task_in_tables(sample):
    with use_language("vi"):
        text = render_markdown(sample.summary, tz=HANOI)

    assert text.startswith("# Kết quả thực hiện Kế hoạch số 45/KH-UBND\n")
    assert "- Đơn vị đã báo cáo: 1/" in text
    assert "| Mục | Đơn vị | TT | Nội dung công việc |" in text
    task_lines = [line for line in text.splitlines() if line.startswith("| I") or line.startswith("| V")]
    assert len(task_lines) == len(sample.tasks)


async def test_json_carries_status_codes_labels_and_iso_dates(sample):
    with use_language("vi"):
        data = json.loads(render_json(sample.summary))

    assert data["plan"]["number"] == "45/KH-UBND"
    assert data["period"] == {
        "cycle": "2021-06-15",
        "start": "2021-01-01",
        "end": "2021-06-15",
        "today": "2021-06-10",
        "as_of": "2021-06-10",
    }
    assert data["reported_counts"] == {
        "blocked": 1,
        "in_progress": 1,
        "not_started": 0,
        "not_reported": data["tasks_total"] - 3,
        "done": 1,
    }
    assert sum(data["timing_counts"].values()) == data["tasks_total"]
    first, third = data["tasks"][0], data["tasks"][2]
    assert (
        first["code"],
        first["reported"],
        first["reported_label"],
        first["timing"],
        first["timing_label"],
    ) == (
        "I.1",
        "done",
        "hoàn thành",
        "on_time",
        "đúng hạn",
    )
    assert (third["reported"], third["percent"], third["timing"]) == ("in_progress", 60, "not_due")
    assert first["latest_update"]["created_at"] == "2021-06-02T03:00:00+00:00"
    assert first["latest_update"]["member"] == "Nguyễn Thị Lan"


async def test_the_chart_is_a_png_in_a_font_with_every_vietnamese_letter(sample):
    with warnings.catch_warnings(record=True) as caught, use_language("vi"):
        warnings.simplefilter("always")
        content = completion_chart(sample.summary)

    picture = PILImage.open(io.BytesIO(content))
    assert picture.format == "PNG"
    assert picture.width > 1000
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert missing == []


async def test_chart_image_is_captioned_for_tonghop(sample):
    image = chart_image(sample.summary, language="vi")

    assert image.filename == "bao-cao-45-KH-UBND-2021-06-15.png"
    assert image.caption == "Tỷ lệ hoàn thành theo đơn vị — Kế hoạch số 45/KH-UBND"
    assert image.content.startswith(b"\x89PNG")


async def test_the_reference_plan_becomes_a_report_with_its_64_tasks(sqlite_db, reference_plan):
    from storage.plans.importer import import_plan_file
    from storage.summary import build_summary

    async with sqlite_db.transaction() as session:
        plan_id = (await import_plan_file(session, reference_plan)).plan_id
    async with sqlite_db.snapshot() as session:
        summary = await build_summary(session, plan_id, today=TODAY.replace(year=2020))
    document = render_summary(summary, "docx", language="vi", tz=HANOI)

    table = docx.Document(io.BytesIO(document.content)).tables[-1]
    rows = [[cell.text for cell in row.cells] for row in table.rows[1:]]
    sections = [row[0] for row in rows if row[1] == row[-1]]
    assert len(rows) - len(sections) == 64
    assert sections == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]


def test_the_letterhead_comes_from_the_report_section_of_the_configuration(tmp_path):
    from bot.config import ConfigError, load_config
    from bot.render.exports import letterhead_from_config

    path = tmp_path / "config.toml"
    path.write_text(
        '[report]\nissuing_body = "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"\nsymbol = "STTTT"\nplace = "Hà Nội"\n',
        encoding="utf-8",
    )
    letterhead = letterhead_from_config(load_config(path, env={}))

    assert (letterhead.issuing_body, letterhead.symbol, letterhead.place) == (
        "SỞ THÔNG TIN VÀ TRUYỀN THÔNG",
        "STTTT",
        "Hà Nội",
    )
    assert (letterhead.parent_body, letterhead.signer_name) == (None, None)
    path.write_text('[report]\nsigner = "Nguyễn Văn A"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="report.signer: unknown setting"):
        load_config(path, env={})
