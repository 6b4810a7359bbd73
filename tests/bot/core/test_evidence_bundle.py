"""`/xuat zip`: the DOCX, the XLSX and the evidence files in one folder per agency, with safe,
distinct names; reports name the files as their senders did. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
from openpyxl import load_workbook

from bot.core.messages import Attachment
from bot.render.bundle import safe_name
from tests.bot.core.chat import ChatUser
from tests.factories import make_member

PDF = b"%PDF-1.4\n" + b"bien ban " * 50 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def store(app, tmp_path):
    app.config.evidence.dir = tmp_path / "evidence"
    return tmp_path / "evidence"


@pytest.fixture
async def tung(db, core, plan) -> ChatUser:
    async with db.transaction() as session:
        await make_member(session, "Tùng", agency=plan.agencies["Sở Ngoại vụ"], user_id="tung", language="en")
    return ChatUser(core, "tung")


def attach(path, name=None) -> Attachment:
    return Attachment(file_id=str(path), filename=name or path.name)


async def test_xuat_zip_bundles_the_report_and_each_agencys_files(
    db, core, plan, focal, tung, coordinator, store, tmp_path
):
    (tmp_path / "a.pdf").write_bytes(PDF)
    (tmp_path / "b.pdf").write_bytes(PDF + b"second")
    (tmp_path / "c.png").write_bytes(PNG)
    hostile = "../../../../etc/cron.d/x<y>|z?.pdf"
    said = await focal.say(
        "/capnhat 1 done Broadcast 12 programmes", attachment=attach(tmp_path / "a.pdf", hostile)
    )
    assert "x_y__z_.pdf" not in said and "etc/cron.d" in said  # shown as sent, stored by hash
    # The same name on another task of the same agency: both kept, distinct in the bundle.
    await focal.say("/capnhat 2 done Signs installed", attachment=attach(tmp_path / "b.pdf", hostile))
    await tung.say("/capnhat 1 done Photos", attachment=attach(tmp_path / "c.png", None))
    # A file that cannot be fetched (gone from where it was): the update stays, the bundle says so.
    await tung.say("/capnhat 2 in progress 50% Draft", attachment=attach(tmp_path / "gone.pdf"))

    replies = await coordinator.send("/xuat zip")

    (sent,) = [d for r in replies for d in r.documents]
    assert sent.filename == "bao-cao-87-KH-UBND-2020-06-20.zip"
    archive = zipfile.ZipFile(io.BytesIO(sent.content))
    names = sorted(archive.namelist())
    assert names == sorted(
        [
            "bao-cao-87-KH-UBND-2020-06-20.docx",
            "bao-cao-87-KH-UBND-2020-06-20.xlsx",
            "Sở Du lịch/II.1 - x_y__z_.pdf",
            "Sở Du lịch/II.2 - x_y__z_.pdf",
            "Sở Ngoại vụ/III.1 - c.png",
            "missing-evidence.txt",
        ]
    )
    assert archive.read("Sở Du lịch/II.1 - x_y__z_.pdf") == PDF
    assert archive.read("Sở Du lịch/II.2 - x_y__z_.pdf") == PDF + b"second"
    assert all(".." not in name and not name.startswith("/") for name in names)
    assert "gone.pdf: not downloaded yet" in archive.read("missing-evidence.txt").decode()
    report = docx.Document(io.BytesIO(archive.read("bao-cao-87-KH-UBND-2020-06-20.docx")))
    text = "\n".join(p.text for p in report.paragraphs)
    assert "../../../../etc/cron.d/x<y>|z?.pdf" in text
    sheet = load_workbook(io.BytesIO(archive.read("bao-cao-87-KH-UBND-2020-06-20.xlsx"))).worksheets[0]
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value]
    assert any("c.png" in cell for cell in cells)


async def test_a_focal_point_cannot_export_a_bundle(db, core, plan, focal, store):
    said = await focal.say("/xuat zip")
    assert not any(r.documents for r in focal.last)
    assert said


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\system32\\cmd.exe", "cmd.exe"),
        ("..", "tep"),
        ("con.pdf", "tep.con.pdf"),
        ("bien\x00ban\n.pdf", "bien_ban_.pdf"),
        ("  .hidden  ", "hidden"),
        ("a" * 300 + ".docx", "a" * 115 + ".docx"),
    ],
)
def test_names_are_made_safe(given, expected):
    assert safe_name(given, "tep") == expected


async def test_history_and_the_agency_view_name_the_file_not_its_platform_id(
    db, core, plan, focal, coordinator, store, tmp_path
):
    (tmp_path / "a.pdf").write_bytes(PDF)
    await focal.say("/capnhat 1 done Broadcast", attachment=attach(tmp_path / "a.pdf", "biên bản.pdf"))

    history = await coordinator.say("/lichsu II.1")
    agency = await coordinator.say("/donvi so du lich")

    for text in (history, agency):
        assert "📎 biên bản.pdf" in text
        assert str(tmp_path) not in text
