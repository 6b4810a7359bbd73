"""The least a handled Telegram update can cost the bot's CPU, piece by piece, each beside a peer.

Every update the bot answers, however light, pays for three things no handler can skip:

* the unit of work that records the update's id, so that a re-delivery is not handled twice, and
  reads who sent it (the member, their agency, identities and chat state: what decides the role,
  the language and any flow in progress). Measured through the project's `Database` on a real
  SQLite file, beside the same statements on SQLAlchemy's Core without the ORM, and through the
  standard library's sqlite3 alone.
* the reply: one sendMessage through python-telegram-bot (`Bot.do_api_request` on the project's
  aiohttp request, as `TelegramTransport` sends), beside the same POST through aiohttp alone and
  through PTB's default (`Bot.send_message` on httpx, as a bare PTB bot sends).
* receiving the update: not measured here; `bench_telegram.py` gives the bot's whole cost per
  update, and its lightest mix (`--mixes help`) is the floor of the whole path.

The Bot API emulator runs in a child process, so this process's CPU time is the client's alone.
The figures are CPU milliseconds per call of this process (every thread), medians of `--runs`.

    python bench/bench_floor.py [--calls N] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
from sqlalchemy.dialects import sqlite as sqlite_dialect  # noqa: E402
from telegram import Bot  # noqa: E402

from bench.machine import machine  # noqa: E402
from bot.transports.telegram.http import AiohttpRequest  # noqa: E402
from bot.transports.telegram.transport import quiet_send_notice  # noqa: E402
from storage import people, sqlite_driver  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models.plan import Agency  # noqa: E402
from tests.factories import make_member  # noqa: E402

NOW = dt.datetime(2026, 6, 1, 1, 0, tzinfo=dt.UTC)
TOKEN = "123456789:AAE-emulated-token_abcdefghijklmnopqrstu"
TEXT = "Danh sách nhiệm vụ của Sở số 1: 5 nhiệm vụ, 3 đã báo cáo kỳ này."

# Run as the child: the emulator, with one user to write to, on a free port; prints its URL.
EMULATOR = f"""
import asyncio, sys
sys.path.insert(0, {str(REPO)!r})
from tests.emulators.telegram.server import TelegramEmulator

