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
from storage.models.evidence import PENDING, STORED, EvidenceFile
from tests.bot.zalo.apps import start_official_account
from tests.factories import make_plan_with_focal

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 300
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
async def official_account(db, clock, zalo_oa_api, tmp_path):
    runner = await start_official_account(db, clock, zalo_oa_api)
    runner.app.config.evidence.dir = tmp_path / "evidence"
    async with db.transaction() as session:
        await make_plan_with_focal(session, "Lan", platform=runner.transport.platform, user_id="z-lan")
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
