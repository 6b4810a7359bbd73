"""What a sender is told when the file of their update is not kept, in their language, and where."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.app import App
from bot.config import Config
from bot.evidence_notices import NOT_A_KEPT_KIND, OVER_ALLOWANCE, TOO_LARGE, not_kept_text, tell_not_kept
from bot.i18n import use_language
from bot.transports.replies import is_notice, reply_from_json
from storage.models.evidence import PENDING, EvidenceFile
from storage.models.people import Identity
from storage.models.replies import ParkedReply
from tests.factories import make_member, make_plan, make_update

TASK = "Quảng bá du lịch Thủ đô trên kênh quốc tế"


def test_a_file_found_too_large_is_told_in_vietnamese_with_its_name_task_and_limit():
    with use_language("vi"):
        text = not_kept_text(
            file_name="bao-cao.pdf", task_code="II.1", task_content=TASK, why=TOO_LARGE, limit_mb=20
        )

    expected = (
        "Tệp «bao-cao.pdf» bạn gửi kèm cập nhật nhiệm vụ II.1 (Quảng bá du lịch Thủ đô trên kênh quốc tế) "
        "không được lưu: tệp lớn hơn mức 20 MB cho phép. Cập nhật của bạn vẫn được lưu; hãy gửi lại tệp "
        "nhỏ hơn, hoặc đường dẫn tới tệp."
    )
    assert text == expected


def test_a_file_found_too_large_is_told_in_english():
    with use_language("en"):
        text = not_kept_text(file_name=None, task_code="II.1", task_content=TASK, why=TOO_LARGE, limit_mb=20)

    expected = (
        "The file you sent with your update on task II.1 (Quảng bá du lịch Thủ đô trên kênh quốc tế) was "
        "not kept: it is larger than the 20 MB allowed. Your update is saved; send the file again smaller, "
        "or a link to it."
    )
    assert text == expected


def test_an_executable_is_told_in_vietnamese_as_a_kind_of_file_not_kept():
    with use_language("vi"):
        text = not_kept_text(file_name="x.pdf", task_code="II.1", task_content=TASK, why=NOT_A_KEPT_KIND)

    expected = (
        "Tệp «x.pdf» bạn gửi kèm cập nhật nhiệm vụ II.1 (Quảng bá du lịch Thủ đô trên kênh quốc tế) không "
        "được lưu: đó là một chương trình, không phải loại tệp được lưu giữ. Cập nhật của bạn vẫn được lưu; "
        "hãy gửi chính văn bản (PDF, ảnh, Word, Excel), hoặc đường dẫn tới tệp."
    )
    assert text == expected


def test_an_agency_out_of_room_is_told_to_send_a_link():
    with use_language("en"):
        text = not_kept_text(file_name=None, task_code="I.2", task_content="Họp", why=OVER_ALLOWANCE)

    expected = (
        "The file you sent with your update on task I.2 (Họp) was not kept: your agency has used all the "
        "room allowed for evidence files. Your update is saved; send a link to the file instead."
    )
    assert text == expected


def test_a_long_task_is_named_by_its_beginning():
    with use_language("en"):
        text = not_kept_text(file_name=None, task_code="I.2", task_content="Họp " * 40, why=OVER_ALLOWANCE)

    expected = "task I.2 (" + ("Họp " * 20).strip() + "…)"
    assert expected in text


async def test_an_update_that_names_no_chat_is_told_on_the_chat_its_sender_used_last(db, clock):
    async with db.transaction() as session:
        built = await make_plan(session)
        member = await make_member(
            session,
            "Hoa",
            agency=built.agencies["Sở Du lịch"],
            platform="zalo",
            user_id="z-hoa",
            language="en",
        )
        # Her Telegram chat is the one she wrote from last; the Zalo one was never seen since.
        session.add(
            Identity(
                member_id=member.id,
                platform="telegram",
                external_id="t-hoa",
                chat_id="t-hoa",
                last_seen_at=clock.now(),
                created_at=clock.now(),
            )
        )
        update = await make_update(
            session,
            built.tasks["II.1"],
            agency=built.agencies["Sở Du lịch"],
            cycle=dt.date(2020, 6, 20),
            at=clock.now(),
            member=member,
        )
        row = EvidenceFile(
            update_id=update.id,
            agency_id=update.agency_id,
            source="console:/tmp/x.exe",
            original_name="x.exe",
            state=PENDING,
            attempts=0,
            created_at=clock.now(),
        )
        session.add(row)
        await session.flush()
        told = await tell_not_kept(
            session, App(config=Config(), db=db, clock=clock), row, why=NOT_A_KEPT_KIND, limit_mb=None
        )

    async with db.snapshot() as session:
        (parked,) = await session.scalars(select(ParkedReply))
    expected = (
        "The file «x.exe» you sent with your update on task II.1 (Quảng bá du lịch Thủ đô trên kênh quốc "
        "tế) was not kept: it is a program, not a kind of file we keep. Your update is saved; send the "
        "document itself (PDF, picture, Word, Excel), or a link to it."
    )
    assert told is True
    assert (parked.platform, parked.chat_id, parked.language) == ("telegram", "t-hoa", "en")
    assert is_notice(parked.payload)
    assert reply_from_json(parked.payload).text == expected
