"""A picture or a file a follower sends the Official Account as evidence is fetched by the URL in
the event (over HTTP, from the emulator's CDN) into the evidence store, kept with the update, and a
CDN that fails is tried again on the tick. A running OA runner behind its signed webhook; SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.evidence import Fetcher
from storage.models import ProgressUpdate
from storage.models.evidence import FAILED, PENDING, STORED, EvidenceFile
from tests.bot.zalo.apps import start_official_account
from tests.factories import make_plan_with_focal

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 300
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 500
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def language() -> str:
    return "en"


@pytest.fixture
async def official_account(db, clock, zalo_oa_api, tmp_path, language):
    runner = await start_official_account(db, clock, zalo_oa_api)
    runner.app.config.evidence.dir = tmp_path / "evidence"
    async with db.transaction() as session:
        await make_plan_with_focal(
            session, "Lan", platform=runner.transport.platform, user_id="z-lan", language=language
        )
    yield runner
    await runner.stop()


async def _rows(db) -> list[EvidenceFile]:
    async with db.snapshot() as session:
        return list(await session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)))


async def test_a_picture_sent_to_the_oa_is_kept_as_evidence_and_fetched_again_when_the_cdn_fails(
    db, clock, zalo_oa_api, official_account, tmp_path
):
    zalo_oa_api.cdn_failures = 1
    url = zalo_oa_api.host(JPEG, "le-ra-mat.jpg")

    await zalo_oa_api.user_sends(
        "z-lan", "/capnhat 1 hoàn thành Ảnh lễ ra mắt", attachment=zalo_oa_api.image(url)
    )
    (reply,) = await zalo_oa_api.wait_for_messages("z-lan", 1)
    await official_account.queue.drain()

    (row,) = await _rows(db)
    assert "Evidence: a file" in reply.text
    assert (row.state, row.attempts, row.last_error, row.source) == (
        PENDING,
        1,
        "HTTP 503",
        f"{official_account.transport.platform}:{url}",
    )

    clock.advance(dt.timedelta(minutes=1))
    fetcher = Fetcher(official_account.app)
    await fetcher.fetch_due()
    await fetcher.close()

    (row,) = await _rows(db)
    assert (row.state, row.mime_type, row.size) == (STORED, "image/jpeg", len(JPEG))
    assert (tmp_path / "evidence" / row.sha256[:2] / row.sha256).read_bytes() == JPEG


async def test_a_file_sent_to_the_oa_keeps_its_name_and_is_stored_at_once(
    db, zalo_oa_api, official_account, tmp_path
):
    url = zalo_oa_api.host(PDF, "bao-cao.pdf")

    await zalo_oa_api.user_sends(
        "z-lan",
        "/capnhat 1 đang thực hiện 50% Báo cáo quý",
        attachment=zalo_oa_api.file(url, "bao-cao.pdf", len(PDF)),
    )
    (reply,) = await zalo_oa_api.wait_for_messages("z-lan", 1)
    await official_account.queue.drain()

    (row,) = await _rows(db)
    async with db.snapshot() as session:
        update = await session.get(ProgressUpdate, row.update_id)
    assert "Evidence: bao-cao.pdf" in reply.text
    assert (row.state, row.original_name, row.mime_type, row.size) == (
        STORED,
        "bao-cao.pdf",
        "application/pdf",
        len(PDF),
    )
    assert (update.percent, update.note) == (50, "Báo cáo quý")
    assert (tmp_path / "evidence" / row.sha256[:2] / row.sha256).read_bytes() == PDF


async def _update_of(db, row: EvidenceFile) -> ProgressUpdate:
    async with db.snapshot() as session:
        return await session.get(ProgressUpdate, row.update_id)


@pytest.mark.parametrize("language", ["vi"])
async def test_a_picture_found_too_large_only_by_its_download_is_refused_and_its_sender_told(
    db, zalo_oa_api, official_account
):
    official_account.app.config.evidence.max_file_mb = 1
    # Served chunked: the CDN never says how big it is, so only the download finds out.
    url = zalo_oa_api.host(JPEG + b"\x11" * (2 * 1024 * 1024), "le-ra-mat.jpg", chunked=True)

    await zalo_oa_api.user_sends(
        "z-lan", "/capnhat 1 hoàn thành Ảnh lễ ra mắt", attachment=zalo_oa_api.image(url)
    )
    (reply,) = await zalo_oa_api.wait_for_messages("z-lan", 1)
    await official_account.queue.drain()
    await official_account.courier.flush()
    _reply, notice = await zalo_oa_api.wait_for_messages("z-lan", 2)

    (row,) = await _rows(db)
    update = await _update_of(db, row)
    expected = (
        "Tệp bạn gửi kèm cập nhật nhiệm vụ II.1 (Quảng bá du lịch Thủ đô trên kênh quốc tế) không được "
        "lưu: tệp lớn hơn mức 1 MB cho phép. Cập nhật của bạn vẫn được lưu; hãy gửi lại tệp nhỏ hơn, "
        "hoặc đường dẫn tới tệp."
    )
    assert "Minh chứng: một tệp" in reply.text
    assert (row.state, row.last_error) == (FAILED, "larger than 1 MB")
    assert (update.status, update.note) == ("done", "Ảnh lễ ra mắt")
    assert notice.text == expected


async def test_an_executable_sent_to_the_oa_is_refused_and_its_sender_told_once(
    db, clock, zalo_oa_api, official_account
):
    url = zalo_oa_api.host(ELF, "bao-cao.pdf")

    await zalo_oa_api.user_sends(
        "z-lan",
        "/capnhat 1 đang thực hiện 50% Báo cáo quý",
        attachment=zalo_oa_api.file(url, "bao-cao.pdf", len(ELF)),
    )
    await zalo_oa_api.wait_for_messages("z-lan", 1)
    await official_account.queue.drain()
    await official_account.courier.flush()
    # A later pass (another instance's, say) finds nothing more to send.
    clock.advance(dt.timedelta(minutes=5))
    await official_account.courier.flush()

    (row,) = await _rows(db)
    update = await _update_of(db, row)
    expected = [
        "The file «bao-cao.pdf» you sent with your update on task II.1 (Quảng bá du lịch Thủ đô trên kênh "
        "quốc tế) was not kept: it is a program, not a kind of file we keep. Your update is saved; send "
        "the document itself (PDF, picture, Word, Excel), or a link to it."
    ]
    assert (row.state, row.sha256) == (FAILED, None)
    assert (update.percent, update.note) == (50, "Báo cáo quý")
    assert zalo_oa_api.texts_to("z-lan")[1:] == expected
