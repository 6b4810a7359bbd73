"""Reports in chat: /xuat sends the cycle's DOCX, XLSX or CSV to coordinators, and /tonghop comes with
the completion chart and buttons to export it or open one agency. The files are read back the way
the coordinator's office suite would read them."""

from __future__ import annotations

import csv
import datetime as dt
import io

import docx
from openpyxl import load_workbook
from PIL import Image as PillowImage

from bot.core.handlers.exports import CURRENT, PREVIOUS, parse_export_request
from bot.core.messages import Document, Reply
from bot.transports.console import ConsoleTransport, run_chat
from tests.bot.core.chat import ChatUser
from tests.factories import SectionSpec, make_member, make_plan

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The cycle ending 20/11 has begun (and buttons issued on 1 June are still within their lifetime).
IN_THE_NOVEMBER_CYCLE = dt.datetime(2020, 6, 25, 2, 0, tzinfo=dt.UTC)


def documents(replies: list[Reply]) -> list[Document]:
    return [document for reply in replies if reply.to_chat_id is None for document in reply.documents]


def only_document(replies: list[Reply]) -> Document:
    found = documents(replies)
    assert len(found) == 1, [reply.text for reply in replies]
    return found[0]


def appendix_rows(document) -> list[list[str]]:
    """The appendix table (its header starts with TT / No.) as rows of cell texts, header excluded."""
    table = next(t for t in document.tables if t.rows[0].cells[0].text in ("TT", "No."))
    return [[cell.text for cell in row.cells] for row in table.rows[1:]]


def button_labels(replies: list[Reply]) -> list[str]:
    return [button.label for reply in replies for row in reply.buttons for button in row]


async def test_a_coordinators_xuat_docx_sends_the_draft_report_with_every_task_and_the_stored_update(
    db, core, plan, focal, coordinator
):
    await focal.say("/capnhat 1 done Broadcast 12 programmes")

    replies = await coordinator.send("/xuat docx")
    sent = only_document(replies)
    report = docx.Document(io.BytesIO(sent.content))
    paragraphs = [p.text for p in report.paragraphs if p.text]
    rows = appendix_rows(report)

    assert sent.filename == "bao-cao-87-KH-UBND-2020-06-20.docx"
    assert sent.mime_type == DOCX_TYPE
    assert coordinator.text().startswith(
        "Plan 87/KH-UBND, reporting cycle ending Saturday, 20 June 2020: 1/3 agencies reported, 8 tasks.\n"
        "The Word file is a draft: fill in the number, the date and the signer, then sign."
    )
    assert paragraphs[:2] == [
        "REPORT",
        "Results of carrying out Plan No. 87/KH-UBND of 24 Apr 2020 on "
        "kế hoạch tổ chức các hoạt động thông tin đối ngoại",
    ]
    assert (
        "- II.1. Quảng bá du lịch Thủ đô trên kênh quốc tế: done · on time. "
        "Broadcast 12 programmes (Lan, 1 Jun 2020)"
    ) in paragraphs
    expected = [task.content for task in plan.tasks.values()]
    assert [row[1] for row in rows if row[0].isdigit()] == expected
    tourism = next(row for row in rows if row[1] == plan.tasks["II.1"].content)
    assert tourism[5:] == ["Done", "On time", "Broadcast 12 programmes (Lan, 1 Jun 2020)"]


async def test_xuat_xlsx_sends_a_workbook_with_one_row_per_task(db, core, plan, focal, coordinator):
    await focal.say("/capnhat 2 blocked Waiting for the district's permit")

    sent = only_document(await coordinator.send("/export xlsx"))
    sheet = load_workbook(io.BytesIO(sent.content)).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]

    assert sent.filename == "bao-cao-87-KH-UBND-2020-06-20.xlsx"
    assert [row[2] for row in rows] == list(plan.tasks)
    assert [row[3] for row in rows] == [task.content for task in plan.tasks.values()]
    signs = next(row for row in rows if row[2] == "II.2")
    assert (signs[7], signs[9], signs[10], signs[11]) == (
        "Blocked",
        "Not due yet",
        "Waiting for the district's permit",
        "Lan",
    )


async def test_xuat_csv_sends_a_table_with_one_line_per_task(db, core, plan, coordinator):
    sent = only_document(await coordinator.send("/xuat csv"))
    lines = list(csv.reader(io.StringIO(sent.content.decode("utf-8-sig"))))

    assert sent.filename == "bao-cao-87-KH-UBND-2020-06-20.csv"
    assert len(lines) == 1 + len(plan.tasks)


async def test_a_focal_point_is_refused_the_export_in_their_language_and_gets_no_file(db, core, plan, focal):
    async with db.transaction() as session:
        await make_member(session, "Minh", agency=plan.agencies["Sở Ngoại vụ"], user_id="minh", language="vi")
    minh = ChatUser(core, "minh")

    in_english = await focal.send("/xuat docx")
    in_english_text = focal.text()
    in_vietnamese = await minh.send("xuat xlsx")

    assert in_english_text == "/xuat is for coordinators only.\nSend /trogiup to see what you can do."
    assert minh.text() == "/xuat chỉ dành cho điều phối viên.\nGửi /trogiup để xem bạn có thể làm gì."
    assert documents(in_english) == [] and documents(in_vietnamese) == []


