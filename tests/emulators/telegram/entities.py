"""Telegram's reading of a message: HTML parse mode into text plus entities, and the entities the
server finds on its own (commands, links, mentions).

Offsets and lengths are in UTF-16 code units, as the Bot API counts them. Error texts follow the
server's ("Unsupported start tag "x" at byte offset N", with byte offsets into the UTF-8 source),
so a test sees the same 400 the bot would see in production.
"""

from __future__ import annotations

import re

ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACE = " \t\r\n"


class EntityParseError(ValueError):
    """The text is not valid for the parse mode; str() is the server's description."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_reference(source: str, start: int) -> tuple[str, int] | None:
    """The character an `&…;` reference at `start` stands for and its length in the source, or None
    when it is not one the server knows (the `&` is then kept as a literal character)."""
    end = source.find(";", start + 1, start + 12)
    if end < 0:
        return None
    body = source[start + 1 : end]
    if body in _NAMED:
        return _NAMED[body], end - start + 1
    if body.startswith("#"):
        digits = body[1:]
        try:
            code = int(digits[1:], 16) if digits[:1] in ("x", "X") else int(digits, 10)
            return chr(code), end - start + 1
        except (ValueError, OverflowError):
            return None
    return None


def _decode_attribute(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&" and (ref := _decode_reference(value, i)):
            out.append(ref[0])
            i += ref[1]
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


class _Open:
    __slots__ = ("attrs", "language", "name", "offset", "position")

    def __init__(self, name: str, attrs: dict[str, str], offset: int, position: int):
        self.name = name
        self.attrs = attrs
        self.offset = offset
        self.position = position
        self.language: str | None = None


def _read_start_tag(source: str, i: int) -> tuple[str, dict[str, str], int]:
    """Parse `<name attr="v" …>` starting at `i`; return the tag name, attributes and the index
    after the closing `>`."""
    n = len(source)
    at = _byte_offset(source, i)
    j = i + 1
    while j < n and source[j] not in _SPACE and source[j] != ">":
        j += 1
    if j >= n:
        raise EntityParseError(f"Unclosed start tag at byte offset {at}")
    name = source[i + 1 : j].lower()
    if name not in ENTITY_TYPES:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {at}')
    attrs: dict[str, str] = {}
    while True:
        while j < n and source[j] in _SPACE:
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {at}")
        if source[j] == ">":
            return name, attrs, j + 1
        k = j
        while k < n and (source[k].isalnum() or source[k] in "-_"):
            k += 1
        attribute = source[j:k].lower()
        if not attribute:
            raise EntityParseError(f'Empty attribute name in the tag "{name}" at byte offset {at}')
        j = k
        while j < n and source[j] in _SPACE:
            j += 1
        if j >= n or source[j] != "=":
            if j < n and (source[j] == ">" or source[j].isalnum()):
                # An attribute without a value, such as <blockquote expandable>.
                attrs[attribute] = ""
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{name}" at byte offset {at}'
            )
        j += 1
        while j < n and source[j] in _SPACE:
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {at}")
        if source[j] in "\"'":
            quote = source[j]
            close = source.find(quote, j + 1)
            if close < 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {at}")
            value = source[j + 1 : close]
            j = close + 1
        else:
            k = j
            while k < n and source[k] not in _SPACE and source[k] != ">":
                k += 1
            value = source[j:k]
            j = k
        attrs[attribute] = _decode_attribute(value)


def _entity_for(tag: _Open, length: int) -> dict | None:
    kind = ENTITY_TYPES[tag.name]
    entity: dict = {"type": kind, "offset": tag.offset, "length": length}
    if tag.name == "a":
        href = tag.attrs.get("href", "")
        if match := re.fullmatch(r"tg://user\?id=(\d+)", href):
            return {
                "type": "text_mention",
                "offset": tag.offset,
                "length": length,
                "user": {"id": int(match[1])},
            }
        if not href:
            return None
        entity["url"] = href
    elif tag.name == "pre" and tag.language:
        entity["language"] = tag.language
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    return entity


def parse_html(source: str) -> tuple[str, list[dict]]:
    """Return the text a user would see and the entities that format it, or raise EntityParseError."""
    out: list[str] = []
    length = 0  # of the output so far, in UTF-16 units
    stack: list[_Open] = []
    entities: list[dict] = []
    i = 0
    n = len(source)
    while i < n:
        char = source[i]
        if char == "&":
            ref = _decode_reference(source, i)
            text, i = (ref[0], i + ref[1]) if ref else ("&", i + 1)
            out.append(text)
            length += utf16_len(text)
        elif char == "<":
            at = _byte_offset(source, i)
            if i + 1 < n and source[i + 1] == "/":
                if not stack:
                    raise EntityParseError(f"Unexpected end tag at byte offset {at}")
                j = i + 2
                while j < n and source[j] not in _SPACE and source[j] != ">":
                    j += 1
                end_name = source[i + 2 : j].lower()
                while j < n and source[j] in _SPACE:
                    j += 1
                if j >= n or source[j] != ">":
                    raise EntityParseError(f"Unclosed end tag at byte offset {at}")
                tag = stack.pop()
                if end_name and end_name != tag.name:
                    raise EntityParseError(
                        f'Unmatched end tag at byte offset {at}, expected "</{tag.name}>", found "</{end_name}>"'
                    )
                i = j + 1
                language = tag.attrs.get("class", "")
                if (
                    tag.name == "code"
                    and stack
                    and stack[-1].name == "pre"
                    and language.startswith("language-")
                ):
                    # <pre><code class="language-x"> is one pre entity with a language.
                    stack[-1].language = language.removeprefix("language-")
                    continue
                if length > tag.offset and (entity := _entity_for(tag, length - tag.offset)):
                    entities.append(entity)
            else:
                name, attrs, after = _read_start_tag(source, i)
                if name == "span" and attrs.get("class") != "tg-spoiler":
                    raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
                if name == "tg-emoji" and not attrs.get("emoji-id"):
                    raise EntityParseError(
                        f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {at}'
                    )
                stack.append(_Open(name, attrs, length, at))
                i = after
        else:
            out.append(char)
            length += utf16_len(char)
            i += 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


_FOUND = re.compile(
    r"(?P<bot_command>(?<![\w/<>])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>]))"
    r"|(?P<url>\bhttps?://[^\s<>\"]+)"
    r"|(?P<email>\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b)"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{5,32}\b)"
    r"|(?P<hashtag>(?<![\w#])#\w+)"
)


def find_entities(text: str) -> list[dict]:
    """The entities the server detects in any text: bot commands, URLs, e-mails, @mentions, #tags."""
    found: list[dict] = []
    for match in _FOUND.finditer(text):
        kind = match.lastgroup
        start, end = match.span()
        if kind == "url":
            # Trailing punctuation ends a sentence, not the link.
            while end > start and text[end - 1] in ".,;:!?)]'":
                end -= 1
        found.append({"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])})
    return found


def merge_entities(explicit: list[dict], found: list[dict]) -> list[dict]:
    """Explicit formatting wins: a detected entity inside code, pre or a text link is dropped."""
    shielding = [e for e in explicit if e["type"] in ("code", "pre", "text_link", "text_mention")]

    def shielded(entity: dict) -> bool:
        start, end = entity["offset"], entity["offset"] + entity["length"]
        return any(start < s["offset"] + s["length"] and s["offset"] < end for s in shielding)

    merged = explicit + [e for e in found if not shielded(e)]
    merged.sort(key=lambda e: (e["offset"], -e["length"]))
    return merged
