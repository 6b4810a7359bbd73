"""The end-to-end scenarios, on Zalo: over real HTTP between the emulators, the runner, the core and
the reminder engine, in each way Zalo reaches us (Bot Platform polling, Bot Platform webhook,
Official Account webhook).

Onboarding by invite (on Zalo the newcomer sends `/start <code>`: there are no deep links), a guided
update answered by numbers, a one-line update, the coordinator's summary, and reminders with faults.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import docx
import pytest
from sqlalchemy import select

from bot.app import App
from bot.reminders import build_engine
from storage.models.people import DONE, Identity, Member, ProgressUpdate
from storage.models.plan import Task
from storage.models.reminders import Reminder
from tests.bot.zalo.apps import Zalo
from tests.emulators.faults import Fault
from tests.scheduler.conftest import hanoi, manual_sleep


async def updates_stored(db) -> list[tuple]:
    async with db.snapshot() as session:
        rows = await session.execute(
            select(Task.code, ProgressUpdate.status, ProgressUpdate.note, ProgressUpdate.source_platform)
            .join(Task, Task.id == ProgressUpdate.task_id)
            .order_by(ProgressUpdate.id)
        )
        return [tuple(row) for row in rows]


# -- onboarding, updates, summary ------------------------------------------------------------------


async def test_a_newcomer_registers_by_sending_start_with_the_invite_code(db, zalo, chi):
    await zalo.say(chi, "/moi")
    await zalo.say(chi, "1")  # a focal point
    (invite,) = await zalo.say(chi, "Sở Du lịch")
    token = re.search(r"/start (\S+)", invite).group(1)

    (welcome,) = await zalo.say("lan", f"/start {token}")

    assert welcome.startswith("Chào mừng Trần Thị Lan! Bạn đã đăng ký là đầu mối của Sở Du lịch.")
    async with db.snapshot() as session:
        member = await session.scalar(
            select(Member)
            .join(Identity)
            .where(Identity.platform == zalo.platform, Identity.external_id == "lan")
        )
        assert (member.role, member.agency.name) == ("focal", "Sở Du lịch")


async def test_a_guided_update_is_answered_by_numbers(db, zalo, lan):
    (tasks,) = await zalo.say(lan, "/capnhat")
    assert "2. II.2 · Lắp đặt biển chỉ dẫn du lịch tại các quận" in tasks.splitlines()
    (statuses,) = await zalo.say(lan, "2")
    assert statuses.splitlines()[-4:] == [
        "1. Chưa thực hiện",
        "2. Đang thực hiện",
        "3. Hoàn thành",
        "4. Gặp vướng mắc",
    ]
    await zalo.say(lan, "3")
    await zalo.say(lan, "Đã lắp 40 biển")
    (saved,) = await zalo.say(lan, "1")  # no evidence

    assert saved.startswith("Đã lưu: nhiệm vụ II.2 — hoàn thành.")
    assert await updates_stored(db) == [("II.2", DONE, "Đã lắp 40 biển", zalo.platform)]


async def test_a_one_line_update_is_saved_at_once(db, zalo, lan):
    (saved,) = await zalo.say(lan, "capnhat 1 xong Đã phát sóng 12 chương trình")

    assert saved.startswith("Đã lưu: nhiệm vụ II.1 — hoàn thành.")
    assert await updates_stored(db) == [("II.1", DONE, "Đã phát sóng 12 chương trình", zalo.platform)]


async def test_the_coordinator_sees_who_has_reported(zalo, chi, lan):
    await zalo.say(lan, "/capnhat 1 xong Đã phát sóng 12 chương trình")
    summary, chart = await zalo.say(chi, "/tonghop")

    lines = summary.splitlines()
    assert lines[0] == "Tổng hợp Kế hoạch 87/KH-UBND — kỳ báo cáo hạn Thứ Bảy, 20/6/2020"
    assert "Đơn vị đã báo cáo: 1/3" in lines
    assert any(line.startswith("✓ Sở Du lịch") for line in lines)
    # The chart that comes with the summary: no public address for files is configured here, so it is
    # named rather than shown.
    assert chart == (
        "(Không hiển thị được hình ảnh trên Zalo: Tỷ lệ hoàn thành theo đơn vị — Kế hoạch số 87/KH-UBND)"
    )


async def test_the_coordinator_exports_the_report_answering_by_number(zalo, chi, lan):
    (menu,) = await zalo.say(chi, "/xuat")
    assert menu.splitlines()[-2:] == ["1. 📄 Báo cáo (DOCX)", "2. 📊 Bảng tính (XLSX)"]
    answer = await zalo.say(chi, "1")

    assert answer[0].startswith(
        "Kế hoạch 87/KH-UBND, kỳ báo cáo hạn Thứ Bảy, 20/6/2020: 0/3 đơn vị đã báo cáo"
    )
    if zalo.mode == "official_account":  # an OA sends the Word file itself
        (name, content), *_ = [message.file for message in zalo.api.sent if message.file]
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)
        assert name.endswith(".docx") and "I. TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ" in text
    else:  # a Zalo bot cannot: the opening of the report, and how to get the file
        digest = answer[-1].splitlines()
        assert digest[0] == "Kết quả thực hiện Kế hoạch số 87/KH-UBND, từ 1/1/2020 đến 20/6/2020"
        assert digest[1].startswith("📄 Zalo không gửi được tệp bao-cao-87-KH-UBND-2020-06-20.docx và")
        assert "I. TÌNH HÌNH BÁO CÁO CỦA CÁC ĐƠN VỊ" in digest


async def test_someone_unregistered_is_told_how_to_join(zalo):
    (answer,) = await zalo.say("stranger", "xin chào")
    assert answer.startswith("Bạn chưa đăng ký.")


# -- reminders ---------------------------------------------------------------------------------------


def reminder_engine(zalo: Zalo, clock, *transports):
    app: App = zalo.runner.app
    return build_engine(
        app, {t.platform: t for t in transports or (zalo.runner.transport,)}, sleep_until=manual_sleep(clock)
    )


async def reminder_statuses(db, member: str = "Lan") -> list[str]:
    """What became of the member's reminders planned for the first reminder day (later ones wait)."""
    async with db.snapshot() as session:
        return list(
            (
                await session.scalars(
                    select(Reminder.status)
                    .join(Member, Member.id == Reminder.member_id)
                    .where(Member.name == member, Reminder.due_at <= FIRST_REMINDER)
                    .order_by(Reminder.id)
                )
            ).all()
        )


