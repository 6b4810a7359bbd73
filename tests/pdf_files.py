"""PDF files made in the tests: hostile or broken ones, written by hand, small on disk.

Printed plans come from LibreOffice (tests/plan_files.py); these are the files no office suite
would write: a scan with no text layer, a stream that inflates to hundreds of megabytes, more pages
than any plan has.
"""

from __future__ import annotations

import io
import zlib


def hand_made_pdf(contents: list[bytes], *, compressed: list[bool] | None = None) -> bytes:
    """A PDF of one page per content stream, Helvetica as /F1; streams marked compressed are given
    already deflated and declared /FlateDecode."""
    compressed = compressed or [False] * len(contents)
    count = len(contents)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{4 + 2 * i} 0 R".encode() for i in range(count))
        + f"] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for index, (content, deflated) in enumerate(zip(contents, compressed, strict=True)):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {5 + 2 * index} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        flate = b" /Filter /FlateDecode" if deflated else b""
        objects.append(
            b"<< /Length " + str(len(content)).encode() + flate + b" >>\nstream\n" + content + b"\nendstream"
        )
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def text_page(text: str) -> bytes:
    return f"BT /F1 12 Tf 72 760 Td ({text}) Tj ET".encode("latin-1")


def many_pages(count: int) -> bytes:
    return hand_made_pdf([text_page(f"Trang {n}") for n in range(1, count + 1)])


def inflating_pdf(megabytes: int) -> bytes:
    """One page whose content stream inflates to `megabytes` of blanks: a few hundred KB on disk."""
    deflate = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    data = b"".join(deflate.compress(chunk) for _ in range(megabytes)) + deflate.flush()
    return hand_made_pdf([data], compressed=[True])


def scanned_pdf() -> bytes:
    """A page as a scanner makes it: an image of text, no text layer."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (850, 1100), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(["UY BAN NHAN DAN TINH LAM GIANG", "So: 45/KH-UBND", "KE HOACH"]):
        draw.text((80, 80 + 40 * row), line, fill=0)
    draw.rectangle((60, 300, 790, 900), outline=0, width=2)
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=100)
    return out.getvalue()


def encrypted(pdf: bytes, *, user_password: str, owner_password: str = "chu-so-huu") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
