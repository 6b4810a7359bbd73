"""Rows the migration tests write into a database at an earlier revision, as plain SQL (the models
describe the latest schema, not theirs)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text


async def agencies_plan_and_section(conn, when: dt.datetime) -> None:
    """Agencies 1 (Sở A) and 2 (Sở B); plan 1 of 2026, reporting on 20/6 and 20/11; its section I,
    Sở A's. The same columns from revision 0008 on."""
    await conn.execute(
        text(
            "INSERT INTO agency (id, name, key, created_at) VALUES (1, 'Sở A', 'so a', :w), (2, 'Sở B', 'so b', :w)"
        ),
        {"w": when},
    )
    await conn.execute(
        text(
            "INSERT INTO plan (id, number, title, year, start_year, end_year, issuer, issuer_key, lifecycle,"
            " reporting_deadlines, imported_at) VALUES (1, '1/KH', 'Kế hoạch', 2026, 2026, 2026, '', '',"
            " 'auto', '[\"2026-06-20\", \"2026-11-20\"]', :w)"
        ),
        {"w": when},
    )
    await conn.execute(
        text(
            "INSERT INTO section (id, plan_id, numeral, position, heading, agency_id) VALUES (1, 1, 'I', 1, 'SỞ A', 1)"
        )
    )
