"""Reading plan files: the reference plan, the sample plan, and each rule on small plans."""

import datetime as dt
import unicodedata
import zipfile

import pytest

from storage.plans.notices import PlanFormatError
from storage.plans.parser import parse_plan_bytes, parse_plan_file
from tests.conftest import SAMPLE_PLAN

D = dt.date
YEAR = (D(2020, 1, 1), D(2020, 12, 31))


def tasks_by_code(plan):
    return {task.code(section.numeral): task for section, task in plan.tasks}


# --- The reference plan -------------------------------------------------------------------------

REFERENCE_SECTIONS = [
    ("I", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", 8),
    ("II", "SỞ NGOẠI VỤ", 5),
    ("III", "SỞ VĂN HÓA VÀ THỂ THAO", 7),
    ("IV", "SỞ DU LỊCH", 9),
    ("V", "SỞ TÀI CHÍNH", 2),
    ("VI", "SỞ CÔNG THƯƠNG", 5),
    ("VII", "SỞ GIAO THÔNG VẬN TẢI", 3),
    ("VIII", "SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG", 8),
    ("IX", "CÔNG AN THÀNH PHỐ HÀ NỘI", 5),
    ("X", "TRUNG TÂM XÚC TIẾN ĐẦU TƯ, THƯƠNG MẠI, DU LỊCH", 5),
    ("XI", "LIÊN HIỆP CÁC TỔ CHỨC HỮU NGHỊ THÀNH PHỐ", 5),
    ("XII", "VIỆN NGHIÊN CỨU PHÁT TRIỂN KINH TẾ - XÃ HỘI HÀ NỘI", 2),
]


def test_the_reference_plan_header_gives_number_date_title_and_year(reference_plan):
    plan = parse_plan_file(reference_plan)
    expected = ("87/KH-UBND", D(2020, 4, 24), "Tổ chức các hoạt động thông tin đối ngoại năm 2020", 2020)
    assert (plan.number, plan.issued, plan.title, plan.year) == expected


def test_the_reference_plan_asks_for_reports_before_20_june_and_20_november_2020(reference_plan):
    expected = [D(2020, 6, 20), D(2020, 11, 20)]
    assert parse_plan_file(reference_plan).reporting_deadlines == expected


def test_the_reference_plan_has_twelve_sections_with_their_tasks_numbered_from_one(reference_plan):
    plan = parse_plan_file(reference_plan)
    expected = REFERENCE_SECTIONS
    assert [(s.numeral, s.heading, len(s.tasks)) for s in plan.sections] == expected
    assert all([t.number for t in s.tasks] == list(range(1, len(s.tasks) + 1)) for s in plan.sections)
    assert len(plan.tasks) == 64


def test_every_continuation_row_of_the_reference_is_joined_to_its_task(reference_plan):
    tasks = tasks_by_code(parse_plan_file(reference_plan))
    i5 = tasks["I.5"]
    assert i5.content.startswith(
        "Tuyên truyền các sự kiện đối ngoại của Thủ đô và đất nước trong năm 2020; quảng bá về thành phố "
        "Hà Nội trên website sự kiện Hội nghị và Triển lãm Thế giới số 2020; tuyên truyền, quảng bá"
    )
    assert i5.content.endswith("phân giới cắm mốc, quản lý biên giới trên đất liền...")
    assert i5.coordinating_text == "Ban Tuyên giáo Thành ủy và các cơ quan, đơn vị có liên quan"
    assert (i5.lead_text, i5.responsible) == ("Sở Thông tin và Truyền thông", "Giám đốc Sở TTTT")
    assert "Thành phố Hà Nội và kênh CNN quốc tế, tiếp tục giới thiệu Hà Nội" in tasks["IV.1"].content
    assert tasks["IV.1"].content.endswith("cửa ngõ liên kết tới các điểm đến khác của đất nước.")
    assert tasks["IV.6"].content.endswith(
        "khảo sát các sản phẩm du lịch để quảng bá du lịch Hà Nội, thu hút đầu tư du lịch vào Hà Nội."
    )
    assert tasks["X.1"].content.endswith("giới thiệu tiềm năng du lịch Thủ đô và thu hút đầu tư nước ngoài.")
    assert tasks["XI.2"].responsible == "Chủ tịch Liên hiệp các tổ chức hữu nghị Thành phố"
    assert (
        tasks["XI.2"].content
        == "Xuất bản Bản tin “Hữu nghị và hợp tác” song ngữ định kỳ hàng tháng từ số 176 đến 188"
    )


def test_every_reference_timeframe_has_its_dates(reference_plan):
    tasks = tasks_by_code(parse_plan_file(reference_plan))
    expected = {code: ("Cả năm", *YEAR) for code in tasks}
    expected["I.6"] = ("Quý IV/2020", D(2020, 10, 1), D(2020, 12, 31))
    expected["I.8"] = ("Quý III, IV/2020", D(2020, 7, 1), D(2020, 12, 31))
    actual = {code: (t.timeframe.text, t.timeframe.start, t.timeframe.end) for code, t in tasks.items()}
    assert actual == expected


def test_the_reference_keeps_empty_and_multi_agency_cells_as_written(reference_plan):
    tasks = tasks_by_code(parse_plan_file(reference_plan))
    assert [tasks[c].lead_text for c in ("II.3", "II.4", "XII.2")] == ["", "", ""]
    assert tasks["I.3"].lead_text == "- Công Giao tiếp điện tử Hà Nội - Sở Thông tin và Truyền thông"
    assert tasks["I.6"].coordinating_text == "Sở Ngoại vụ, Sở Du lịch, Sở VHHT, Trung tâm XTĐTMDL"
    assert tasks["X.5"].responsible == ""


def test_the_reference_plan_reads_without_warnings(reference_plan):
    expected = []
    assert [str(w) for w in parse_plan_file(reference_plan).warnings] == expected


# --- The sample plan ----------------------------------------------------------------------------

SAMPLE_TIMEFRAMES = {
    "I.1": ("Quý II-III/2021", D(2021, 4, 1), D(2021, 9, 30)),
    "I.2": ("Quý IV/2021", D(2021, 10, 1), D(2021, 12, 31)),
    "I.3": ("Cả năm", D(2021, 1, 1), D(2021, 12, 31)),
    "I.4": ("Thường xuyên", D(2021, 1, 1), D(2021, 12, 31)),
    "I.5": ("Quý III, IV/2021", D(2021, 7, 1), D(2021, 12, 31)),
    "I.6": ("Theo đề nghị của doanh nghiệp viễn thông", None, None),
    "II.1": ("6 tháng đầu năm 2021", D(2021, 1, 1), D(2021, 6, 30)),
    "II.2": ("Trước ngày 30/6/2021", None, D(2021, 6, 30)),
    "II.3": ("Tháng 12/2021", D(2021, 12, 1), D(2021, 12, 31)),
    "II.4": ("Năm 2021", D(2021, 1, 1), D(2021, 12, 31)),
    "III.1": ("Từ 01/7 đến 31/12/2021", D(2021, 7, 1), D(2021, 12, 31)),
    "III.2": ("Tháng 6/2021", D(2021, 6, 1), D(2021, 6, 30)),
    "III.3": ("Năm 2021", D(2021, 1, 1), D(2021, 12, 31)),
    "III.4": ("6 tháng cuối năm", D(2021, 7, 1), D(2021, 12, 31)),
    "IV.1": ("Cả năm", D(2021, 1, 1), D(2021, 12, 31)),
    "IV.2": ("Từ 01/7 đến 31/12/2021", D(2021, 7, 1), D(2021, 12, 31)),
    "IV.3": ("Thường xuyên", D(2021, 1, 1), D(2021, 12, 31)),
    "IV.4": ("Tháng 9", D(2021, 9, 1), D(2021, 9, 30)),
    "IV.5": ("Quý II/2021", D(2021, 4, 1), D(2021, 6, 30)),
    "V.1": ("Quý II-III/2021", D(2021, 4, 1), D(2021, 9, 30)),
    "V.2": ("Cả năm", D(2021, 1, 1), D(2021, 12, 31)),
    "V.3": ("Thường xuyên", D(2021, 1, 1), D(2021, 12, 31)),
    "VI.1": ("Từ tháng 4 đến tháng 12/2021", D(2021, 4, 1), D(2021, 12, 31)),
    "VI.2": ("Quý III/2021", D(2021, 7, 1), D(2021, 9, 30)),
    "VI.3": ("Quý IV/2021", D(2021, 10, 1), D(2021, 12, 31)),
    "VI.4": ("Năm 2021", D(2021, 1, 1), D(2021, 12, 31)),
    "VII.1": ("6 tháng đầu năm 2021", D(2021, 1, 1), D(2021, 6, 30)),
    "VII.2": ("Thường xuyên", D(2021, 1, 1), D(2021, 12, 31)),
    "VII.3": ("Quý III, IV/2021", D(2021, 7, 1), D(2021, 12, 31)),
    "VII.4": ("Trước ngày 15/11/2021", None, D(2021, 11, 15)),
}


def test_the_sample_plan_reads_like_the_reference_format():
    plan = parse_plan_file(SAMPLE_PLAN)
    assert (plan.number, plan.issued, plan.year) == ("45/KH-UBND", D(2021, 3, 15), 2021)
    assert plan.title == "Triển khai chuyển đổi số và truyền thông chính sách năm 2021"
    assert plan.reporting_deadlines == [D(2021, 6, 15), D(2021, 11, 15)]
    expected = [("I", 6), ("II", 4), ("III", 4), ("IV", 5), ("V", 3), ("VI", 4), ("VII", 4)]
    assert [(s.numeral, len(s.tasks)) for s in plan.sections] == expected


def test_every_sample_timeframe_has_its_dates_or_is_kept_as_text():
    tasks = tasks_by_code(parse_plan_file(SAMPLE_PLAN))
    expected = SAMPLE_TIMEFRAMES
    assert {
        code: (t.timeframe.text, t.timeframe.start, t.timeframe.end) for code, t in tasks.items()
    } == expected


def test_the_sample_plan_continuation_rows_join_content_agencies_timeframe_and_responsible():
    tasks = tasks_by_code(parse_plan_file(SAMPLE_PLAN))
    assert tasks["I.3"].content.endswith(
        "trên Cổng thông tin điện tử của tỉnh; tổ chức các buổi giới thiệu tài liệu tại trung tâm các huyện, thành phố."
    )
    assert tasks["I.3"].coordinating_text == "Ban Tuyên giáo Tỉnh ủy và các cơ quan, đơn vị có liên quan"
    assert tasks["II.4"].responsible == "Phó Giám đốc Sở Nội vụ phụ trách công tác đào tạo, bồi dưỡng"
    assert tasks["IV.2"].content.endswith("lưu trú, ẩm thực và lễ hội truyền thống.")
    assert tasks["IV.2"].timeframe.text == "Từ 01/7 đến 31/12/2021"


def test_the_sample_plan_warns_only_about_the_timeframe_it_cannot_date():
    expected = [
        'I.6: timeframe "Theo đề nghị của doanh nghiệp viễn thông" not understood; kept as written, without dates'
    ]
    assert [str(w) for w in parse_plan_file(SAMPLE_PLAN).warnings] == expected


# --- Rules, on small plans ----------------------------------------------------------------------

HEADER = """Số: **12** /KH-UBND

Lam Giang, ngày **2** tháng **3** năm 2021

**KẾ HOẠCH**
**Thử nghiệm nhắc việc năm 2021**

UBND tỉnh đề nghị các đơn vị định kỳ báo cáo kết quả (trước ngày 15/6 và 15/11, gửi Sở Thông tin và Truyền thông).

"""
TH = (
    "TT",
    "Nội dung, quy mô công việc",
    "Tiến độ thời gian",
    "Cơ quan phụ trách",
    "Cơ quan phối hợp",
    "Phân công phụ trách",
)
BOLD_TH = tuple(f"<b>{c}</b>" for c in TH)


def plan_text(*rows, header=HEADER) -> str:
    lines = ["\t".join(row) if isinstance(row, tuple) else row for row in rows]
    return header + "\n".join(lines) + "\n"


def parse(text: str, name: str = "plan.txt"):
    return parse_plan_bytes(text.encode("utf-8"), name)


def small_plan(*task_rows):
    return plan_text(TH, ("I", "<b>SỞ NỘI VỤ</b>", "", "", "", ""), *task_rows)


def test_bold_markup_around_the_number_and_date_is_ignored():
    plan = parse(small_plan(("1", "Việc một", "Cả năm", "Sở Nội vụ", "", "")))
    expected = ("12/KH-UBND", D(2021, 3, 2), "Thử nghiệm nhắc việc năm 2021", 2021)
    assert (plan.number, plan.issued, plan.title, plan.year) == expected


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("định kỳ báo cáo UBND tỉnh (trước ngày 20/6 và 20/11)", [D(2021, 6, 20), D(2021, 11, 20)]),
        (
            "định kỳ báo cáo trước ngày 15 tháng 6 và ngày 15 tháng 12 hằng năm",
            [D(2021, 6, 15), D(2021, 12, 15)],
        ),
        ("Các đơn vị báo cáo kết quả trước ngày 10/12/2021.", [D(2021, 12, 10)]),
        ("định kỳ báo cáo trước ngày 20/11, 20/6 và 20/11", [D(2021, 6, 20), D(2021, 11, 20)]),
    ],
)
def test_the_reporting_clause_gives_deadlines_in_the_plans_year(clause, expected):
    header = HEADER.replace(
        "UBND tỉnh đề nghị các đơn vị định kỳ báo cáo kết quả (trước ngày 15/6 và 15/11, gửi Sở Thông tin và Truyền thông).",
        clause,
    )
    text = plan_text(
        TH, ("I", "SỞ NỘI VỤ", "", "", "", ""), ("1", "Việc", "Cả năm", "", "", ""), header=header
    )
    assert parse(text).reporting_deadlines == expected


