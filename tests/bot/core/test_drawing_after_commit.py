"""Drawing a report or a chart takes a good part of a second; on SQLite it must not hold the database's
one write lock meanwhile, or every other writer (other chats, the reminder engine) waits for it. The
summary is read in the unit of work and drawn after the commit: while the drawing runs, another
connection can begin a write at once."""

from __future__ import annotations

import io
import sqlite3

import docx
import pytest

from bot.app import App
from bot.config import load_config
from bot.core.handlers import exports, overview
from bot.core.service import Core
from tests.bot.core.chat import ChatUser
from tests.factories import make_member, make_plan

WRITTEN = "another writer got the write lock"


def try_to_write(path) -> str:
    """What a second writer meets: the lock free, or "database is locked" (no waiting: timeout 0)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return WRITTEN
    except sqlite3.OperationalError as exc:
        return str(exc)
    finally:
        other.close()


@pytest.fixture
async def an(sqlite_db, clock) -> ChatUser:
    async with sqlite_db.transaction() as session:
        await make_plan(session)
        await make_member(session, "An", role="coordinator", user_id="an", language="en")
    return ChatUser(Core(App(config=load_config(env={}), db=sqlite_db, clock=clock)), "an")


def probing(real, path, probes: list[str]):
    """`real`, run as the core runs it, after noting whether another writer could write right then.
    The real function still draws the file the test reads back."""

    def draw(*args, **kwargs):
        probes.append(try_to_write(path))
        return real(*args, **kwargs)

    return draw


async def test_another_writer_is_not_kept_waiting_while_the_word_report_is_drawn(sqlite_db, an, monkeypatch):
    probes: list[str] = []
    real = exports.render_summary
    monkeypatch.setattr(exports, "render_summary", probing(real, sqlite_db.sqlite_path(), probes))

    replies = await an.send("/xuat docx")
    (document,) = [d for reply in replies for d in reply.documents]

    expected = [WRITTEN]
    assert probes == expected
    assert docx.Document(io.BytesIO(document.content)).paragraphs[0].text == "REPORT"
    assert an.text().startswith("Plan 87/KH-UBND, reporting cycle ending Saturday, 20 June 2020")


async def test_another_writer_is_not_kept_waiting_while_the_summary_chart_is_drawn(
    sqlite_db, an, monkeypatch
):
    probes: list[str] = []
    real = overview.chart_image
    monkeypatch.setattr(overview, "chart_image", probing(real, sqlite_db.sqlite_path(), probes))

    summary, chart = await an.send("/tonghop")

    expected = [WRITTEN]
    assert probes == expected
    assert chart.images[0].content.startswith(b"\x89PNG")
    assert summary.text.startswith("Summary of plan 87/KH-UBND")