async def test_xuat_without_a_format_offers_docx_and_xlsx_and_a_tap_sends_the_file(
    db, core, plan, coordinator
):
    replies = await coordinator.send("/xuat")

    assert coordinator.text().startswith("Which file for the reporting cycle ending Saturday, 20 June 2020?")
    assert button_labels(replies) == ["📄 Report (DOCX)", "📊 Spreadsheet (XLSX)"]
    assert documents(replies) == []

    sent = only_document(await coordinator.tap("XLSX"))

    assert sent.filename == "bao-cao-87-KH-UBND-2020-06-20.xlsx"
    assert load_workbook(io.BytesIO(sent.content)).worksheets[0].max_row == 1 + len(plan.tasks)


async def test_a_vietnamese_coordinator_gets_the_report_in_vietnamese(db, core, plan):
    async with db.transaction() as session:
        await make_member(session, "Hà", role="coordinator", user_id="ha", language="vi")
    ha = ChatUser(core, "ha")

    sent = only_document(await ha.send("/xuat word"))
    paragraphs = [p.text for p in docx.Document(io.BytesIO(sent.content)).paragraphs if p.text]

    assert ha.text().startswith(
        "Kế hoạch 87/KH-UBND, kỳ báo cáo hạn Thứ Bảy, 20/6/2020: 0/3 đơn vị đã báo cáo, 8 nhiệm vụ."
    )
    assert paragraphs[0] == "BÁO CÁO"
    assert paragraphs[1].startswith("Kết quả thực hiện Kế hoạch số 87/KH-UBND ngày 24/4/2020")


async def test_ky_truoc_exports_the_previous_cycle_and_a_date_the_cycle_holding_it(
    db, core, plan, coordinator, clock
):
    clock.set(IN_THE_NOVEMBER_CYCLE)

    previous = only_document(await coordinator.send("/xuat xlsx ky truoc"))
    november = only_document(await coordinator.send("/xuat 15/10 docx"))
    current = only_document(await coordinator.send("/xuat csv"))

    assert previous.filename == "bao-cao-87-KH-UBND-2020-06-20.xlsx"
    assert november.filename == "bao-cao-87-KH-UBND-2020-11-20.docx"
    assert current.filename == "bao-cao-87-KH-UBND-2020-11-20.csv"


async def test_asking_for_the_cycle_before_the_first_says_there_is_none(db, core, plan, coordinator):
    replies = await coordinator.send("/xuat docx previous")

    assert coordinator.text().startswith(
        "There is no reporting cycle before the one ending Saturday, 20 June 2020."
    )
    assert documents(replies) == []


async def test_a_date_outside_the_plan_is_answered_with_its_deadlines(db, core, plan, coordinator):
    replies = await coordinator.send("/xuat docx 20/11/2019")

    expected = "Plan 87/KH-UBND has no reporting cycle holding 20 Nov 2019; its deadlines are 20 Jun 2020, 20 Nov 2020."
    assert coordinator.text().startswith(expected)
    assert documents(replies) == []


async def test_an_unknown_format_gets_the_valid_choices_and_nothing_is_sent(db, core, plan, coordinator):
    replies = await coordinator.send("/xuat pdf")

    assert coordinator.text().startswith(
        "I cannot make “pdf” into a file.\n"
        "Which file for the reporting cycle ending Saturday, 20 June 2020?\n"
        "Send /xuat docx, /xuat xlsx, /xuat csv or /xuat zip (Word, Excel and the evidence files); add "
        "“previous” or a deadline such as 20/6 for another cycle."
    )
    assert button_labels(replies) == ["📄 Report (DOCX)", "📊 Spreadsheet (XLSX)"]
    assert documents(replies) == []


async def test_tonghop_sends_the_completion_chart_and_buttons_and_the_docx_button_sends_the_report(
    db, core, plan, focal, coordinator
):
    await focal.say("/capnhat 1 done Broadcast 12 programmes")

    replies = await coordinator.send("/tonghop")
    images = [image for reply in replies for image in reply.images]
    chart = PillowImage.open(io.BytesIO(images[0].content))

    assert replies[0].text.startswith("Summary of plan 87/KH-UBND")
    assert button_labels(replies) == ["📄 Report (DOCX)", "📊 Spreadsheet (XLSX)", "🏢 Open an agency"]
    assert len(images) == 1
    assert images[0].content.startswith(PNG_SIGNATURE)
    assert images[0].caption == "Completion by agency — plan 87/KH-UBND"
    assert chart.format == "PNG"
    assert chart.width >= 800 and chart.height >= 300

    sent = only_document(await coordinator.tap("DOCX"))
    rows = appendix_rows(docx.Document(io.BytesIO(sent.content)))

    assert sent.filename == "bao-cao-87-KH-UBND-2020-06-20.docx"
    assert ["Done", "On time", "Broadcast 12 programmes (Lan, 1 Jun 2020)"] in [row[5:] for row in rows]


