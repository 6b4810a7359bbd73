"""Logs an operator can search and a leak cannot hide in.

`configure_logging(config)` installs one stderr handler: plain text by default, one JSON object per
line with `[logging] json_lines = true`. Every record passes `RedactingFilter` on the way out,
which replaces anything shaped like a Telegram bot token, every configured secret value (the
environment's tokens, the database password) and people's invite tokens and linking codes, in the
message, its arguments, the traceback and any extra field. Third-party loggers are covered too: the filter sits on the handler, not on a
logger.

`delivery_fields(reminder)` is what the sender passes as `extra=` on every delivery line, so each
one carries the reminder key, deadline and agency (`log_delivery` does both in one call);
`notice_fields` / `log_notice` do the same for a notice, the engine's unit of delivery.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO

# A Telegram bot token: the bot's numeric id, a colon, then 35 URL-safe characters (30+ to be safe).
TOKEN_PATTERN = re.compile(r"\d+:[A-Za-z0-9_-]{30,}")
REDACTED = "[redacted]"
# Shorter values are too likely to be ordinary words; real secrets are much longer.
MIN_SECRET_LENGTH = 6

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


# People's own secrets travel in chat text, which libraries log at DEBUG (PTB prints every update):
# invite tokens and account-linking codes, in every form the chat core accepts them. The core says
# where they are (bot.core.codes: its own command parser and code reader); the patterns here cover
# only what the bot itself writes: deep links "?start=<token>" and codes as shown "ABCD-EFGH-JKMN".
# Only the secret part is replaced, so the line stays readable.
PERSONAL_SECRET_PATTERNS = (
    re.compile(r"([?&]start=)[A-Za-z0-9_-]+"),
    re.compile(r"()\b[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}\b"),
)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()):
        values = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._secrets = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def __call__(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(REDACTED, text)
        # Imported here: the chat core's parser is a heavy import, and logging is set up first.
        from bot.core.codes import redact_codes

        text = redact_codes(text, REDACTED)
        for pattern in PERSONAL_SECRET_PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return TOKEN_PATTERN.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record so that no handler after it can print a secret."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what we have rather than lose the line
            message = f"{record.msg} {record.args}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for name, value in list(record.__dict__.items()):
            if name in _STANDARD_ATTRIBUTES or value is None or isinstance(value, bool | int | float):
                continue
            # Anything else (an exception, a URL object) is printed as its str(): redact that.
            setattr(record, name, self.redact(value if isinstance(value, str) else str(value)))
        return True


def extra_fields(record: logging.LogRecord) -> dict[str, object]:
    return {
        k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRIBUTES and not k.startswith("_")
    }


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, message, then extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(extra_fields(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def secret_values(config) -> list[str]:
    """Every configured secret: the environment's tokens and the database password."""
    from sqlalchemy.engine import make_url

    values = []
    for name in config.secrets.__struct_fields__:
        value = getattr(config.secrets, name)
        if value is None:
            continue
        values.append(value.get_secret_value() if hasattr(value, "get_secret_value") else str(value))
        # NHACVIEC_SECRET_KEY lists keys ("new,old"): each of them is a secret on its own.
        values += [part.strip() for part in values[-1].split(",")]
    try:
        password = make_url(config.database.url).password
    except Exception:  # an unparsable URL fails later, with a clearer message than ours
        password = None
    if password:
        values.append(str(password))
    return values


HANDLER_NAME = "nhacviec"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the call (it may be replaced after start)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(config, stream: TextIO | None = None) -> logging.Handler:
    """Install the process's log handler (replacing one installed before) and return it."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.set_name(HANDLER_NAME)
    handler.addFilter(RedactingFilter(Redactor(secret_values(config))))
    handler.setFormatter(
        JsonLinesFormatter() if config.logging.json_lines else logging.Formatter(TEXT_FORMAT)
    )
    root.addHandler(handler)
    root.setLevel(getattr(logging, config.logging.level))
    # httpx logs every request URL at INFO, and Telegram URLs carry the bot token; the filter would
    # redact it, but a line per API call is noise anyway.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Migrations run on every start of an embedded database; `nhacviec db upgrade` prints its own
    # summary, and a line per migration step would land in the middle of the console chat.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler only fires the engine's ticks: a line per tick at INFO is noise, and a tick skipped
    # because the last one is still running is the design (max_instances=1), not a warning.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _SkippedTickFilter) for f in scheduler_log.filters):
        scheduler_log.addFilter(_SkippedTickFilter())
    return handler


class _SkippedTickFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


def delivery_fields(reminder, **more: object) -> dict[str, object]:
    """The fields every delivery log line carries: which reminder, which deadline, which agency."""
    agency = getattr(reminder, "agency", None)
    fields: dict[str, object] = {
        "reminder_key": reminder.key,
        "reminder_kind": reminder.kind,
        "deadline": reminder.deadline.isoformat() if reminder.deadline else None,
        "offset_days": reminder.offset_days,
        "agency": (agency.short_name or agency.name) if agency is not None else None,
        "member_id": reminder.member_id,
    }
    fields.update(more)
    return fields


def log_delivery(
    logger: logging.Logger, level: int, event: str, reminder, *, exc_info: bool = False, **more: object
) -> None:
    """Log one delivery event; the fields go both into the text (for plain logs) and as fields (JSON)."""
    _log_fields(logger, level, event, delivery_fields(reminder, **more), exc_info)


def notice_fields(notice, **more: object) -> dict[str, object]:
    """`delivery_fields` for a notice: the message one person gets for the reminders due together."""
    items = notice.items
    keys = [key for item in items for key in getattr(item, "reminder_keys", ())]
    fields: dict[str, object] = {
        "reminder_key": ",".join(keys) if keys else ",".join(str(i) for i in notice.reminder_ids),
        "reminder_kind": ",".join(dict.fromkeys(item.kind for item in items)),
        "deadline": ",".join(dict.fromkeys(item.deadline.isoformat() for item in items)),
        "offset_days": ",".join(dict.fromkeys(str(item.offset_days) for item in items)),
        "agency": notice.agency_name,
        "member_id": notice.member_id,
    }
    fields.update(more)
    return fields


def log_notice(
    logger: logging.Logger, level: int, event: str, notice, *, exc_info: bool = False, **more: object
) -> None:
    """`log_delivery` for a notice (what the reminder engine's sender hands to a transport)."""
    _log_fields(logger, level, event, notice_fields(notice, **more), exc_info)


def _log_fields(logger: logging.Logger, level: int, event: str, fields: dict, exc_info: bool) -> None:
    rendered = " ".join(f"{name}={_render(value)}" for name, value in fields.items() if value is not None)
    logger.log(level, "%s %s", event, rendered, extra=fields, exc_info=exc_info)


def _render(value: object) -> str:
    text = str(value)
    return (
        json.dumps(text, ensure_ascii=False)
        if (not text or any(c.isspace() or c == '"' for c in text))
        else text
    )
