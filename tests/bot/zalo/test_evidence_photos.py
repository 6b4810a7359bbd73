"""A picture sent on the Zalo Bot Platform is fetched by its URL (over HTTP, from the emulator's
CDN) into the evidence store; a CDN that fails is tried again on the tick. A picture that is not kept
(found too large by the download, or the CDN failing to the last attempt) is told to its sender, on
the chat it came from. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from bot.app import App
from bot.config import Config
from bot.core.service import Core
from bot.evidence import Fetcher
from bot.transports.replies import ReplyCourier
from bot.transports.zalo.runner import bot_transport
from bot.transports.zalo.updates import incoming_from_update
from storage.models import ProgressUpdate
from storage.models.evidence import FAILED, PENDING, STORED, EvidenceFile
from tests.bot.delivery import count_parked
from tests.bot.zalo.apps import make_app
from tests.emulators.faults import Fault
from tests.factories import make_plan_with_focal

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 300


async def test_a_zalo_photo_is_fetched_by_its_url_and_retried_when_the_cdn_fails(
    db, clock, zalo_bot_api, tmp_path
):
    async with db.transaction() as session:
        await make_plan_with_focal(session, "Lan", platform="zalo", user_id="z-lan")
    config = Config()
    config.evidence.dir = tmp_path / "evidence"
    app = App(config=config, db=db, clock=clock)
    core = Core(app)
    zalo_bot_api.photo_failures = 1
    url = zalo_bot_api.host_photo(JPEG)

    update = await zalo_bot_api.user_sends("z-lan", "/capnhat 1 hoàn thành Ảnh lễ ra mắt", photo_url=url)
    (reply,) = await core.handle(incoming_from_update(update))

    assert "Evidence: a file" in reply.text
    async with db.snapshot() as session:
        (row,) = await session.scalars(select(EvidenceFile))
    assert (row.state, row.attempts, row.last_error) == (PENDING, 1, "HTTP 503")

    clock.advance(dt.timedelta(minutes=1))
    fetcher = Fetcher(app)
    await fetcher.fetch_due()
    await fetcher.close()

    async with db.snapshot() as session:
        (row,) = await session.scalars(select(EvidenceFile))
    assert (row.state, row.mime_type, row.size) == (STORED, "image/jpeg", len(JPEG))
    assert (tmp_path / "evidence" / row.sha256[:2] / row.sha256).read_bytes() == JPEG


@pytest.fixture
async def sending(db, clock, zalo_bot_api, tmp_path):
    """An app that can write to the emulator's chats, with the courier that sends queued notices."""
    async with db.transaction() as session:
        await make_plan_with_focal(session, "Lan", platform="zalo", user_id="z-lan")
    app = make_app(db, clock, {"ZALO_BOT_TOKEN": zalo_bot_api.token}, api_base_url=zalo_bot_api.base_url)
    app.config.evidence.dir = tmp_path / "evidence"
    transport = bot_transport(app)
    yield app, ReplyCourier(app, {"zalo": transport})
    await transport.client.aclose()


async def _kept(db) -> tuple[EvidenceFile, ProgressUpdate]:
    async with db.snapshot() as session:
        (row,) = await session.scalars(select(EvidenceFile))
        return row, await session.get(ProgressUpdate, row.update_id)


async def test_a_zalo_photo_found_too_large_only_by_its_download_is_refused_and_its_sender_told(
    db, zalo_bot_api, sending
):
    app, courier = sending
    app.config.evidence.max_file_mb = 1
    # Served chunked: the CDN never says how big it is, so only the download finds out.
    url = zalo_bot_api.host_photo(JPEG + b"\x11" * (2 * 1024 * 1024), chunked=True)

    update = await zalo_bot_api.user_sends("z-lan", "/capnhat 1 hoàn thành Ảnh lễ ra mắt", photo_url=url)
    await Core(app).handle(incoming_from_update(update))
    await courier.flush()

    row, stored = await _kept(db)
    expected = [
        "The file you sent with your update on task II.1 (Quảng bá du lịch Thủ đô trên kênh quốc tế) was "
        "not kept: it is larger than the 1 MB allowed. Your update is saved; send the file again smaller, "
        "or a link to it."
    ]
    assert (row.state, row.last_error) == (FAILED, "larger than 1 MB")
    assert (stored.status, stored.note) == ("done", "Ảnh lễ ra mắt")
    assert zalo_bot_api.texts_to("z-lan") == expected