async def main():
    async with TelegramEmulator(token={TOKEN!r}) as tg:
        user = tg.user(1001, "An")
        print(tg.api_base_url, user.id, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


def cpu_per_call(total_seconds: float, calls: int) -> float:
    return total_seconds * 1000 / calls


async def measured(calls: int, one) -> float:
    """CPU milliseconds per call of `one(n)`, after a warm-up."""
    for n in range(-min(calls, 200), 0):
        await one(n)
    start = time.process_time()
    for n in range(calls):
        await one(n)
    return cpu_per_call(time.process_time() - start, calls)


# ------------------------------------------------------------------ the unit of work


async def database_pieces(calls: int, folder: Path) -> dict[str, float]:
    db = Database(f"sqlite+aiosqlite:///{folder}/floor.db")
    await upgrade(db)
    async with db.transaction() as session:
        agency = Agency(name="Sở số 1", key="so so 1", created_at=NOW)
        session.add(agency)
        await session.flush()
        await make_member(session, "An", agency=agency, platform="telegram", user_id="1001")

    async def empty(n: int) -> None:
        async with db.transaction(brief=True) as session:
            await session.connection()

    async def dedupe(n: int) -> None:
        async with db.transaction(brief=True) as session:
            await people.mark_processed(session, platform="telegram", update_key=f"d{n}", now=NOW)

    async def dedupe_and_sender(n: int) -> None:
        async with db.transaction(brief=True) as session:
            await people.mark_processed(session, platform="telegram", update_key=f"s{n}", now=NOW)
            member, _state = await people.member_and_state(
                session, platform="telegram", external_id="1001", chat_id="1001"
            )
            assert member is not None and member.agency.name == "Sở số 1"

    # The same two statements on SQLAlchemy's Core alone: a connection, no ORM session or objects.
    insert = people._MARK_PROCESSED[False]
    select_sender = people._MEMBER_AND_STATE

    async def core_alone(n: int) -> None:
        async with db.engine.begin() as connection:
            values = {"platform": "telegram", "update_key": f"c{n}", "processed_at": NOW}
            await connection.execute(insert, values)
            params = {"platform": "telegram", "external_id": "1001", "chat_id": "1001"}
            assert (await connection.execute(select_sender, params)).all()

    figures = {
        "empty write unit": await measured(calls, empty),
        "update id recorded": await measured(calls, dedupe),
        "… and the sender read": await measured(calls, dedupe_and_sender),
    }
    with sqlite_driver.brief(True):
        figures["… and the sender read, SQLAlchemy Core alone"] = await measured(calls, core_alone)
    await db.dispose()
    figures.update(raw_sqlite(calls, folder / "floor.db"))
    return figures


def _compiled(statement, columns: list[str] | None = None) -> tuple[str, list[str]]:
    """`statement` as SQLite runs it (an insert of `columns`), and the names of its parameters in
    the order they go in."""
    compiled = statement.compile(dialect=sqlite_dialect.dialect(), column_keys=columns)
    return str(compiled), list(compiled.positiontup)


def raw_sqlite(calls: int, path: Path) -> dict[str, float]:
    """The same statements on the standard library's sqlite3, in this thread, with the project's
    settings (WAL, synchronous NORMAL, the write lock taken up front)."""
    # The project's own statements, compiled once for SQLite: the peer runs exactly the same SQL.
    insert, insert_names = _compiled(
        people._MARK_PROCESSED[False], ["platform", "update_key", "processed_at"]
    )
    member_sql, member_names = _compiled(people._MEMBER_AND_STATE)
    sender = {"platform": "telegram", "external_id": "1001", "chat_id": "1001"}
    member_params = [sender[name] for name in member_names]
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    stamp = NOW.isoformat(sep=" ")

    def unit(n: int, read: bool) -> None:
        connection.execute("BEGIN IMMEDIATE")
        values = {"platform": "telegram", "update_key": f"r{read}{n}", "processed_at": stamp}
        connection.execute(insert, [values[name] for name in insert_names])
        if read:
            rows = connection.execute(member_sql, member_params).fetchall()
            assert rows
        connection.execute("COMMIT")

    figures = {}
    for name, read in (("update id recorded", False), ("… and the sender read", True)):
        for n in range(-200, 0):
            unit(n, read)
        start = time.process_time()
        for n in range(calls):
            unit(n, read)
        figures[f"{name}, sqlite3 alone"] = cpu_per_call(time.process_time() - start, calls)
    connection.close()
    return figures


# ------------------------------------------------------------------ the reply


def reply_pieces(calls: int) -> dict[str, float]:
    child = subprocess.Popen(
        [sys.executable, "-c", EMULATOR], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        base_url, chat_id = child.stdout.readline().split()
        return asyncio.run(_replies(calls, base_url, int(chat_id)))
    finally:
        child.stdin.close()
        child.wait(timeout=30)


async def _replies(calls: int, base_url: str, chat_id: int) -> dict[str, float]:
    quiet_send_notice()  # as the bot does: PTB's notice on do_api_request("sendMessage")
    fields = {"chat_id": chat_id, "text": TEXT, "parse_mode": "HTML"}
    ours = Bot(TOKEN, base_url=base_url, request=AiohttpRequest())
    default = Bot(TOKEN, base_url=base_url)
    async with ours, default, aiohttp.ClientSession() as session:
        url = f"{base_url}{TOKEN}/sendMessage"

        async def through_ptb(n: int) -> None:
            sent = await ours.do_api_request("sendMessage", api_kwargs=fields)
            assert sent["message_id"]

        async def aiohttp_alone(n: int) -> None:
            async with session.post(url, data={**fields, "chat_id": str(chat_id)}) as response:
                assert json.loads(await response.read())["ok"]

        async def ptb_default(n: int) -> None:
            await default.send_message(chat_id, TEXT, parse_mode="HTML")

        return {
            "sendMessage, PTB on aiohttp (the bot)": await measured(calls, through_ptb),
            "sendMessage, aiohttp alone": await measured(calls, aiohttp_alone),
            "sendMessage, PTB's default (httpx)": await measured(calls, ptb_default),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per piece and run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"the least an update costs, CPU ms per call of this process; medians of {args.runs} runs")
    print(f"machine: {machine()}")
    runs: dict[str, list[float]] = {}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            figures = asyncio.run(database_pieces(args.calls, Path(folder)))
        figures.update(reply_pieces(args.calls))
        for name, value in figures.items():
            runs.setdefault(name, []).append(value)
    for name, values in runs.items():
        print(
            f"  {name:<46} {statistics.median(values):6.3f} ms  (runs: {', '.join(f'{v:.3f}' for v in values)})"
        )
    floor = statistics.median(runs["… and the sender read"]) + statistics.median(
        runs["sendMessage, PTB on aiohttp (the bot)"]
    )
    print(
        f"  the sender read and one reply sent, through the bot's stack: {floor:.2f} ms, before receiving the update"
    )
    print(f"after: {machine()}")


if __name__ == "__main__":
    main()
