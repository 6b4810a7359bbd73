"""Evidence sent from the console (`:file PATH` at the evidence step of `/capnhat`) lands in the store beside the SQLite file, and
`nhacviec evidence list|get|verify` show, copy out and check it, as the command line runs them."""

from __future__ import annotations

import asyncio
import hashlib
import io
import zipfile

from bot.app import open_app
from bot.cli import main
from bot.config import Config
from bot.core.service import Core
from bot.transports.console import ConsoleChat, ConsoleTransport
from tests.bot.cli_fixtures import cli_env, english  # noqa: F401  (fixtures)
from tests.factories import make_plan_with_focal

PDF = b"%PDF-1.4\n" + b"bien ban hop " * 100 + b"\n%%EOF\n"


async def report_with_file(db_path, file_path) -> str:
    config = Config()
    config.database.url = f"sqlite+aiosqlite:///{db_path}"
    config.i18n.default_language = "en"
    app = await open_app(config)
    try:
        async with app.db.transaction() as session:
            await make_plan_with_focal(session, "Lan", platform="console", user_id="lan")
        out = io.StringIO()
        chat = ConsoleChat(Core(app), ConsoleTransport(out), "lan")
        # The guided update, the file sent at its evidence step.
        for line in ("/capnhat", "1", "hoàn thành", "Đã họp", f":file {file_path}"):
            await chat.line(line)
        return out.getvalue()
    finally:
        await app.close()


def run(capsys, db_path, config, *args):
    code = main(["--config", config, "--db", f"sqlite+aiosqlite:///{db_path}", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_console_file_is_listed_copied_out_and_verified(capsys, tmp_path, english):
    db_path = tmp_path / "nhacviec.db"
    source = tmp_path / "biên bản họp.pdf"
    source.write_bytes(PDF)
    sha = hashlib.sha256(PDF).hexdigest()

    said = asyncio.run(report_with_file(db_path, source))

    assert "biên bản họp.pdf" in said
    kept = tmp_path / "nhacviec-evidence" / sha[:2] / sha
    assert kept.read_bytes() == PDF

    code, out, _ = run(capsys, db_path, english, "evidence", "list", "--agency", "so du lich")
    assert code == 0
    assert sha[:12] in out and "stored" in out and "application/pdf" in out
    assert "[II.1] Sở Du lịch: biên bản họp.pdf" in out

    code, out, _ = run(capsys, db_path, english, "evidence", "list", "--agency", "Sở Ngoại vụ")
    assert (code, out.strip()) == (0, "No evidence files.")

    copy = tmp_path / "ban-sao.pdf"
    code, out, _ = run(capsys, db_path, english, "evidence", "get", sha[:10], "-o", str(copy))
    assert code == 0 and copy.read_bytes() == PDF

    code, _, err = run(capsys, db_path, english, "evidence", "get", "abc", "-o", str(copy))
    assert code == 1 and "at least 8 characters" in err

    code, out, _ = run(capsys, db_path, english, "evidence", "verify")
    assert code == 0 and "1 of 1 evidence files intact, 0 missing, 0 corrupt" in out

    kept.write_bytes(PDF + b"changed")
    code, out, _ = run(capsys, db_path, english, "evidence", "verify")
    assert code == 1 and f"{sha}  corrupt" in out

    kept.unlink()
    code, out, _ = run(capsys, db_path, english, "evidence", "verify")
    assert code == 1 and f"{sha}  missing" in out


def test_report_format_zip_writes_the_bundle(capsys, tmp_path, english):
    db_path = tmp_path / "nhacviec.db"
    source = tmp_path / "ảnh hiện trường.pdf"
    source.write_bytes(PDF)
    asyncio.run(report_with_file(db_path, source))
    target = tmp_path / "goi.zip"

    code, out, err = run(capsys, db_path, english, "report", "--format", "zip", "-o", str(target))

    assert code == 0, err
    archive = zipfile.ZipFile(target)
    names = archive.namelist()
    assert "Sở Du lịch/II.1 - ảnh hiện trường.pdf" in names
    assert archive.read("Sở Du lịch/II.1 - ảnh hiện trường.pdf") == PDF
    assert sum(name.endswith((".docx", ".xlsx")) for name in names) == 2


def test_backup_carries_the_evidence_and_restore_brings_it_back(capsys, tmp_path, english):
    db_path = tmp_path / "nhacviec.db"
    source = tmp_path / "bien-ban.pdf"
    source.write_bytes(PDF)
    asyncio.run(report_with_file(db_path, source))
    sha = hashlib.sha256(PDF).hexdigest()
    backups = tmp_path / "backups"
    backups.mkdir()

    code, out, err = run(capsys, db_path, english, "backup", str(backups / "nv.db"))

    assert code == 0, err
    assert "evidence files copied to" in out and "1 new, 0 already there" in out
    assert (backups / "nv.db.evidence" / sha[:2] / sha).read_bytes() == PDF

    # The machine is lost but for the backup: the database and its evidence come back together.
    (tmp_path / "nhacviec-evidence" / sha[:2] / sha).unlink()
    code, out, err = run(capsys, db_path, english, "restore", str(backups / "nv.db"))
    assert code == 0, err
    assert "1 copied, 0 already there" in out
    code, out, _ = run(capsys, db_path, english, "evidence", "verify")
    assert code == 0 and "1 of 1 evidence files intact" in out
