"""The `nhacviec` program: the command line, run without docstrings and started with the garbage
collector paused (see bot.startup); `nhacviec run` resumes it once serving, every other command as
soon as its arguments are read."""

from __future__ import annotations

import os
import sys


def main() -> int:
    _without_docstrings()
    from bot import startup

    startup.pause()
    try:
        from bot.cli import main as cli_main

        return cli_main()
    finally:
        startup.resume()


def _without_docstrings() -> None:
    """Run the program again as `python -OO`, unless Python was told how to optimise already.

    The docstrings of the libraries a running bot holds (SQLAlchemy's, PTB's, aiohttp's) take 7–8 MB
    of its memory and nothing reads them; `-OO` leaves them out. It also drops `assert` statements,
    which the bot's own code uses only to narrow types. `make install` compiles the bytecode this
    needs (`*.opt-2.pyc`): a service whose directory it may not write would otherwise compile every
    module on every start. PYTHONOPTIMIZE=0 in the environment keeps the docstrings (a debugger)."""
    if sys.flags.optimize >= 2 or "PYTHONOPTIMIZE" in os.environ:
        return
    script = sys.argv[0] if sys.argv else ""
    # Only the installed script can be started again as it was; `python -c` and embedding cannot.
    if not script or not os.path.isfile(script) or not sys.executable:
        return
    try:
        os.execv(sys.executable, [sys.executable, "-OO", script, *sys.argv[1:]])
    except OSError:
        return
