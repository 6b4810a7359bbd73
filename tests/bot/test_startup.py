"""The installed program starts with the garbage collector paused (bot.startup) and always turns it
back on: at once for a command, once serving for `nhacviec run`; with what start-up built frozen out
of later collections. Real processes, as the program is started."""

from __future__ import annotations

import subprocess
import sys

from bot import startup

PROBE = """
import gc, sys
import bot.cli as cli
from bot import entry
during = []
command = cli._run
async def watched(args, clock=None):
    during.append(gc.isenabled())
    return await command(args, clock)
cli._run = watched
sys.argv = ["nhacviec", "--db", sys.argv[1], *sys.argv[2:]]
code = entry.main()
print("collector", during, gc.isenabled(), gc.get_freeze_count() > 0, code)
"""


def _program(tmp_path, *args: str) -> str:
    database = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, database, *args], capture_output=True, text=True, timeout=120
    )
    return done.stdout.strip().splitlines()[-1]


def test_a_command_runs_with_the_collector_on_and_start_up_frozen(tmp_path):
    assert _program(tmp_path, "members", "list") == "collector [True] True True 0"


def test_a_refused_command_still_leaves_the_collector_on(tmp_path):
    # Reports an error and exits 1 (no such member); the collector is on whatever the outcome.
    assert _program(tmp_path, "members", "role", "99", "admin") == "collector [True] True True 1"


def test_resuming_without_a_pause_changes_nothing():
    import gc

    before = gc.get_freeze_count()
    startup.resume()
    assert (gc.isenabled(), gc.get_freeze_count()) == (True, before)
