import datetime as dt

import pytest

from storage.plans.timeframe import parse_timeframe

D = dt.date

# (cell as written, plan year, expected start, expected end)
UNDERSTOOD = [
    ("Cả năm", 2020, D(2020, 1, 1), D(2020, 12, 31)),
    ("cả năm", 2021, D(2021, 1, 1), D(2021, 12, 31)),
    ("Ca nam", 2020, D(2020, 1, 1), D(2020, 12, 31)),
    ("Năm 2020", 2021, D(2020, 1, 1), D(2020, 12, 31)),
    ("Trong năm 2021", 2020, D(2021, 1, 1), D(2021, 12, 31)),
    ("Thường xuyên", 2020, D(2020, 1, 1), D(2020, 12, 31)),
    ("Thường xuyên.", 2021, D(2021, 1, 1), D(2021, 12, 31)),
    ("Hằng năm", 2020, D(2020, 1, 1), D(2020, 12, 31)),
    ("Giai đoạn 2021 - 2025", 2021, D(2021, 1, 1), D(2025, 12, 31)),
    ("Quý IV/2020", 2020, D(2020, 10, 1), D(2020, 12, 31)),
    ("Quý I", 2021, D(2021, 1, 1), D(2021, 3, 31)),
    ("Quý 2/2021", 2021, D(2021, 4, 1), D(2021, 6, 30)),
    ("Quý III, IV/2020", 2020, D(2020, 7, 1), D(2020, 12, 31)),
    ("Quý II-III/2021", 2020, D(2021, 4, 1), D(2021, 9, 30)),
    ("Quý II – III/2021", 2020, D(2021, 4, 1), D(2021, 9, 30)),
    ("Quý III và Quý IV năm 2020", 2020, D(2020, 7, 1), D(2020, 12, 31)),
    ("Tháng 6/2020", 2020, D(2020, 6, 1), D(2020, 6, 30)),
    ("Tháng 2/2024", 2024, D(2024, 2, 1), D(2024, 2, 29)),
    ("Tháng 9", 2021, D(2021, 9, 1), D(2021, 9, 30)),
    ("Tháng 6, 7/2020", 2020, D(2020, 6, 1), D(2020, 7, 31)),
    ("Tháng 6 năm 2020", 2021, D(2020, 6, 1), D(2020, 6, 30)),
    ("Từ tháng 4 đến tháng 12/2021", 2021, D(2021, 4, 1), D(2021, 12, 31)),
    ("6 tháng đầu năm 2021", 2020, D(2021, 1, 1), D(2021, 6, 30)),
    ("6 tháng cuối năm", 2020, D(2020, 7, 1), D(2020, 12, 31)),
    ("9 tháng đầu năm", 2021, D(2021, 1, 1), D(2021, 9, 30)),
    ("Trước ngày 30/6/2021", 2020, None, D(2021, 6, 30)),
    ("Trước ngày 15/11", 2021, None, D(2021, 11, 15)),
    ("trước 30/6", 2020, None, D(2020, 6, 30)),
    ("Từ 01/7 đến 31/12/2020", 2020, D(2020, 7, 1), D(2020, 12, 31)),
    ("Từ 01/7 đến 31/12", 2021, D(2021, 7, 1), D(2021, 12, 31)),
    ("Từ ngày 15/12/2020 đến ngày 15/01/2021", 2020, D(2020, 12, 15), D(2021, 1, 15)),
    ("Ngày 02/9/2021", 2021, D(2021, 9, 2), D(2021, 9, 2)),
]


@pytest.mark.parametrize(("text", "year", "start", "end"), UNDERSTOOD)
def test_a_timeframe_becomes_its_first_and_last_day(text, year, start, end):
    expected = (start, end, True)
    timeframe = parse_timeframe(text, year)
    assert (timeframe.start, timeframe.end, timeframe.understood) == expected
    assert timeframe.text == text


NOT_UNDERSTOOD = [
    "Khi có yêu cầu",
    "Theo đề nghị của doanh nghiệp viễn thông",
    "Quý V/2020",
    "Tháng 13/2020",
    "31/6/2020",
    "Từ 31/12 đến 01/7/2020",
    "Năm 2025 - 2021",
    "",
]


@pytest.mark.parametrize("text", NOT_UNDERSTOOD)
def test_any_other_timeframe_is_kept_as_written_without_dates(text):
    expected = (text, None, None, False)
    timeframe = parse_timeframe(text, 2020)
    assert (timeframe.text, timeframe.start, timeframe.end, timeframe.understood) == expected


def test_spaces_in_a_timeframe_are_tidied_but_the_words_are_kept():
    expected = "Quý IV/2020"
    assert parse_timeframe("  Quý   IV/2020 ", 2020).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Năm 2022", (dt.date(2022, 1, 1), dt.date(2022, 12, 31))),
        ("2021-2025", (dt.date(2021, 1, 1), dt.date(2025, 12, 31))),
        ("Giai đoạn 2021 - 2025", (dt.date(2021, 1, 1), dt.date(2025, 12, 31))),
        ("Từ năm 2021 đến năm 2025", (dt.date(2021, 1, 1), dt.date(2025, 12, 31))),
        ("Hằng năm", (dt.date(2021, 1, 1), dt.date(2025, 12, 31))),
        ("Cả năm", (dt.date(2021, 1, 1), dt.date(2021, 12, 31))),
    ],
)
def test_timeframes_of_a_multi_year_plan(text, expected):
    timeframe = parse_timeframe(text, 2021, 2025)
    assert (timeframe.start, timeframe.end) == expected
