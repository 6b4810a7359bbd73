"""Evidence files sent on Telegram are fetched over real HTTP (getFile, then the file) from the Bot API
emulator into the content-addressed store, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from bot.app import App
from bot.core.messages import Attachment, Incoming
from bot.core.service import Core
from bot.evidence import Fetcher, Store
from bot.transports.replies import reply_from_json
from storage.models.evidence import FAILED, PENDING, STORED, EvidenceFile
from storage.models.people import ProgressUpdate
from storage.models.replies import ParkedReply
from tests.bot.telegram.conftest import telegram_config
from tests.factories import make_plan_with_focal

LAN = 2001
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"x" * 2000 + b"\n%%EOF\n"


@pytest.fixture
async def lan(db):
    async with db.transaction() as session:
        built = await make_plan_with_focal(session, "Lan", platform="telegram", user_id=str(LAN))
    return built


@pytest.fixture
def app(telegram, db, clock, tmp_path):
    config = telegram_config(telegram)
    config.evidence.dir = tmp_path / "evidence"
    return App(config=config, db=db, clock=clock)


async def send_file(telegram, core: Core, filename: str, content: bytes, caption: str) -> list[str]:
    """Lan sends a document on Telegram with an update as its caption; the bot's reply texts."""
    user = telegram.user(LAN, "Lan", language_code="en")
    update = await telegram.send_document(user, filename, content, caption=caption)
    document = update["message"]["document"]
    incoming = Incoming(
        platform="telegram",
        chat_id=str(LAN),
        user_id=str(LAN),
        user_name="Lan",
        text=caption,
        message_id=str(update["message"]["message_id"]),
        update_key=str(update["update_id"]),
        # As bot.transports.telegram.updates reads a document, its declared size included.
        attachment=Attachment(
            document["file_id"],
            document.get("file_name"),
            document.get("mime_type"),
            document.get("file_size"),
        ),
    )
    return [reply.text for reply in await core.handle(incoming)]


async def files(db) -> list[EvidenceFile]:
    async with db.snapshot() as session:
        return list(await session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)))


