"""`nhacviec [--config FILE] [--db URL] <command> …`

Each command lives in its own module with a `register(subparsers)` function; they are collected in
COMMAND_MODULES, the one list to read to find any command's code.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys

from bot.app import SchemaOutOfDate, open_app
from bot.config import ConfigError, load_config
from bot.i18n import LANGUAGES, use_language
from bot.ops.logging import configure_logging
from storage.text import readable

COMMAND_MODULES = [
    "bot.cli.agencies",
    "bot.cli.backup",
    "bot.cli.chat",
    "bot.cli.db",
    "bot.cli.evidence",
    "bot.cli.groups",
    "bot.cli.invite",
    "bot.cli.members",
    "bot.cli.plan",
    "bot.cli.reminders",
    "bot.cli.report",
    "bot.cli.run",
    "bot.cli.web",
]

log = logging.getLogger("nhacviec")


class CommandError(Exception):
    """A command cannot go on; the message is shown as is and the exit status is 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nhacviec",
        description="Nhắc việc: reminders, progress updates and summaries for a government plan.",
    )
    parser.add_argument("--config", help="TOML configuration file (default: $NHACVIEC_CONFIG)")
    parser.add_argument("--db", metavar="URL", help="database URL, overriding the configuration")
    parser.add_argument(
        "--lang", choices=LANGUAGES, help="language of the output (default: [i18n] default_language)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


async def _run(args: argparse.Namespace, clock=None) -> int:
    config = load_config(args.config)
    if args.db:
        config.database.url = args.db
    if args.lang:
        # One setting for the whole run: command output, the console's remarks, reminders' defaults.
        config.i18n.default_language = args.lang
    # Text or JSON lines, tokens and secrets redacted, httpx kept at WARNING (its URLs carry tokens).
    configure_logging(config)
    app = await open_app(
        config,
        clock=clock,
        migrate=getattr(args, "migrate", None),
        check_schema=getattr(args, "check_schema", True),
    )
    try:
        # Every command prints in the deployment's language (its errors too: they are raised inside).
        with use_language(config.i18n.default_language):
            return await args.handler(app, args) or 0
    finally:
        await app.close()


def _readable_arguments(args: argparse.Namespace) -> argparse.Namespace:
    """Every text argument cleaned as chat text is, before any command sees it: a name typed (or
    pasted) on the command line is stored and shown to chat users, in reports and on the web."""
    for name, value in vars(args).items():
        if isinstance(value, str):
            setattr(args, name, readable(value))
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            setattr(args, name, [readable(item) for item in value])
    return args


def main(argv: list[str] | None = None, *, clock=None) -> int:
    """Run one command; `clock` (tests hand in one they move) defaults to the system clock."""
    parser = build_parser()
    args = _readable_arguments(parser.parse_args(argv))
    try:
        return asyncio.run(_run(args, clock))
    except (ConfigError, CommandError, SchemaOutOfDate) as exc:
        print(f"nhacviec: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C is how one leaves the console chat: a normal end, not a failure (`make run` would
        # otherwise report "Error 130"). Elsewhere it interrupted the command.
        return 0 if getattr(args, "interrupt_ends", False) else 130
    except BrokenPipeError:
        # The reader left (`nhacviec reminders preview | head`): nothing more to say, and nothing to
        # complain about. Later writes (the interpreter's final flush) go nowhere instead of failing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
