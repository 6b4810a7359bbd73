"""A picture sent on the Zalo Bot Platform is fetched by its URL (over HTTP, from the emulator's
CDN) into the evidence store; a CDN that fails is tried again on the tick. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.app import App
from bot.config import Config
from bot.core.service import Core
from bot.evidence import Fetcher
from bot.transports.zalo.updates import incoming_from_update
from storage.models.evidence import PENDING, STORED, EvidenceFile
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
