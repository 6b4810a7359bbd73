"""`nhacviec run`: the bot on Telegram or Zalo when their token is set, else the console chat."""

from __future__ import annotations

import contextlib

from bot.cli import CommandError
from bot.ops.backup import BackupError, run_lock

TRANSPORTS = ("auto", "console", "telegram", "zalo", "zalo_oa")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "run", help="run the bot (Telegram or Zalo when a token is configured, else the console chat)"
    )
    parser.add_argument("--transport", choices=TRANSPORTS, default="auto")
    parser.set_defaults(handler=_run)


def choose_transport(app, requested: str) -> str:
    if requested != "auto":
        return requested
    secrets = app.config.secrets
    if secrets.telegram_bot_token:
        return "telegram"
    if secrets.zalo_bot_token:
        return "zalo"
    if secrets.zalo_oa_access_token:
        return "zalo_oa"
    return "console"


async def _run(app, args) -> int:
    database = app.db.sqlite_path()
    try:
        # `nhacviec restore` refuses to replace a database a bot holds this lock on.
        lock = run_lock(database) if database else contextlib.nullcontext()
        with lock:
            return await _run_transport(app, choose_transport(app, args.transport))
    except BackupError as exc:
        raise CommandError(str(exc)) from exc


async def _run_transport(app, transport: str) -> int:
    if transport == "console":
        from bot.transports.console import run_quickstart

        return await run_quickstart(app)
    if transport == "telegram":
        if not app.config.secrets.telegram_bot_token:
            raise CommandError("TELEGRAM_BOT_TOKEN is not set")
        from bot.transports.telegram.runner import run_telegram

        return await run_telegram(app)
    if transport in ("zalo", "zalo_oa"):
        from bot.transports.zalo.runner import run_zalo

        return await run_zalo(app, official_account=transport == "zalo_oa")
    raise CommandError(f"unknown transport {transport}")
