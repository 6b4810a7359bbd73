"""Reading what an SQLite database file itself holds, without its WAL."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path


def count_in_file_alone(database: Path, copy: Path, query: str) -> int:
    """`query` (a count) on a copy of the database file alone, so only what has been copied back
    from the WAL is seen; 0 while the file does not even hold the table yet."""
    copy.unlink(missing_ok=True)
    shutil.copyfile(database, copy)
    connection = sqlite3.connect(copy)
    try:
        return connection.execute(query).fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        connection.close()
