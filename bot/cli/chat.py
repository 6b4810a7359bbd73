"""`nhacviec chat [--as NAME] [--files DIR]`: talk to the bot in this terminal (interactive or piped
input); with --files, the reports and charts it sends are saved in DIR."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "chat", help="chat with the bot in this terminal; buttons show as numbered choices"
    )
    parser.add_argument("--as", dest="user", metavar="NAME", help="who is typing (default: your login name)")
    parser.add_argument(
        "--files", metavar="DIR", help="save the files the bot sends (reports, charts) in DIR to open them"
    )
    parser.set_defaults(handler=_chat)


async def _chat(app, args) -> int:
    from pathlib import Path

    from bot.transports.console import ConsoleTransport, run_chat

    transport = ConsoleTransport(files_dir=Path(args.files)) if args.files else None
    return await run_chat(app, user=args.user, transport=transport)
