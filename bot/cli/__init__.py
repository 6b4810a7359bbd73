"""`nhacviec [--config FILE] [--db URL] <command> …`

Each command lives in its own module with a `register(subparsers)` function; COMMANDS, the one table
to read to find any command's code, names each command's module. Only the module of the command
asked for is imported (with `--help` or an unknown command, all of them): `nhacviec run` starts
without loading what the other commands need.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from collections.abc import Callable

from bot.app import SchemaOutOfDate, open_app
from bot.config import ConfigError, load_config
from bot.i18n import LANGUAGES, use_language
from bot.ops.logging import configure_logging
from storage.text import readable

COMMANDS = {
    "agencies": "bot.cli.agencies",
    "backup": "bot.cli.backup",
    "chat": "bot.cli.chat",
    "db": "bot.cli.db",
    "evidence": "bot.cli.evidence",
    "groups": "bot.cli.groups",
    "invite": "bot.cli.invite",
    "members": "bot.cli.members",
    "plan": "bot.cli.plan",
    "reminders": "bot.cli.reminders",
    "report": "bot.cli.report",
    "restore": "bot.cli.backup",
    "run": "bot.cli.run",
    "web": "bot.cli.web",
}

log = logging.getLogger("nhacviec")


class CommandError(Exception):
    """A command cannot go on; the message is shown as is and the exit status is 1."""


def _add_global_options(parser: argparse.ArgumentParser, *, checked: bool = True) -> None:
    parser.add_argument("--config", help="TOML configuration file (default: $NHACVIEC_CONFIG)")
    parser.add_argument("--db", metavar="URL", help="database URL, overriding the configuration")
    parser.add_argument(
        "--lang",
        choices=LANGUAGES if checked else None,
        help="language of the output (default: [i18n] default_language)",
    )


class _Lookahead(argparse.ArgumentParser):
    """The global options alone, to find the command; silent on errors, which the full parser
    reports."""

    def error(self, message):
        raise ValueError(message)


def _command_asked(argv: list[str] | None) -> str | None:
    """The command named in `argv` (after the global options), when it is one of COMMANDS."""
    options = _Lookahead(add_help=False)
    _add_global_options(options, checked=False)
    try:
        _known, rest = options.parse_known_args(argv)
    except ValueError:
        return None
    return rest[0] if rest and rest[0] in COMMANDS else None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv` (default: the command line): with every command's options, or only
    those of the command `argv` names."""
    parser = argparse.ArgumentParser(
        prog="nhacviec",
        description="Nhắc việc: reminders, progress updates and summaries for a government plan.",
    )
    _add_global_options(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    asked = _command_asked(argv)
    modules = [COMMANDS[asked]] if asked else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
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


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed: the same asyncio interface, its network work in C (about
    a tenth less CPU per Telegram update). `NHACVIEC_EVENT_LOOP=asyncio` keeps asyncio's own, to rule
    the loop out when chasing a fault. None means asyncio's default."""
    if os.environ.get("NHACVIEC_EVENT_LOOP", "uvloop").strip().lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None, *, clock=None) -> int:
    """Run one command; `clock` (tests hand in one they move) defaults to the system clock."""
    parser = build_parser(argv)
    args = _readable_arguments(parser.parse_args(argv))
    if not getattr(args, "resumes_collection", False):
        # Only `run` keeps the collector paused until it serves (bot.startup).
        from bot import startup

        startup.resume()
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(_run(args, clock))
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
