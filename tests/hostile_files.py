"""Hostile plan files, as an attacker made them: small on disk, huge or malformed inside.

Each is written as a stream, so that a test builds a file that expands to hundreds of megabytes
without holding them itself.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterable
from pathlib import Path

from tests.conftest import SAMPLE_PLAN
from tests.plan_files import write_docx, write_xlsx

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _replace_part(source: Path, target: Path, part: str, chunks: Iterable[bytes]) -> Path:
    """`source` with `part` rewritten from `chunks`, every other part copied as it is."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in original.infolist():
            if info.filename == part:
                replaced = zipfile.ZipInfo(part)
                replaced.compress_type = zipfile.ZIP_DEFLATED
                with out.open(replaced, "w", force_zip64=True) as stream:
                    for chunk in chunks:
                        stream.write(chunk)
            else:
                out.writestr(info, original.read(info))
    return target


def _document(body_chunks: Iterable[bytes]) -> Iterable[bytes]:
    yield f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{W_NS}"><w:body>'.encode()
    yield from body_chunks
    yield b"</w:body></w:document>"


def docx_expanding_to(tmp_path: Path, megabytes: int) -> Path:
    """A Word file whose text runs to `megabytes` once unpacked (one paragraph over and over)."""
    base = write_docx(SAMPLE_PLAN, tmp_path / "base.docx")
    paragraph = "<w:p><w:r><w:t>Nội dung lặp lại để phình to tệp.</w:t></w:r></w:p>".encode()
    per_megabyte = (1024 * 1024) // len(paragraph) + 1
    chunk = paragraph * per_megabyte
    return _replace_part(
        base, tmp_path / "phinh-to.docx", "word/document.xml", _document([chunk] * megabytes)
    )


def docx_of_empty_paragraphs(tmp_path: Path, count: int) -> Path:
    """A Word file of `count` empty paragraphs: a few bytes each, unpacked."""
    base = write_docx(SAMPLE_PLAN, tmp_path / "base.docx")
    block = 100_000
    chunks = [b"<w:p/>" * block] * (count // block)
    return _replace_part(base, tmp_path / "doan-trong.docx", "word/document.xml", _document(chunks))


def docx_lying_about_its_size(tmp_path: Path, megabytes: int) -> Path:
    """A Word file whose document part declares a few kilobytes and inflates to `megabytes`."""
    path = docx_expanding_to(tmp_path, megabytes)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("word/document.xml")
    # zipfile trusts the central directory's record of the size: rewrite it (and any ZIP64 copy) to
    # 4 KB. The content is the same every run, so the patch lands in the same place every run.
    for width, code in ((8, "<Q"), (4, "<I")):
        for at in _find_all(data, struct.pack(code, info.file_size)):
            data[at : at + width] = struct.pack(code, 4096)
    path.write_bytes(bytes(data))
    return path


def _find_all(data: bytearray, needle: bytes) -> list[int]:
    found, at = [], data.find(needle)
    while at >= 0:
        found.append(at)
        at = data.find(needle, at + 1)
    return found


def xlsx_with_a_dtd(tmp_path: Path) -> Path:
    """The sample workbook with entities declared in its sheet (the "billion laughs" shape)."""
    base = write_xlsx(SAMPLE_PLAN, tmp_path / "base.xlsx")
    with zipfile.ZipFile(base) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    dtd = b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    declaration_end = sheet.index(b"?>") + 2 if sheet.startswith(b"<?xml") else 0
    patched = sheet[:declaration_end] + dtd + sheet[declaration_end:]
    return _replace_part(base, tmp_path / "dtd.xlsx", "xl/worksheets/sheet1.xml", [patched])


def xlsx_declaring_fewer_rows(tmp_path: Path) -> Path:
    """The sample workbook whose sheet says it ends at row 10 while it holds every row."""
    import re

    base = write_xlsx(SAMPLE_PLAN, tmp_path / "base.xlsx")
    with zipfile.ZipFile(base) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    patched = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:F10"/>', sheet)
    assert patched != sheet
    return _replace_part(base, tmp_path / "kich-thuoc-sai.xlsx", "xl/worksheets/sheet1.xml", [patched])


def xlsx_of_rows(tmp_path: Path, count: int) -> Path:
    """A workbook with the appendix header and then `count` task rows, written as a stream."""
    base = write_xlsx(SAMPLE_PLAN, tmp_path / "base.xlsx")
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

    def chunks() -> Iterable[bytes]:
        yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{ns}"><sheetData>'.encode()
        header = "".join(
            f'<c r="{col}1" t="inlineStr"><is><t>{text}</t></is></c>'
            for col, text in zip("ABCD", ["TT", "Nội dung", "Tiến độ", "Cơ quan chủ trì"], strict=True)
        )
        yield f'<row r="1">{header}</row>'.encode()
        batch = []
        for n in range(2, count + 2):
            batch.append(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>')
            if len(batch) == 10_000:
                yield "".join(batch).encode()
                batch = []
        yield "".join(batch).encode()
        yield b"</sheetData></worksheet>"

    return _replace_part(base, tmp_path / "nhieu-dong.xlsx", "xl/worksheets/sheet1.xml", chunks())


def csv_with_continuation_rows(count: int) -> bytes:
    """One task continued over `count` rows (a page break after every few words)."""
    lines = [
        "Số: 45/KH-UBND",
        "KẾ HOẠCH",
        "Chuyển đổi số năm 2021",
        "TT,Nội dung,Tiến độ,Cơ quan chủ trì",
        "I,SỞ TÀI CHÍNH,,",
        "1,Việc đầu tiên,Năm 2021,Sở Tài chính",
    ]
    lines += [",thêm nội dung,," for _ in range(count)]
    return "\n".join(lines).encode()
