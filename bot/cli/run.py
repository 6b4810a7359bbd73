"""`nhacviec run`: the bot on every platform whose credentials are set (Telegram, Zalo, the Zalo
Official Account, together in one process), else the console chat; `--transport` picks one."""

from __future__ import annotations

import contextlib

from bot.cli import CommandError
from bot.i18n import _
from bot.ops.backup import BackupError, run_lock
from storage.plans.staging import discard_abandoned

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
    from bot.cli.chat import add_console_options

    # Only the console: the real platforms always run on the wall clock.
    add_console_options(parser)
    # Ctrl-C stops the bot (each runner stops gracefully on SIGINT): the normal way to end it.
    # The garbage collector stays paused until the bot serves (bot.startup).
    parser.set_defaults(handler=_run, interrupt_ends=True, resumes_collection=True)


def choose_platforms(app, requested: str) -> list[str]:
    """What this process serves: the one asked for, else every configured platform, else the console."""
    if requested != "auto":
        return [requested]
    from bot.transports.registry import configured_platforms

    return configured_platforms(app.config) or ["console"]


async def _run(app, args) -> int:
    from bot.ops.metrics import count_checkpoint

    database = app.db.sqlite_path()
    try:
        # `nhacviec restore` refuses to replace a database a bot holds this lock on.
        lock = run_lock(database) if database else contextlib.nullcontext()
        with lock:
            # While it serves, SQLite's WAL is copied back on a worker thread, not inside a chat's
            # commit (storage.checkpoints).
            async with app.db.checkpoints_in_background(on_checkpoint=count_checkpoint):
                # An import killed mid-way left hidden rows behind: gone before the bot serves anyone.
                await discard_abandoned(app.db)
                return await _run_platforms(app, choose_platforms(app, args.transport), args)
    except BackupError as exc:
        raise CommandError(str(exc)) from exc


async def _run_platforms(app, platforms: list[str], args) -> int:
    if platforms == ["console"]:
        from pathlib import Path

        from bot import startup
        from bot.transports.console import run_quickstart, use_travel_clock

        # The console reads its first line at once: nothing to gain by waiting.
        startup.resume()
        use_travel_clock(app, args.now)
        return await run_quickstart(app, files_dir=Path(args.files) if args.files else None)
    if args.now or args.files:
        raise CommandError(_("--now and --files are for the console only; the platforms use the real clock"))
    if "telegram" in platforms and not app.config.secrets.telegram_bot_token:
        raise CommandError("TELEGRAM_BOT_TOKEN is not set")
    from bot.transports.runner import run_bots

    return await run_bots(app, platforms)
