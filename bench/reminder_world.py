"""A province-sized world for the reminder benchmarks, bulk-loaded into a migrated SQLite file:
`agencies` agencies leading `tasks_per_agency` whole-year tasks each, `members` focal points spread
evenly over them (each with one chat identity) and a few coordinators."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path

from storage.db import Database
from storage.migrate import upgrade

NOW_TEXT = "2020-04-24 00:00:00.000000"


async def _migrate(path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    await db.dispose()


def build(
    path: Path,
    *,
    agencies: int,
    members: int,
    tasks_per_agency: int = 3,
    coordinators: int = 5,
    platform_name: str = "bench",
    deadlines: tuple[str, ...] = ("2020-06-20", "2020-11-20"),
) -> None:
    if path.exists():
        path.unlink()
    asyncio.run(_migrate(path))
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    with con:
        con.executemany(
            "INSERT INTO agency (id, name, short_name, key, created_at) VALUES (?, ?, ?, ?, ?)",
            (
                (a, f"Ủy ban nhân dân xã số {a}", None, f"uy ban nhan dan xa so {a}", NOW_TEXT)
                for a in range(1, agencies + 1)
            ),
        )
        con.execute(
            "INSERT INTO plan (id, number, issued, title, year, reporting_deadlines, imported_at)"
            " VALUES (1, '87/KH-UBND', '2020-04-24', 'Kế hoạch đo hiệu năng', 2020, ?, ?)",
            (json.dumps(list(deadlines)), NOW_TEXT),
        )
        con.executemany(
            "INSERT INTO section (id, plan_id, numeral, position, heading, agency_id) VALUES (?, 1, ?, ?, ?, ?)",
            ((a, str(a), a, f"XÃ SỐ {a}", a) for a in range(1, agencies + 1)),
        )
        tasks = [
            (
                (a - 1) * tasks_per_agency + n,
                a,
                n,
                f"{a}.{n}",
                f"Nhiệm vụ {n} của xã số {a}: tuyên truyền đối ngoại",
            )
            for a in range(1, agencies + 1)
            for n in range(1, tasks_per_agency + 1)
        ]
        con.executemany(
            "INSERT INTO task (id, plan_id, section_id, number, code, content, timeframe_text, start_on, end_on,"
            " lead_text, coordinating_text, responsible)"
            " VALUES (?, 1, ?, ?, ?, ?, 'Cả năm', '2020-01-01', '2020-12-31', '', '', '')",
            tasks,
        )
        con.executemany(
            "INSERT INTO task_agency (task_id, agency_id, role, position) VALUES (?, ?, 'lead', 0)",
            ((task_id, agency) for task_id, agency, *_ in tasks),
        )
        con.executemany(
            "INSERT INTO member (id, name, role, agency_id, status, language, preferred_platform, reachable, created_at)"
            " VALUES (?, ?, ?, ?, 'active', 'vi', ?, 1, ?)",
            [
                (m, f"Cán bộ {m}", "focal", (m - 1) % agencies + 1, platform_name, NOW_TEXT)
                for m in range(1, members + 1)
            ]
            + [
                (members + c, f"Điều phối {c}", "coordinator", None, platform_name, NOW_TEXT)
                for c in range(1, coordinators + 1)
            ],
        )
        con.executemany(
            "INSERT INTO identity (member_id, platform, external_id, chat_id, reachable, created_at)"
            " VALUES (?, ?, ?, ?, 1, ?)",
            # Numeric ids, as Telegram chat ids are.
            (
                (m, platform_name, str(10_000_000 + m), str(10_000_000 + m), NOW_TEXT)
                for m in range(1, members + coordinators + 1)
            ),
        )
    con.execute("ANALYZE")
    con.close()


def copy(template: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(template, target)
    return target