async def test_an_export_button_keeps_the_cycle_it_was_shown_for_after_the_next_cycle_began(
    db, core, plan, coordinator, clock
):
    await coordinator.send("/tonghop")
    clock.set(IN_THE_NOVEMBER_CYCLE)

    sent = only_document(await coordinator.tap("XLSX"))

    assert sent.filename == "bao-cao-87-KH-UBND-2020-06-20.xlsx"


async def test_the_summary_opens_one_agency_those_not_reported_first(db, core, plan, focal, coordinator):
    await focal.say("/capnhat 1 done")
    await coordinator.send("/tonghop")

    choices = await coordinator.tap("Open an agency")

    assert coordinator.text().startswith("Whose tasks? Those that have not reported come first.")
    assert button_labels(choices) == ["✗ Sở TTTT — 0/3", "✗ Sở Ngoại vụ — 0/2", "✓ Sở Du lịch — 1/3"]

    text = "\n".join(reply.text for reply in await coordinator.tap("Sở Du lịch"))

    assert text.startswith("Tasks of Sở Du lịch")


async def test_every_page_of_a_long_summary_keeps_the_export_buttons_and_the_chart_comes_once(
    db, core, coordinator
):
    sections = [
        SectionSpec(f"Ủy ban nhân dân quận số {n}", ["Nhiệm vụ tuyên truyền đối ngoại"])
        for n in range(1, 121)
    ]
    async with db.transaction() as session:
        await make_plan(session, sections, number="99/KH-UBND")

    # Two plans are followed now: the command names the one it is about.
    first = await coordinator.send("/tonghop 99")
    second = await coordinator.tap("Next")
    choices = await coordinator.tap("Open an agency")

    assert [len(reply.images) for reply in first] == [0, 1]
    assert "📄 Report (DOCX)" in button_labels(second)
    assert all(reply.images == [] for reply in second)
    assert len(button_labels(choices)) == 30
    assert "Showing 30 of 120 agencies; send /nhiemvu followed by a name for any other." in coordinator.text()


async def test_the_console_saves_an_exported_report_in_the_folder_given(db, app, plan, coordinator, tmp_path):
    out = io.StringIO()
    transport = ConsoleTransport(out, files_dir=tmp_path / "files")

    await run_chat(app, user="an", stdin=io.StringIO("/xuat docx\n"), transport=transport)
    saved = tmp_path / "files" / "bao-cao-87-KH-UBND-2020-06-20.docx"
    size = round(saved.stat().st_size / 1024)

    assert f"[📄 bao-cao-87-KH-UBND-2020-06-20.docx, {size} KB → {saved}]" in out.getvalue()
    assert [p.text for p in docx.Document(saved).paragraphs if p.text][0] == "REPORT"


def test_export_words_are_read_in_any_order_with_or_without_accents():
    read = [
        parse_export_request(args, year=2020)
        for args in ("", "Excel kỳ trước", "docx xlsx 20/11", "ky nay csv", "pdf truoc", "2020-06-20 word")
    ]

    expected = [
        ([], CURRENT, []),
        (["xlsx"], PREVIOUS, []),
        (["docx", "xlsx"], dt.date(2020, 11, 20), []),
        (["csv"], CURRENT, []),
        ([], PREVIOUS, ["pdf"]),
        (["docx"], dt.date(2020, 6, 20), []),
    ]
    assert [(r.formats, r.period, r.unread) for r in read] == expected


async def test_what_a_focal_point_said_reaches_the_summary_and_the_files_as_said_with_the_timing(
    db, core, plan, focal, coordinator
):
    await focal.say("/capnhat 1 chưa làm")
    await focal.say("/capnhat 2 đang thực hiện 60% đã lắp một nửa")
    await focal.say("/capnhat 3 hoàn thành https://example.gov.vn/bao-cao-doan.pdf")

    summary = await coordinator.say("/tonghop")
    assert "Reported: in progress 1, not started 1, not reported 5, done 1" in summary
    assert "Timing: not due yet 7, on time 1" in summary

    sheet = load_workbook(io.BytesIO(only_document(await coordinator.send("/xuat xlsx")).content)).worksheets[
        0
    ]
    rows = {row[2]: row for row in ([cell.value for cell in r] for r in sheet.iter_rows(min_row=2))}
    assert rows["II.1"][7:10] == ["Not started", 0, "Not due yet"]
    assert rows["II.2"][7:11] == ["In progress", 60, "Not due yet", "đã lắp một nửa"]
    assert rows["II.3"][7:10] == ["Done", 100, "On time"]
    assert rows["II.3"][13] == "https://example.gov.vn/bao-cao-doan.pdf"

    document = docx.Document(io.BytesIO(only_document(await coordinator.send("/xuat docx")).content))
    appendix = {row.cells[1].text: [cell.text for cell in row.cells] for row in document.tables[-1].rows[1:]}
    assert appendix[plan.tasks["II.2"].content][5:7] == ["In progress 60%", "Not due yet"]
    assert "Evidence: https://example.gov.vn/bao-cao-doan.pdf." in appendix[plan.tasks["II.3"].content][7]
