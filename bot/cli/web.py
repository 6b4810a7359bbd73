"""`nhacviec web`: the dashboard alone, for a deployment that runs it apart from the bot (the bot
process serves it too). Messages its forms address to chats go out through send-only transports
of the platforms configured."""

from __future__ import annotations

from bot.ops.shutdown import GracefulShutdown


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "web", help="serve the web dashboard alone (the bot process serves it too)"
    )
    parser.add_argument("--port", type=int, help="listen on this port instead of [web] port")
    parser.set_defaults(handler=_web)


async def _web(app, args) -> int:
    from bot.transports.registry import Transports
    from bot.web.server import deliver_through, start_web_server

    if args.port is not None:
        app.config.web.port = args.port
    transports = Transports()
    await transports.add_send_only(app)
    async with GracefulShutdown(app.config.ops.shutdown_grace_seconds) as shutdown:
        server = await start_web_server(app, deliver=deliver_through(app, transports))
        print(
            f"Web dashboard: {server.url} (send /web to the bot for a sign-in link; Ctrl-C stops)", flush=True
        )
        await shutdown.wait()
        await shutdown.stop(server.stop, transports.aclose)
    return 0
