"""A few lines of Python run in a fresh interpreter: to see what a process imports, or what a
library answers in a process this one has not touched."""

from __future__ import annotations

import subprocess
import sys


def run_python(code: str) -> str:
    """What `code` prints (stripped), run by this Python in a process of its own."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return result.stdout.strip()