# A week before 20/6 is a Saturday: the first reminder goes on Friday 12/6 at 08:00.
FIRST_REMINDER = hanoi(2020, 6, 12)


@pytest.fixture
async def lan_wrote_today(zalo, lan, clock):
    """On the Official Account a reminder may only answer a recent message: Lan writes that morning."""
    clock.set(FIRST_REMINDER - dt.timedelta(hours=1))
    await zalo.say(lan, "/lich")
    clock.set(FIRST_REMINDER)
    return lan


async def test_a_reminder_reaches_the_focal_point_on_zalo(db, zalo, lan_wrote_today, clock):
    before = len(zalo.texts("lan"))
    await reminder_engine(zalo, clock).run_once()

    reminders = zalo.texts("lan")[before:]
    assert len(reminders) == 1
    assert "Thứ Bảy, 20/6/2020" in reminders[0]
    assert "[87/KH-UBND · 20/6 · T-7]" in reminders[0]


async def test_a_reminder_numbers_its_buttons_and_a_number_answers_them(db, zalo, lan_wrote_today, clock):
    await reminder_engine(zalo, clock).run_once()
    reminder = zalo.texts("lan")[-1]
    first = next(line for line in reminder.splitlines() if line.startswith("1. "))
    assert first.endswith(" II.1")  # "1. Cập nhật II.1": the reminder's first task button
    (answer,) = await zalo.say("lan", "1")
    assert answer.startswith("Nhiệm vụ II.1")


async def test_a_rate_limited_reminder_goes_out_once_after_the_wait(db, zalo, lan_wrote_today, clock):
    method = "/v3.0/oa/message/cs" if zalo.mode == "official_account" else "sendMessage"
    zalo.api.faults.add(method, Fault("rate_limit", retry_after=30))
    engine = reminder_engine(zalo, clock)
    before = len(zalo.texts("lan"))
    await engine.run_once()
    assert zalo.texts("lan")[before:] == []

    clock.advance(minutes=2)
    await engine.run_once()
    assert len(zalo.texts("lan")[before:]) == 1
    assert await reminder_statuses(db) == ["sent"]


async def test_a_reminder_survives_a_zalo_outage(db, zalo, lan_wrote_today, clock):
    method = "/v3.0/oa/message/cs" if zalo.mode == "official_account" else "sendMessage"
    zalo.api.faults.add(method, Fault("server_error", status=502))
    engine = reminder_engine(zalo, clock)
    before = len(zalo.texts("lan"))
    await engine.run_once()
    clock.advance(minutes=5)
    await engine.run_once()
    assert len(zalo.texts("lan")[before:]) == 1


async def test_a_reminder_whose_answer_was_lost_is_sent_again_not_lost(db, zalo, lan_wrote_today, clock):
    method = "/v3.0/oa/message/cs" if zalo.mode == "official_account" else "sendMessage"
    zalo.api.faults.add(method, Fault("timeout", deliver=True))
    engine = reminder_engine(zalo, clock)
    before = len(zalo.texts("lan"))
    await engine.run_once()
    clock.advance(minutes=5)
    await engine.run_once()
    # At least once: the repeat carries the same reference, so Lan sees it is the same reminder.
    sent = zalo.texts("lan")[before:]
    assert len(sent) == 2
    assert sent[0] == sent[1]


