"""Reading what people type: statuses with or without diacritics, percentages, task references,
durations, command words."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.parsing import TaskRef, parse_duration, parse_status, parse_task_ref, parse_update_line
from bot.core.router import find_command
from storage.models.people import BLOCKED, DONE, IN_PROGRESS, NOT_STARTED


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("hoàn thành", DONE),
        ("Hoan thanh", DONE),
        ("HOÀN THÀNH", DONE),
        ("xong", DONE),
        ("done", DONE),
        ("đang thực hiện", IN_PROGRESS),
        ("dang thuc hien", IN_PROGRESS),
        ("chưa hoàn thành", IN_PROGRESS),
        ("in progress", IN_PROGRESS),
        ("chưa triển khai", NOT_STARTED),
        ("chua trien khai", NOT_STARTED),
        ("not started", NOT_STARTED),
        ("gặp vướng mắc", BLOCKED),
        ("vuong mac", BLOCKED),
        ("blocked", BLOCKED),
        ("hoàn thành tốt", None),
        ("có lẽ", None),
        ("", None),
    ],
)
def test_a_status_is_read_ignoring_case_and_diacritics(typed, expected):
    assert parse_status(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("3", TaskRef(number=3)),
        ("#3", TaskRef(number=3)),
        ("IV.3", TaskRef(code="IV.3")),
        ("iv.3", TaskRef(code="IV.3")),
        ("IV-03", TaskRef(code="IV.3")),
        ("XII.1", TaskRef(code="XII.1")),
        ("ba", None),
        ("IV", None),
    ],
)
def test_a_task_is_named_by_its_number_or_its_plan_numbering(typed, expected):
    assert parse_task_ref(typed) == expected


def test_a_one_line_update_is_taken_apart_keeping_the_note_as_typed():
    line = parse_update_line("3 hoàn thành  60%   Đã phát sóng 12 chương trình (VTV4)")

    assert (line.ref, line.status, line.percent, line.note) == (
        TaskRef(number=3),
        DONE,
        60,
        "Đã phát sóng 12 chương trình (VTV4)",
    )


def test_a_percentage_may_come_before_the_status():
    line = parse_update_line("IV.3 40% dang thuc hien da in 2000 to roi")

    assert (line.ref, line.status, line.percent, line.note) == (
        TaskRef(code="IV.3"),
        IN_PROGRESS,
        40,
        "da in 2000 to roi",
    )


def test_words_that_name_no_status_are_flagged_unclear():
    line = parse_update_line("3 hoan tat roi")

    assert (line.status, line.status_unclear, line.note) == (None, True, "hoan tat roi")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("7d", dt.timedelta(days=7)),
        ("7", dt.timedelta(days=7)),
        ("48h", dt.timedelta(hours=48)),
        ("2w", dt.timedelta(weeks=2)),
        ("30m", dt.timedelta(minutes=30)),
        ("7 ngày", dt.timedelta(days=7)),
        ("0d", None),
        ("soon", None),
        ("7y", None),
    ],
)
def test_an_invite_validity_is_read_from_a_short_duration(typed, expected):
    assert parse_duration(typed) == expected


@pytest.mark.parametrize(
    ("typed", "command", "args"),
    [
        ("/capnhat 3 xong", "capnhat", "3 xong"),
        ("/update 3 done", "capnhat", "3 done"),
        ("cập nhật 3 xong", "capnhat", "3 xong"),
        ("/CAPNHAT@nhacviec_bot 3", "capnhat", "3"),
        ("chưa báo cáo", "chuabaocao", ""),
        ("/missing", "chuabaocao", ""),
        ("Tổng hợp", "tonghop", ""),
        ("hủy", "huy", ""),
    ],
)
def test_command_words_are_found_however_they_are_typed(typed, command, args):
    match = find_command(typed)

    assert (match.command.name, match.args) == (command, args)


def test_text_that_starts_with_no_command_word_is_not_a_command():
    assert find_command("Đã phát sóng 12 chương trình") is None