def stored_paths(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp")


async def test_a_document_is_fetched_after_the_update_and_kept_by_its_hash(telegram, app, db, lan, tmp_path):
    hostile = "../../../etc/passwd\\..\\báo cáo quý 2.pdf"
    replies = await send_file(telegram, Core(app), hostile, PDF, "/capnhat 1 hoàn thành Đã lắp biển")

    assert "báo cáo quý 2.pdf" in replies[0]
    assert "telegram:" not in replies[0]
    (row,) = await files(db)
    sha = hashlib.sha256(PDF).hexdigest()
    assert (row.state, row.sha256, row.size, row.mime_type) == (STORED, sha, len(PDF), "application/pdf")
    assert row.original_name == hostile  # for display only
    assert stored_paths(tmp_path / "evidence") == [tmp_path / "evidence" / sha[:2] / sha]
    assert (tmp_path / "evidence" / sha[:2] / sha).read_bytes() == PDF
    assert (tmp_path / "evidence" / sha[:2] / sha).stat().st_mode & 0o111 == 0
    assert not (tmp_path / "etc").exists()
    assert [c.method for c in telegram.calls if c.method == "getFile"] == ["getFile"]


async def test_a_file_over_the_size_cap_is_not_kept_but_the_update_is(telegram, app, db, lan, tmp_path):
    app.config.evidence.max_file_mb = 0.001  # about 1 KB

    replies = await send_file(telegram, Core(app), "lon.pdf", PDF, "/capnhat 1 hoàn thành Đã xong")

    lines = replies[0].splitlines()
    assert lines[0] == "Saved: task II.1 — done."
    assert "Note: Đã xong" in lines
    # Telegram declared the size: the person is told at once that the file was not kept.
    assert not any(line.startswith("Evidence:") for line in lines)
    assert lines[-1] == (
        "The file lon.pdf is larger than the 0.001 MB allowed and was not kept: send a smaller file or a "
        "link to it."
    )
    assert await files(db) == []
    assert stored_paths(tmp_path / "evidence") == []
    async with db.snapshot() as session:
        (update,) = await session.scalars(select(ProgressUpdate))
    assert (update.status, update.note, update.evidence) == ("done", "Đã xong", None)


async def test_a_file_larger_than_telegram_serves_bots_is_not_kept_whatever_the_configured_limit(
    telegram, app, db, lan, tmp_path
):
    """The Bot API lets a bot download 20 MB at most: with a higher configured limit, a declared size
    over 20 MB is refused at once, and a file Telegram then refuses ("file is too big") is reported
    to its sender as too large, not as a download to try again."""
    app.config.evidence.max_file_mb = 50
    telegram.bot_download_limit = 1000  # as if this 2 KB file were over 20 MB
    core = Core(app)

    replies = await send_file(telegram, core, "lon.pdf", PDF, "/capnhat 1 hoàn thành Đã xong")

    assert "Evidence: lon.pdf" in replies[0]
    (row,) = await files(db)
    assert (row.state, row.last_error) == (FAILED, "larger than 20 MB")
    assert stored_paths(tmp_path / "evidence") == []
    async with db.snapshot() as session:
        (parked,) = await session.scalars(select(ParkedReply))
        (update,) = await session.scalars(select(ProgressUpdate))
    assert reply_from_json(parked.payload).text == (
        "The file «lon.pdf» you sent with your update on task II.1 (Quảng bá du lịch Thủ đô trên kênh quốc "
        "tế) was not kept: it is larger than the 20 MB allowed. Your update is saved; send the file again "
        "smaller, or a link to it."
    )
    assert (update.status, update.note) == ("done", "Đã xong")

    # A size declared over 20 MB is told at once, as a size over the configured limit is.
    declared = Incoming(
        platform="telegram",
        chat_id=str(LAN),
        user_id=str(LAN),
        user_name="Lan",
        text="/capnhat 2 hoàn thành Lớn",
        message_id="9001",
        update_key="9001",
        attachment=Attachment("big-file-id", "lon2.pdf", "application/pdf", 21 * 1024 * 1024),
    )
    (reply,) = await core.handle(declared)
    assert reply.text.splitlines()[-1] == (
        "The file lon2.pdf is larger than the 20 MB allowed and was not kept: send a smaller file or a "
        "link to it."
    )


async def test_an_agency_over_its_allowance_keeps_no_more_files(telegram, app, db, lan, tmp_path):
    app.config.evidence.max_agency_mb = 3000 / (1024 * 1024)  # room for one 2 KB file, not two
    core = Core(app)

    await send_file(telegram, core, "mot.pdf", PDF, "/capnhat 1 hoàn thành Một")
    await send_file(telegram, core, "hai.pdf", PDF + b"2", "/capnhat 2 hoàn thành Hai")

    first, second = await files(db)
    assert first.state == STORED
    assert second.state == FAILED and "allowance" in second.last_error


async def test_a_failed_download_is_tried_again_on_the_tick_and_the_update_stays(
    telegram, app, db, lan, clock, tmp_path
):
    telegram.faults.next(1, "server_error", methods=["getFile"])

    await send_file(telegram, Core(app), "bien-ban.pdf", PDF, "/capnhat 1 hoàn thành Đã họp")

    (row,) = await files(db)
    assert (row.state, row.attempts) == (PENDING, 1)
    assert "500" in row.last_error
    # Not yet due: the tick leaves it.
    assert (await Fetcher(app).fetch_due())[STORED] == 0
    clock.advance(dt.timedelta(minutes=2))
    fetcher = Fetcher(app)
    assert (await fetcher.fetch_due())[STORED] == 1
    await fetcher.close()
    (row,) = await files(db)
    assert (row.state, row.attempts, row.last_error) == (STORED, 2, None)
    assert Store(tmp_path / "evidence").verify(row.sha256) == "ok"


async def test_an_executable_is_refused_whatever_its_name(telegram, app, db, lan, tmp_path):
    elf = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 500

    await send_file(telegram, Core(app), "anh-chup.jpg", elf, "/capnhat 1 hoàn thành Ảnh")

    (row,) = await files(db)
    assert row.state == FAILED and "executable" in row.last_error
    assert stored_paths(tmp_path / "evidence") == []


async def test_a_link_is_kept_as_a_link(telegram, app, db, lan):
    user = telegram.user(LAN, "Lan", language_code="en")
    incoming = Incoming(
        platform="telegram", chat_id=str(LAN), user_id=str(LAN), user_name=user.first_name,
        text="/capnhat 1 hoàn thành https://dulich.gov.vn/bao-cao",
    )  # fmt: skip

    (reply,) = await Core(app).handle(incoming)

    assert "https://dulich.gov.vn/bao-cao" in reply.text
    assert await files(db) == []