def test_a_plan_without_a_reporting_clause_has_no_deadlines_and_says_so():
    header = HEADER.replace(
        "UBND tỉnh đề nghị các đơn vị định kỳ báo cáo kết quả (trước ngày 15/6 và 15/11, gửi Sở Thông tin và Truyền thông).",
        "Các đơn vị triển khai thực hiện.",
    )
    plan = parse(
        plan_text(TH, ("I", "SỞ NỘI VỤ", "", "", "", ""), ("1", "Việc", "Cả năm", "", "", ""), header=header)
    )
    assert plan.reporting_deadlines is None
    assert any("no reporting clause" in str(w) for w in plan.warnings)


def test_repeated_header_rows_bold_or_not_are_skipped_and_section_rows_may_be_bold_or_not():
    text = small_plan(
        ("1", "Việc một", "Cả năm", "Sở Nội vụ", "", ""),
        "",
        "\t".join(BOLD_TH),
        ("2", "Việc hai", "Cả năm", "Sở Nội vụ", "", ""),
        ("<b>II</b>", "<b>SỞ TÀI CHÍNH</b>", "", "", "", ""),
        "",
        "\t".join(TH),
        ("1", "Việc ba", "Quý I", "Sở Tài chính", "", ""),
        ("III", "Sở Y tế", "", "", "", ""),
        ("1", "Việc bốn", "Quý I", "Sở Y tế", "", ""),
    )
    plan = parse(text)
    expected = [
        ("I", "SỞ NỘI VỤ", ["Việc một", "Việc hai"]),
        ("II", "SỞ TÀI CHÍNH", ["Việc ba"]),
        ("III", "Sở Y tế", ["Việc bốn"]),
    ]
    assert [(s.numeral, s.heading, [t.content for t in s.tasks]) for s in plan.sections] == expected
    assert plan.warnings == []


