"""The `nhacviec` program: the command line, started with the garbage collector paused (see
bot.startup); `nhacviec run` resumes it once serving, every other command as soon as its arguments
are read."""

from __future__ import annotations


def main() -> int:
    from bot import startup

    startup.pause()
    try:
        from bot.cli import main as cli_main

        return cli_main()
    finally:
        startup.resume()
