"""What a reminder says, in the recipient's language."""

import datetime as dt

from bot.core.messages import Button
from bot.reminders import reference, render_notice
from scheduler.notices import Address, AgencyLine, MemberLine, Notice, NoticeItem, TaskLine

D = dt.date


def notice(
    *items: NoticeItem, language: str = "vi", agency: str | None = "Sở Du lịch", today=D(2020, 6, 17)
) -> Notice:
    return Notice(
        member_id=1,
        member_name="Chị Lan",
        language=language,
        agency_id=2 if agency else None,
        agency_name=agency,
        today=today,
        preferred_platform="telegram",
        addresses=(Address(1, "telegram", "111", "111"),),
        items=items,
    )


TASKS = (
    TaskLine(4, "II.1", "Quảng bá du lịch Thủ đô trên kênh quốc tế"),
    TaskLine(5, "II.2", "Lắp đặt biển chỉ dẫn du lịch tại các quận"),
)


def report_item(offset: int = 3, kind: str = "report", deadline=D(2020, 6, 20)) -> NoticeItem:
    return NoticeItem("87/KH-UBND", kind, "report", deadline, offset, (10,), tasks=TASKS)


def test_a_reminder_in_vietnamese_says_what_is_due_when_and_which_tasks_lack_an_update():
    reply = render_notice(notice(report_item()))
    expected = (
        "⏰ Nhắc việc: Sở Du lịch\n"
        "\n"
        "Hạn báo cáo kết quả thực hiện kế hoạch: Thứ Bảy, 20/6/2020 (còn 3 ngày).\n"
        "Nhiệm vụ chưa cập nhật tiến độ:\n"
        "• II.1 Quảng bá du lịch Thủ đô trên kênh quốc tế\n"
        "• II.2 Lắp đặt biển chỉ dẫn du lịch tại các quận\n"
        "\n"
        "Bấm vào nhiệm vụ bên dưới để báo cáo, hoặc gửi /capnhat.\n"
        "\n"
        "[87/KH-UBND · 20/6 · T-3]"
    )
    assert reply.text == expected


def test_a_reminder_in_english():
    reply = render_notice(notice(report_item(offset=1), language="en", today=D(2020, 6, 19)))
    expected = (
        "⏰ Reminder for Sở Du lịch\n"
        "\n"
        "The report on the plan's results is due Saturday, 20 June 2020 (tomorrow).\n"
        "Tasks without an update yet:\n"
        "• II.1 Quảng bá du lịch Thủ đô trên kênh quốc tế\n"
        "• II.2 Lắp đặt biển chỉ dẫn du lịch tại các quận\n"
        "\n"
        "Tap a task below to report on it, or send /capnhat.\n"
        "\n"
        "[87/KH-UBND · 20/6 · T-1]"
    )
    assert reply.text == expected


def test_an_overdue_reminder_says_so():
    item = NoticeItem("87/KH-UBND", "overdue", "report", D(2020, 6, 20), -1, (11,), tasks=TASKS[:1])
    lines = render_notice(notice(item, today=D(2020, 6, 22))).text.splitlines()
    assert lines[2] == "QUÁ HẠN: chưa nhận được báo cáo hạn Thứ Bảy, 20/6/2020."
    assert lines[-1] == "[87/KH-UBND · 20/6 · T+1]"


def test_a_task_deadline_lists_the_tasks_due():
    item = NoticeItem("87/KH-UBND", "task", "task", D(2020, 6, 30), 7, (12, 13), tasks=TASKS)
    lines = render_notice(notice(item, today=D(2020, 6, 23))).text.splitlines()
    expected = [
        "Nhiệm vụ đến hạn Thứ Ba, 30/6/2020 (còn 7 ngày):",
        "• II.1 Quảng bá du lịch Thủ đô trên kênh quốc tế",
        "• II.2 Lắp đặt biển chỉ dẫn du lịch tại các quận",
    ]
    assert lines[2:5] == expected


def test_a_long_task_list_is_cut_with_a_count_of_the_rest():
    item = NoticeItem("87/KH-UBND", "report", "report", D(2020, 6, 20), 7, (10,), tasks=TASKS, more_tasks=5)
    assert "…và 5 nhiệm vụ khác" in render_notice(notice(item)).text


def test_reminders_due_together_share_one_message_and_one_reference():
    quarter = NoticeItem("87/KH-UBND", "quarter", "quarter", D(2020, 6, 30), 7, (14,))
    report = NoticeItem("87/KH-UBND", "report", "report", D(2020, 6, 30), 7, (15,))
    reply = render_notice(notice(report, quarter, today=D(2020, 6, 23)))
    assert "Cập nhật tiến độ hằng quý: quý kết thúc vào Thứ Ba, 30/6/2020 (còn 7 ngày)." in reply.text
    assert reply.text.endswith("[87/KH-UBND · 30/6 · T-7]")


def test_the_reference_names_every_deadline_and_offset_in_the_message():
    items = (report_item(offset=3), NoticeItem("87/KH-UBND", "quarter", "quarter", D(2020, 6, 30), 14, (16,)))
    assert reference(notice(*items)) == "[87/KH-UBND · 20/6 · T-3 | 30/6 · T-14]"


def test_the_coordinators_digest_lists_who_has_not_reported_and_who_cannot_be_reached():
    item = NoticeItem(
        "87/KH-UBND",
        "escalation",
        "report",
        D(2020, 6, 20),
        -1,
        (20,),
        missing=(AgencyLine("Sở Du lịch", 1), AgencyLine("Sở Ngoại vụ", 0)),
        unreachable=(MemberLine("Anh Minh", "Sở Ngoại vụ", "blocked"),),
    )
    reply = render_notice(notice(item, agency=None, today=D(2020, 6, 22)))
    expected = (
        "📋 Tổng hợp tình hình báo cáo\n"
        "\n"
        "Hạn báo cáo Thứ Bảy, 20/6/2020:\n"
        "2 đơn vị chưa báo cáo:\n"
        "• Sở Du lịch\n"
        "• Sở Ngoại vụ — chưa có đầu mối liên lạc được\n"
        "Đầu mối không liên lạc được (đã chặn bot hoặc rời cuộc trò chuyện):\n"
        "• Anh Minh (Sở Ngoại vụ)\n"
        "\n"
        "Gửi /chuabaocao để xem danh sách đầy đủ, /nhacnho để nhắc ngay.\n"
        "\n"
        "[87/KH-UBND · 20/6 · T+1]"
    )
    assert reply.text == expected


def test_the_buttons_given_are_the_replys_buttons():
    buttons = [[Button("Cập nhật II.1", "k1")], [Button("Cập nhật II.2", "k2")]]
    reply = render_notice(notice(report_item()), buttons)
    expected = [[Button("Cập nhật II.1", "k1")], [Button("Cập nhật II.2", "k2")]]
    assert reply.buttons == expected
