"""The line every benchmark prints about where it ran, and a free loopback port for its servers."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import sqlite3
from pathlib import Path


def machine() -> str:
    cpu = platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory = f", {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB"
    load = ""
    with contextlib.suppress(OSError, AttributeError):
        # The machine may be shared: wall-clock figures stretch with other work, CPU figures much less.
        load = ", load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}{load}"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
