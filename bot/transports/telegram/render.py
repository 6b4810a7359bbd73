"""A core Reply as Telegram messages: HTML parse mode, inline keyboards, documents and photos.

The core's text is plain and much of it is typed by users (notes, names, agency names), so every
character that HTML parse mode would read as markup is escaped. Telegram limits a message to 4,096
characters and a caption to 1,024; both are counted here in UTF-16 units, as the Bot API does,
so an emoji-laden note cannot push a chunk over the edge.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.messages import Button, Document, Image, Reply
from bot.transports.base import split_text

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
# Marks callback data that stands for a longer value kept in this process (see CallbackData).
_ALIAS_PREFIX = "~"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Plain text → HTML parse mode text that shows exactly the same characters."""
    return html.escape(text, quote=False)


def split_message(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split at line boundaries so that each chunk fits `limit` UTF-16 units."""
    budget = limit
    while True:
        chunks = split_text(text, budget)
        if all(utf16_len(chunk) <= limit for chunk in chunks):
            return chunks
        # Characters outside the BMP count twice; shrink until every chunk fits.
        budget = max(1, budget * 3 // 4)


class CallbackData:
    """Button data → callback_data within Telegram's 64 bytes, and back.

    The core's button data are short server-side keys, passed through unchanged. Anything longer
    is kept here under a short random alias so that the button still works; an alias forgotten
    (process restart, or more than `capacity` newer ones) comes back as itself, and the core then
    answers as for any unknown button.
    """

    def __init__(self, capacity: int = 10_000):
        self._capacity = capacity
        self._aliases: OrderedDict[str, str] = OrderedDict()

    def encode(self, data: str) -> str:
        if len(data.encode("utf-8")) <= MAX_CALLBACK_DATA and not data.startswith(_ALIAS_PREFIX):
            return data
        alias = _ALIAS_PREFIX + secrets.token_urlsafe(16)
        self._aliases[alias] = data
        while len(self._aliases) > self._capacity:
            self._aliases.popitem(last=False)
        log.warning("button data of %d bytes kept server-side under an alias", len(data.encode("utf-8")))
        return alias

    def decode(self, callback_data: str) -> str:
        return self._aliases.get(callback_data, callback_data)


@dataclass(frozen=True)
class TextMessage:
    html: str
    keyboard: InlineKeyboardMarkup | None = None


@dataclass(frozen=True)
class DocumentMessage:
    document: Document
    caption_html: str = ""
    keyboard: InlineKeyboardMarkup | None = None


@dataclass(frozen=True)
class PhotoMessage:
    image: Image
    caption_html: str = ""
    keyboard: InlineKeyboardMarkup | None = None


Message = TextMessage | DocumentMessage | PhotoMessage


@dataclass
class RenderedReply:
    messages: list[Message] = field(default_factory=list)


def keyboard(rows: list[list[Button]], callbacks: CallbackData) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=callbacks.encode(b.data)) for b in row]
            for row in rows
            if row
        ]
    )


def _caption(text: str) -> tuple[str, str]:
    """(caption, overflow): a caption that fits, and the text to send as messages before the file."""
    if utf16_len(text) <= MAX_CAPTION:
        return text, ""
    return "", text


def render(reply: Reply, callbacks: CallbackData) -> RenderedReply:
    """Text chunks first, then documents, then images; the buttons go under the last message."""
    messages: list[Message] = []
    if reply.text.strip():
        messages.extend(TextMessage(escape(chunk)) for chunk in split_message(reply.text) if chunk.strip())
    for document in reply.documents:
        caption, overflow = _caption(document.caption)
        if overflow.strip():
            messages.extend(TextMessage(escape(chunk)) for chunk in split_message(overflow))
        messages.append(DocumentMessage(document, escape(caption)))
    for image in reply.images:
        caption, overflow = _caption(image.caption)
        if overflow.strip():
            messages.extend(TextMessage(escape(chunk)) for chunk in split_message(overflow))
        messages.append(PhotoMessage(image, escape(caption)))
    markup = keyboard(reply.buttons, callbacks)
    if markup is not None:
        if not messages:
            # Telegram cannot show buttons without a message; this one keeps them reachable.
            messages.append(TextMessage("…"))
        messages[-1] = replace(messages[-1], keyboard=markup)
    return RenderedReply(messages)