@pytest.mark.parametrize("zalo", ["polling", "webhook"], indirect=True)
async def test_a_focal_point_who_blocked_the_bot_is_named_in_the_coordinators_digest(
    db, zalo, lan, chi, clock
):
    await zalo.say(chi, "/trogiup")  # a Zalo bot may only write to people who wrote to it
    zalo.api.block("lan")
    clock.set(FIRST_REMINDER)
    engine = reminder_engine(zalo, clock)
    await engine.run_once()
    async with db.snapshot() as session:
        reachable = await session.scalar(select(Member.reachable).where(Member.name == "Lan"))
    assert reachable is False
    assert await reminder_statuses(db) == ["unreachable"]

    clock.set(hanoi(2020, 6, 22))  # the first working day after the deadline: the digest
    await engine.run_once()
    digest = zalo.texts("chi")[-1]
    assert "Lan" in digest and "Sở Du lịch" in digest


@pytest.mark.parametrize("zalo", ["official_account"], indirect=True)
async def test_outside_the_reply_window_the_oa_does_not_write_and_the_member_stays_reachable(
    db, zalo, lan, clock
):
    await zalo.say(lan, "/lich")  # 1 June; the reminder is due on 12 June
    clock.set(FIRST_REMINDER)
    before = len(zalo.texts("lan"))
    await reminder_engine(zalo, clock).run_once()
    assert zalo.texts("lan")[before:] == []
    async with db.snapshot() as session:
        assert await session.scalar(select(Member.reachable).where(Member.name == "Lan")) is True
    # No other channel: waiting would only make it late; it ends, and the coordinators' digest names her.
    assert await reminder_statuses(db) == ["unreachable"]


@pytest.mark.parametrize("zalo", ["official_account"], indirect=True)
async def test_outside_the_reply_window_the_reminder_goes_by_the_members_other_zalo_account(
    db, zalo, lan, clock, zalo_bot_api, zalo_client
):
    from bot.transports.zalo.bot_transport import ZaloBotTransport

    await zalo.say(lan, "/lich")
    await zalo_bot_api.user_sends("lan-bot", "xin chào")
    async with db.transaction() as session:
        member = await session.scalar(select(Member).where(Member.name == "Lan"))
        session.add(Identity(member_id=member.id, platform="zalo", external_id="lan-bot", chat_id="lan-bot"))
    clock.set(FIRST_REMINDER)
    bot = ZaloBotTransport(zalo_client, tz=zalo.runner.app.config.tz)
    oa_messages = len(zalo.api.sent)
    await reminder_engine(zalo, clock, zalo.runner.transport, bot).run_once()

    assert len(zalo.api.sent) == oa_messages  # the OA wrote nothing
    assert [m.chat_id for m in zalo_bot_api.sent] == ["lan-bot"]
    assert "[87/KH-UBND · 20/6 · T-7]" in zalo_bot_api.sent[0].text
    assert await reminder_statuses(db) == ["sent"]


async def test_with_zns_a_newcomer_gives_a_number_by_answering_1_and_typing_it(db, zalo, chi):
    zalo.runner.app.config.zalo.zns_template_id = "tpl-nhac-han"
    await zalo.say(chi, "/moi")
    await zalo.say(chi, "1")
    (invite,) = await zalo.say(chi, "Sở Du lịch")
    token = re.search(r"/start (\S+)", invite).group(1)

    said = await zalo.say("lan", f"/start {token}")
    await zalo.say("lan", "1")
    (saved,) = await zalo.say("lan", "0912.345.678")

    question = "\n".join(said)
    assert "thông báo Zalo (ZNS)" in question and "1. ✓ Đồng ý\n2. Bỏ qua" in question
    assert "0912 345 678" in saved
    async with db.snapshot() as session:
        phone = await session.scalar(select(Member.phone).where(Member.name == "Trần Thị Lan"))
    assert phone == "84912345678"


async def test_the_coordinator_pages_through_the_earlier_plans_answering_by_number(db, zalo, chi):
    from tests.factories import make_earlier_plans

    async with db.transaction() as session:
        await make_earlier_plans(session, 25)
    (listing,) = await zalo.say(chi, "/kehoach")
    choices = [line for line in listing.splitlines() if re.match(r"^\d+\. ", line)]
    (earlier,) = await zalo.say(chi, choices[-1].split(".")[0])

    # The plan followed, ten earlier ones, a Close or Reopen choice for each, and the next page last.
    assert len(choices) == 12 and choices[0] == "1. Đóng 87/KH-UBND (2020)"
    assert choices[-1] == "12. Các kế hoạch trước đó"
    assert "Còn 15 kế hoạch trước đó chưa hiện." in listing
    assert earlier.startswith("Các kế hoạch trước đó:")
    assert len([line for line in earlier.splitlines() if line.startswith("• ")]) == 10