def test_a_continuation_row_joins_each_non_empty_cell_to_the_task_above():
    text = small_plan(
        ("1", "Nội dung bị", "Quý III,", "Sở Nội vụ", "Sở Tài chính và các", "Giám đốc"),
        "",
        "\t".join(TH),
        ("", "cắt ngang trang", "IV/2021", "", "cơ quan liên quan", "Sở Nội vụ"),
        ("2", "Việc hai", "Cả năm", "Sở Nội vụ", "", ""),
    )
    task = parse(text).sections[0].tasks[0]
    expected = (
        "Nội dung bị cắt ngang trang",
        "Quý III, IV/2021",
        "Sở Nội vụ",
        "Sở Tài chính và các cơ quan liên quan",
        "Giám đốc Sở Nội vụ",
    )
    assert (
        task.content,
        task.timeframe.text,
        task.lead_text,
        task.coordinating_text,
        task.responsible,
    ) == expected
    assert (task.timeframe.start, task.timeframe.end) == (D(2021, 7, 1), D(2021, 12, 31))


def test_a_section_heading_cut_by_a_page_break_is_joined():
    text = plan_text(
        TH,
        ("X", "<b>TRUNG TÂM XÚC TIẾN ĐẦU TƯ,</b>", "", "", "", ""),
        "",
        "\t".join(TH),
        ("", "<b>THƯƠNG MẠI, DU LỊCH</b>", "", "", "", ""),
        ("1", "Việc", "Cả năm", "", "", ""),
    )
    plan = parse(text)
    assert plan.sections[0].heading == "TRUNG TÂM XÚC TIẾN ĐẦU TƯ, THƯƠNG MẠI, DU LỊCH"


