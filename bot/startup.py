"""Start-up without the cyclic garbage collector.

Starting the bot creates hundreds of thousands of long-lived objects (modules, classes, SQLAlchemy
mappings, PTB's handlers) and almost no garbage; Python's collector, triggered by allocation counts,
walks them some 370 times before the first poll, a fifth of the CPU of starting. The program's entry
point (`bot.entry`) pauses collection; `resume` runs once the bot is serving: one collection frees
what start-up discarded, `gc.freeze` moves the survivors out of every later collection (they live
as long as the process), and collection goes on as usual.

Only the installed program pauses collection: code that imports `bot.cli` (the tests) never does.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Collect normally again (a no-op unless `pause` disabled collection)."""
    global _paused
    if not _paused:
        return
    _paused = False
    gc.collect()
    gc.freeze()
    gc.enable()
