"""`nhacviec chat [--as NAME]`: talk to the bot in this terminal (interactive or piped input)."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "chat", help="chat with the bot in this terminal; buttons show as numbered choices"
    )
    parser.add_argument("--as", dest="user", metavar="NAME", help="who is typing (default: your login name)")
    parser.set_defaults(handler=_chat)


async def _chat(app, args) -> int:
    from bot.transports.console import run_chat

    return await run_chat(app, user=args.user)