def test_an_unknown_tt_cell_is_joined_to_the_task_above_with_a_warning():
    plan = parse(small_plan(("1", "Việc một", "Cả năm", "", "", ""), ("a)", "và phần a", "", "", "", "")))
    assert plan.sections[0].tasks[0].content == "Việc một và phần a"
    assert any('"a)" in the TT column' in str(w) for w in plan.warnings)


def test_columns_are_found_by_their_header_names_in_any_order():
    header = ("STT", "Cơ quan chủ trì", "Nhiệm vụ", "Thời gian hoàn thành", "Đơn vị phối hợp")
    text = plan_text(
        header, ("I", "", "Sở Nội vụ", "", ""), ("1", "Sở Nội vụ", "Việc một", "Quý II/2021", "Sở Y tế")
    )
    task = parse(text).sections[0].tasks[0]
    expected = ("Việc một", "Sở Nội vụ", "Sở Y tế", "Quý II/2021", "")
    assert (
        task.content,
        task.lead_text,
        task.coordinating_text,
        task.timeframe.text,
        task.responsible,
    ) == expected


def test_an_appendix_on_its_own_names_its_plan_under_its_title():
    header = """**PHỤ LỤC**
**KẾ HOẠCH THỬ NGHIỆM NHẮC VIỆC NĂM 2021**
(Kèm theo Kế hoạch số... 12.../KH-UBND ngày 2/3/2021)

"""
    plan = parse(
        plan_text(TH, ("I", "SỞ NỘI VỤ", "", "", "", ""), ("1", "Việc", "Cả năm", "", "", ""), header=header)
    )
    expected = ("12/KH-UBND", D(2021, 3, 2), "Thử nghiệm nhắc việc năm 2021", 2021, None)
    assert (plan.number, plan.issued, plan.title, plan.year, plan.reporting_deadlines) == expected


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ((("1", "Việc", "Cả năm", "", "", ""),), "task 1 comes before any section row"),
        (
            (
                ("I", "SỞ NỘI VỤ", "", "", "", ""),
                ("1", "Việc", "Cả năm", "", "", ""),
                ("1", "Lại", "Cả năm", "", "", ""),
            ),
            "task 1 appears twice in section I",
        ),
        (
            (
                ("I", "SỞ NỘI VỤ", "", "", "", ""),
                ("1", "V", "", "", "", ""),
                ("I", "SỞ Y TẾ", "", "", "", ""),
            ),
            "section I appears twice",
        ),
        (
            (("I", "SỞ NỘI VỤ", "", "", "", ""), ("1", "V", "Cả năm", "", "", "", "thừa")),
            "the row has 7 cells",
        ),
        ((("I", "SỞ NỘI VỤ", "", "", "", ""),), "the appendix table holds no tasks"),
    ],
)
def test_a_table_that_breaks_the_rules_is_refused_with_the_line_it_happened_on(rows, message):
    with pytest.raises(PlanFormatError) as caught:
        parse(plan_text(TH, *rows))
    assert message in str(caught.value)


