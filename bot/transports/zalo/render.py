"""A core Reply as the messages Zalo can carry: plain text within 2,000 characters, photos by URL.

Zalo has no buttons here, so choices become numbered lines the user answers with a number (the core
maps the number back to the button). Zalo bots cannot upload DOCX or XLSX: a file becomes a short-lived
link when this process serves links, else a digest of its first lines.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.messages import Document, Reply
from bot.i18n import _, format_short_day
from bot.render.text import with_numbered_choices
from bot.transports.base import split_text
from bot.transports.zalo.documents import digest
from bot.transports.zalo.files import SharedFiles


@dataclass(frozen=True)
class TextPart:
    text: str
    # (start, length) in UTF-16 units of what to show in bold: the numbers of numbered choices,
    # which are what the person types back. Sent as the Bot API's `text_styles` (not markup).
    bold: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class PhotoPart:
    url: str
    caption: str


@dataclass(frozen=True)
class FilePart:
    """A document the transport itself can upload (the OA API takes PDF and Word files)."""

    document: Document


Part = TextPart | PhotoPart | FilePart


def reply_text(reply: Reply) -> str:
    """The reply's text with its buttons as numbered choices, numbered as the core reads them back."""
    return with_numbered_choices(reply)


def numbered_lines(reply: Reply) -> dict[str, int]:
    """Each numbered choice's line as reply_text writes it, with the length of its number ("12.")."""
    labels = [button.label for row in reply.buttons for button in row]
    return {f"{number}. {label}": len(f"{number}.") for number, label in enumerate(labels, start=1)}


def choice_numbers(chunk: str, lines: dict[str, int]) -> tuple[tuple[int, int], ...]:
    """Where in `chunk` (UTF-16 units, as Zalo counts) the numbers of the choice lines stand."""
    found, offset = [], 0
    for line in chunk.split("\n"):
        if line in lines:
            found.append((offset, lines[line]))
        offset += utf16_length(line) + 1
    return tuple(found)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def chunks(text: str, limit: int) -> list[str]:
    """Split at line boundaries so that each chunk fits `limit` as Zalo counts it (UTF-16 units: an
    emoji counts twice)."""
    result: list[str] = []
    pending = split_text(text, limit)
    while pending:
        chunk = pending.pop(0)
        excess = utf16_length(chunk) - limit
        if excess > 0:
            pending[:0] = split_text(chunk, max(1, len(chunk) - excess))
        elif chunk.strip():
            result.append(chunk)
    return result


def _until(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local:%H:%M} {format_short_day(local.date())}"


async def render_reply(
    reply: Reply,
    *,
    limit: int,
    tz: zoneinfo.ZoneInfo,
    files: SharedFiles | None = None,
    can_upload: Callable[[Document], bool] = lambda document: False,
    digest_limit: int = 1200,
) -> list[Part]:
    """Call inside `use_language(recipient's language)`: the fallback texts are translated."""
    choice_lines = numbered_lines(reply)
    parts: list[Part] = [
        TextPart(chunk, choice_numbers(chunk, choice_lines)) for chunk in chunks(reply_text(reply), limit)
    ]
    for image in reply.images:
        if files:
            link = await files.share(image.filename, image.content, _image_type(image.filename))
            parts.append(PhotoPart(link.url, image.caption))
        else:
            note = _("(A picture cannot be shown on Zalo: {caption})").format(
                caption=image.caption or image.filename
            )
            parts.append(TextPart(note))
    for document in reply.documents:
        if can_upload(document):
            parts.append(FilePart(document))
            continue
        if files:
            link = await files.share(document.filename, document.content, document.mime_type)
            text = _("📄 {filename}: {url}\nThe link works until {until}.").format(
                filename=document.filename, url=link.url, until=_until(link.expires_at, tz)
            )
        else:
            beginning = digest(document.content, document.mime_type, digest_limit)
            if beginning:
                # No link can be offered ([zalo] public_base_url unset): say so, and what is
                # shown instead, so that nobody takes the opening lines for the whole file.
                text = _(
                    "📄 Zalo cannot carry the file {filename}, and no download link is set up here. "
                    "Its text in brief:"
                ).format(filename=document.filename)
                after = _("To get the file itself, ask for it on Telegram or ask a coordinator to send it.")
                text = f"{text}\n{beginning}\n\n{after}"
            else:
                text = _(
                    "📄 Zalo cannot carry the file {filename}. Ask for it on Telegram, or ask a coordinator to send it."
                ).format(filename=document.filename)
        if document.caption:
            text = f"{document.caption}\n{text}"
        parts.extend(TextPart(chunk) for chunk in chunks(text, limit))
    return parts


def _image_type(filename: str) -> str:
    return "image/jpeg" if filename.lower().endswith((".jpg", ".jpeg")) else "image/png"
