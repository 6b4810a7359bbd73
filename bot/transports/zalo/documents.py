"""A short text digest of a DOCX or XLSX, for Zalo users who cannot be given the file itself."""

from __future__ import annotations

import io
import logging
import zipfile

log = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _lines_of_docx(content: bytes) -> list[str]:
    import docx  # python-docx; imported here because only this fallback needs it

    document = docx.Document(io.BytesIO(content))
    # Paragraphs before tables: an official report opens with its letterhead in a table, which says
    # nothing a reader of a short digest needs; the body's headings and counts do.
    lines = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            cells = []
            for cell in row.cells:
                text = " ".join(cell.text.split())
                # Merged cells repeat themselves in python-docx's view of a row.
                if text and (not cells or cells[-1] != text):
                    cells.append(text)
            if cells:
                lines.append(" | ".join(cells))
    return lines


def _lines_of_xlsx(content: bytes) -> list[str]:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        lines = []
        for row in sheet.iter_rows(values_only=True):
            cells = [" ".join(str(value).split()) for value in row if value not in (None, "")]
            if cells:
                lines.append(" | ".join(cells))
        return lines
    finally:
        workbook.close()


def digest(content: bytes, mime_type: str, limit: int) -> str:
    """The document's first lines, within `limit` characters; "" when it cannot be read."""
    try:
        if mime_type == DOCX:
            lines = _lines_of_docx(content)
        elif mime_type == XLSX:
            lines = _lines_of_xlsx(content)
        else:
            return ""
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        log.warning("cannot read %s for a text digest: %s", mime_type, exc)
        return ""
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > limit:
            if not kept:
                kept.append(line[: limit - 1] + "…")
            else:
                kept.append("…")
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)