def test_a_header_without_a_lead_column_is_refused():
    with pytest.raises(PlanFormatError, match="no column Cơ quan phụ trách"):
        parse(plan_text(("TT", "Nội dung", "Tiến độ"), ("I", "SỞ NỘI VỤ", ""), ("1", "Việc", "Cả năm")))


# --- Bad files ----------------------------------------------------------------------------------


def sample_bytes() -> bytes:
    return SAMPLE_PLAN.read_bytes()


def cut_in_the_table() -> bytes:
    data = sample_bytes()
    row = data.index("Tuyên truyền, quảng bá di sản văn hóa".encode())
    return data[: row + 20]


def cut_mid_character() -> bytes:
    data = sample_bytes()
    return data[: data.index("Xây dựng thí điểm".encode()) + 2]  # "â" is two bytes: keep one


def office_file_cut_short(tmp_path) -> bytes:
    from tests.plan_files import write_docx

    data = write_docx(SAMPLE_PLAN, tmp_path / "plan.docx").read_bytes()
    return data[: len(data) // 2]


BAD_FILES = [
    ("empty", lambda tmp: b"", "is empty"),
    ("blank", lambda tmp: b" \n\n\t\n", "is empty"),
    ("binary", lambda tmp: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary file"),
    (
        "cp1258",
        lambda tmp: unicodedata.normalize("NFD", SAMPLE_PLAN.read_text(encoding="utf-8")).encode(
            "cp1258", "replace"
        ),
        "not UTF-8 text",
    ),
    (
        "latin-1",
        lambda tmp: SAMPLE_PLAN.read_text(encoding="utf-8").encode("latin-1", "replace"),
        "not UTF-8 text",
    ),
    ("cut in the table", lambda tmp: cut_in_the_table(), "truncated"),
    ("cut mid-character", lambda tmp: cut_mid_character(), "truncated"),
    ("cut before the appendix", lambda tmp: sample_bytes()[:3000], "has no appendix table"),
    ("prose", lambda tmp: "Biên bản họp giao ban tuần.\nNội dung: không có.\n".encode(), "is not a plan"),
    ("pdf without its end", lambda tmp: b"%PDF-1.7\n" + b"x" * 100, "truncated or damaged PDF"),
    ("old word", lambda tmp: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Word/Excel format"),
    ("office file cut short", office_file_cut_short, "damaged"),
]


@pytest.mark.parametrize(("kind", "make", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_is_refused_with_a_message_saying_what_is_wrong(tmp_path, kind, make, message):
    with pytest.raises(PlanFormatError) as caught:
        parse_plan_bytes(make(tmp_path), "ke-hoach.txt")
    assert message in str(caught.value)


def test_a_missing_file_is_refused_with_its_name(tmp_path):
    with pytest.raises(PlanFormatError, match="no such file"):
        parse_plan_file(tmp_path / "khong-co.txt")


def test_a_zip_that_is_not_an_office_file_is_refused(tmp_path):
    path = tmp_path / "plan.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(PlanFormatError, match="neither a Word nor an Excel file"):
        parse_plan_file(path)


def test_a_utf8_file_with_a_byte_order_mark_reads_like_one_without():
    with_bom = parse_plan_bytes(b"\xef\xbb\xbf" + sample_bytes(), "plan.txt")
    expected = parse_plan_file(SAMPLE_PLAN)
    assert (with_bom.number, len(with_bom.tasks)) == (expected.number, len(expected.tasks))


# --- Word and Excel quirks ----------------------------------------------------------------------

WORD_HEADER = ["Số: 7/KH-UBND", "Lam Giang, ngày 1 tháng 2 năm 2021", "KẾ HOẠCH", "Thử nghiệm năm 2021"]


def test_merged_cells_in_a_word_table_are_read_once_and_a_vertical_merge_covers_each_row():
    import io

    import docx

    document = docx.Document()
    for line in WORD_HEADER:
        document.add_paragraph(line)
    table = document.add_table(rows=4, cols=6)
    for cell, text in zip(table.rows[0].cells, TH, strict=True):
        cell.text = text
    table.rows[1].cells[0].text = "I"
    table.rows[1].cells[1].merge(table.rows[1].cells[5]).text = "SỞ NỘI VỤ"
    for row, cells in (
        (2, ["1", "Việc một", "Quý II/2021", "Sở Nội vụ", "Sở Y tế\nSở Tài chính", "Giám đốc"]),
        (3, ["2", "Việc hai", "Cả năm", "", "", ""]),
    ):
        for cell, text in zip(table.rows[row].cells, cells, strict=True):
            cell.text = text
    table.rows[2].cells[3].merge(table.rows[3].cells[3])
    data = io.BytesIO()
    document.save(data)
    plan = parse_plan_bytes(data.getvalue(), "ke-hoach.docx")
    section = plan.sections[0]
    expected = [(1, "Việc một", "Sở Nội vụ", "Sở Y tế\nSở Tài chính"), (2, "Việc hai", "Sở Nội vụ", "")]
    assert section.heading == "SỞ NỘI VỤ"
    assert [(t.number, t.content, t.lead_text, t.coordinating_text) for t in section.tasks] == expected


def test_an_excel_sheet_with_merged_section_rows_and_numbers_as_numbers_reads_like_text():
    import io

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for line in WORD_HEADER:
        sheet.append([line])
    sheet.append(list(TH))
    sheet.append(["II", "SỞ Y TẾ"])
    sheet.merge_cells(start_row=6, start_column=2, end_row=6, end_column=6)
    sheet.append([1, "Việc một", dt.datetime(2021, 6, 30), "Sở Y tế", None, None])
    data = io.BytesIO()
    workbook.save(data)
    plan = parse_plan_bytes(data.getvalue(), "ke-hoach.xlsx")
    task = plan.sections[0].tasks[0]
    expected = ("II", "SỞ Y TẾ", 1, "30/6/2021", D(2021, 6, 30))
    assert (
        plan.sections[0].numeral,
        plan.sections[0].heading,
        task.number,
        task.timeframe.text,
        task.timeframe.end,
    ) == expected
