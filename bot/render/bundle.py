"""The report bundle (`/xuat zip`, `nhacviec report --format zip`): the DOCX and the XLSX, and the
evidence files in one folder per agency, ready to attach to the official dispatch.

Names in the archive come from what senders typed, so each is made safe: no folders, no "..", no
characters Windows refuses, no control characters, a bounded length, and never the same name twice
in a folder. A file that is not (or no longer) in the store is listed in a text file instead.
"""

from __future__ import annotations

import io
import mimetypes
import re
import unicodedata
import zipfile

from bot.core.messages import Document
from bot.evidence import Store
from bot.i18n import _
from storage.models.evidence import STORED
from storage.summary import Summary

MIME_TYPE = "application/zip"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
MAX_NAME = 120
_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(1, 10)),
    *(f"lpt{i}" for i in range(1, 10)),
}


def safe_name(name: str, fallback: str) -> str:
    """A file or folder name that cannot leave its folder or trouble an unzipper."""
    name = unicodedata.normalize("NFC", name or "")
    # Only the last part of a path-like name: "../../x.pdf" and "C:\\a\\x.pdf" become "x.pdf".
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("_", name).strip().strip(".").strip()
    if not name or name.split(".")[0].lower() in _RESERVED:
        name = fallback + (("." + name) if name else "")
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and len(ext) <= 10 else ""
        name = (stem if dot else name)[: MAX_NAME - len(ext) - 1].rstrip() + ("." + ext if ext else "")
    return name


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 1
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{stem} ({number})" + (f".{ext}" if ext else "")
    taken.add(candidate.casefold())
    return candidate


def render_bundle(summary: Summary, documents: list[Document], store: Store | None, *, stem: str) -> Document:
    buffer = io.BytesIO()
    missing: list[str] = []
    taken: dict[str, set[str]] = {}
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        top = taken.setdefault("", set())
        for document in documents:
            archive.writestr(_unique(safe_name(document.filename, "bao-cao"), top), document.content)
        for task in summary.tasks:
            for ref in task.evidence_files:
                agency = summary.agency(ref.agency_id)
                folder = safe_name(agency.name if agency else "", f"don-vi-{ref.agency_id}")
                folder = folder if folder.casefold() not in top else folder + "_"
                fallback = f"{task.code}-{ref.sha256[:8] if ref.sha256 else ref.id}"
                name = ref.name or fallback + (mimetypes.guess_extension(ref.mime_type or "") or "")
                entry = f"{task.code} - {safe_name(name, fallback)}"
                if ref.state != STORED or store is None or not store.has(ref.sha256):
                    missing.append(f"{folder}/{entry}: {_reason(ref.state, store)}")
                    continue
                entry = _unique(safe_name(entry, fallback), taken.setdefault(folder, set()))
                archive.write(store.path(ref.sha256), f"{folder}/{entry}")
        if missing:
            note = _("Evidence files not in this bundle:") + "\n" + "\n".join(missing) + "\n"
            archive.writestr(_unique(_("missing-evidence.txt"), top), note.encode("utf-8"))
    return Document(filename=f"{stem}.zip", content=buffer.getvalue(), mime_type=MIME_TYPE)


def _reason(state: str, store: Store | None) -> str:
    if state == "pending":
        return _("not downloaded yet")
    if state == "failed":
        return _("could not be kept")
    return _("missing from the evidence folder")
