"""`nhacviec chat [--as NAME] [--files DIR] [--now MOMENT]`: talk to the bot in this terminal
(interactive or piped input). The files it sends are saved in DIR (default `exports/` beside the
database); `--now` starts the console's clock at a moment of the plan and `:now` moves it on."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "chat", help="chat with the bot in this terminal; buttons show as numbered choices"
    )
    parser.add_argument("--as", dest="user", metavar="NAME", help="who is typing (default: your login name)")
    add_console_options(parser)
    parser.set_defaults(handler=_chat, interrupt_ends=True)


def add_console_options(parser) -> None:
    """--files and --now, shared by `chat` and the console of `run`."""
    parser.add_argument(
        "--files",
        metavar="DIR",
        help="where to save the files the bot sends (reports, charts); default: exports/ beside the database",
    )
    parser.add_argument(
        "--now",
        metavar="MOMENT",
        help='start the console\'s clock at this local moment, "YYYY-MM-DD HH:MM" (then :now moves it on)',
    )


async def _chat(app, args) -> int:
    from pathlib import Path

    from bot.transports.console import ConsoleTransport, default_files_dir, run_chat, use_travel_clock

    use_travel_clock(app, args.now)
    files_dir = Path(args.files) if args.files else default_files_dir(app)
    return await run_chat(app, user=args.user, transport=ConsoleTransport(files_dir=files_dir))