async def test_a_zalo_photo_the_cdn_keeps_refusing_is_told_to_its_sender_only_after_the_last_attempt(
    db, clock, zalo_bot_api, sending
):
    app, courier = sending
    app.config.evidence.max_attempts = 2
    zalo_bot_api.photo_failures = 5
    url = zalo_bot_api.host_photo(JPEG)

    update = await zalo_bot_api.user_sends("z-lan", "/capnhat 1 hoàn thành Ảnh lễ ra mắt", photo_url=url)
    await Core(app).handle(incoming_from_update(update))
    await courier.flush()
    told_after_the_first_attempt = zalo_bot_api.texts_to("z-lan")

    clock.advance(dt.timedelta(hours=1))
    fetcher = Fetcher(app)
    await fetcher.fetch_due()
    await fetcher.close()
    await courier.flush()

    row, stored = await _kept(db)
    expected = [
        "The file you sent with your update on task II.1 (Quảng bá du lịch Thủ đô trên kênh quốc tế) was "
        "not kept: it could not be downloaded. Your update is saved; send the file again, or a link to it."
    ]
    assert told_after_the_first_attempt == []
    assert (row.state, row.attempts, row.last_error) == (FAILED, 2, "HTTP 503")
    assert stored.note == "Ảnh lễ ra mắt"
    assert zalo_bot_api.texts_to("z-lan") == expected


async def test_a_not_kept_notice_zalo_refuses_waits_in_the_database_and_goes_out_once_when_it_recovers(
    db, clock, zalo_bot_api, sending
):
    app, courier = sending
    url = zalo_bot_api.host_photo(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 500)
    zalo_bot_api.faults.add("sendMessage", Fault("server_error"), times=1)

    update = await zalo_bot_api.user_sends("z-lan", "/capnhat 1 hoàn thành Ảnh lễ ra mắt", photo_url=url)
    await Core(app).handle(incoming_from_update(update))
    delivered_while_refused = await courier.flush()
    clock.advance(dt.timedelta(minutes=1))
    delivered_once_recovered = await courier.flush()
    clock.advance(dt.timedelta(minutes=10))
    delivered_later = await courier.flush()

    expected = [
        "The file you sent with your update on task II.1 (Quảng bá du lịch Thủ đô trên kênh quốc tế) was "
        "not kept: it is a program, not a kind of file we keep. Your update is saved; send the document "
        "itself (PDF, picture, Word, Excel), or a link to it."
    ]
    assert (delivered_while_refused, delivered_once_recovered, delivered_later) == (0, 1, 0)
    assert zalo_bot_api.texts_to("z-lan") == expected
    assert await count_parked(db) == 0


async def test_two_fetches_of_one_refused_photo_tell_its_sender_once(db, clock, zalo_bot_api, sending):
    app, courier = sending
    zalo_bot_api.photo_failures = 1
    url = zalo_bot_api.host_photo(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 500)
    update = await zalo_bot_api.user_sends("z-lan", "/capnhat 1 hoàn thành Ảnh lễ ra mắt", photo_url=url)
    await Core(app).handle(incoming_from_update(update))
    row, _stored = await _kept(db)

    # The tick and `nhacviec evidence fetch`, say, both take the pending file at once.
    clock.advance(dt.timedelta(hours=1))
    first, second = Fetcher(app), Fetcher(app)
    await asyncio.gather(first.fetch(row.id), second.fetch(row.id))
    await first.close()
    await second.close()
    await courier.flush()

    row, _stored = await _kept(db)
    assert (row.state, row.attempts) == (FAILED, 2)
    assert len(zalo_bot_api.texts_to("z-lan")) == 1
