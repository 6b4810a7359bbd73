"""`nhacviec run`: the bot on every platform whose credentials are set (Telegram, Zalo, the Zalo
Official Account, together in one process), else the console chat; `--transport` picks one."""

from __future__ import annotations

import contextlib

from bot.cli import CommandError
from bot.ops.backup import BackupError, run_lock

TRANSPORTS = ("auto", "console", "telegram", "zalo", "zalo_oa")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the bot on every platform with credentials set (Telegram, Zalo, Zalo OA), else the console chat",
    )
    parser.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default="auto",
        help="serve only this platform (the others configured are still sent on); default: all configured",
    )
    parser.set_defaults(handler=_run)


def choose_platforms(app, requested: str) -> list[str]:
    """What this process serves: the one asked for, else every configured platform, else the console."""
    if requested != "auto":
        return [requested]
    from bot.transports.registry import configured_platforms

    return configured_platforms(app.config) or ["console"]


async def _run(app, args) -> int:
    database = app.db.sqlite_path()
    try:
        # `nhacviec restore` refuses to replace a database a bot holds this lock on.
        lock = run_lock(database) if database else contextlib.nullcontext()
        with lock:
            return await _run_platforms(app, choose_platforms(app, args.transport))
    except BackupError as exc:
        raise CommandError(str(exc)) from exc


async def _run_platforms(app, platforms: list[str]) -> int:
    if platforms == ["console"]:
        from bot.transports.console import run_quickstart

        return await run_quickstart(app)
    if "telegram" in platforms and not app.config.secrets.telegram_bot_token:
        raise CommandError("TELEGRAM_BOT_TOKEN is not set")
    from bot.transports.runner import run_bots

    return await run_bots(app, platforms)
