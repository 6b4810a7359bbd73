"""Where a person's secret sits in chat text: the invite token after /start, the link code after
/lienket, in every form the core accepts them ("/start\\n<token>", "bắt đầu <token>",
"lien ket abcd efgh jkmn", "/lienket@bot ABCD-EFGH-JKMN").

The log redactor (bot.ops.logging) asks `secret_spans` rather than keeping patterns of its own, so
whatever the router and the code parser learn to accept is redacted too. Log lines hold chat text
inside other text (a library's repr of an update, a JSON body with escapes), so the scan tries every
word that could start one of these commands and reads the code the way the handler would.
"""

from __future__ import annotations

import functools
import re

from bot.core import router
from bot.core.parsing import invite_token
from storage import linking, people
from storage.text import fold

START, LINK = "start", "lienket"

# Where chat text ends inside a log line: quotes and brackets of a repr or a JSON body.
_LOG_DELIMITER = re.compile(r"""['"\\,()\[\]{}<>]""")
_WORD = re.compile(r"""[^\s'"\\,()\[\]{}<>=:]+""")
# Escapes a JSON body or a repr puts in chat text: "\n", "\u1eaf".
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|[nrt])")
# At most this much of a line after a command word is read: a command and its code are short.
_WINDOW = 200


def _compact(word: str) -> str:
    return fold(word).replace(" ", "")


@functools.cache
def _command_keys() -> tuple[str, ...]:
    return tuple(
        _compact(word)
        for name in (START, LINK)
        for word in (router.command_named(name).name, *router.command_named(name).aliases)
    )


@functools.cache
def _first_letters() -> frozenset[str]:
    return frozenset(key[0] for key in _command_keys())


def _could_start_command(word: str) -> bool:
    # Most words of a log line fail here, before the cost of folding them.
    if word.lstrip("/")[:1].lower() not in _first_letters():
        return False
    compact = _compact(router.BOT_SUFFIX.sub("", word.lstrip("/")))
    return bool(compact) and any(key.startswith(compact) for key in _command_keys())


def _unescape(match: re.Match) -> str:
    escape = match.group(1)
    if escape[0] == "u":
        char = chr(int(escape[1:], 16))
        # Half of a surrogate pair stays as it was: it is no letter of a code.
        return match.group(0) if 0xD800 <= ord(char) <= 0xDFFF else char
    return " "


def readable_form(line: str) -> str:
    """`line` with the escapes a JSON body or repr adds decoded, as the chat text was typed."""
    return _ESCAPE.sub(_unescape, line) if "\\" in line else line


def _code_span(args: str) -> tuple[int, int] | None:
    """Where the link code is in what follows /lienket: the shortest run of words the parser reads
    as a code (the log line may go on after the message)."""
    words = list(_WORD.finditer(args))
    for count in range(1, min(len(words), linking.LENGTH) + 1):
        start, end = words[0].start(), words[count - 1].end()
        if linking.normalize(args[start:end]) is not None:
            return start, end
    return None


def secret_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) of every invite token and link code the core would read in `line`."""
    spans: list[tuple[int, int]] = []
    # The router matches the words of a command run together, so a line whose letters, run together,
    # hold no command word holds no code: most lines end here, at the cost of one fold.
    compact = _compact(line)
    if not any(key in compact for key in _command_keys()):
        return spans
    for word in _WORD.finditer(line):
        if not _could_start_command(word.group()):
            continue
        window = line[word.start() : word.start() + _WINDOW]
        window = window[: _LOG_DELIMITER.search(window).start()] if _LOG_DELIMITER.search(window) else window
        match = router.find_command(window)
        if match is None or match.command.name not in (START, LINK) or not match.args:
            continue
        offset = word.start() + window.find(match.args, len(word.group()))
        if match.command.name == START:
            token = invite_token(match.args)
            if people.is_invite_token(token):
                start = match.args.find(token)
                spans.append((offset + start, offset + start + len(token)))
        else:
            span = _code_span(match.args)
            if span is not None:
                spans.append((offset + span[0], offset + span[1]))
    return spans


def redact_codes(line: str, replacement: str) -> str:
    """`line` with every invite token and link code replaced. Where one was found the line comes
    back with its escapes decoded: the same message may be in it twice, once escaped."""
    if not hasattr(router, "command_named"):
        # Libraries log while the router's own imports run; no chat has been read before it is ready.
        return line
    decoded = readable_form(line)
    spans = secret_spans(decoded)
    if not spans:
        return line
    for start, end in sorted(spans, reverse=True):
        decoded = decoded[:start] + replacement + decoded[end:]
    return decoded
