"""What the fault scenarios share: a crowd of focal points on Telegram, the bot as a child process
that can be killed, and a reading of what each person received."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import signal
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import App
from bot.config import Config
from bot.reminders import build_engine
from scheduler.clock import ManualClock
from storage.db import Database
from storage.migrate import upgrade
from storage.models.reminders import Reminder
from tests.emulators.telegram import TelegramEmulator
from tests.scheduler.conftest import build_crowd

REPO = Path(__file__).resolve().parents[2]
HANOI = dt.timezone(dt.timedelta(hours=7))
# The Friday before the 20/6/2020 report deadline (Saturday): every focal point's T-7 reminder is due.
FAN_OUT_AT = dt.datetime(2020, 6, 12, 8, 0, tzinfo=HANOI)
FIRST_CHAT = 1001
WEBHOOK_SECRET = "fault-test-webhook-secret_42"
# "[87/KH-UBND · 20/6 · T-7]": the reference every reminder ends with (bot.reminders.reference).
REFERENCE = re.compile(r"\[87/KH-UBND · [^\]]+\]")


def chat_of(n: int) -> int:
    """Telegram chat id of the n-th focal point of `build_crowd` (1-based)."""
    return FIRST_CHAT + n - 1


async def seed_crowd(db, tg: TelegramEmulator, size: int) -> list[int]:
    """`size` agencies with one focal point each on Telegram, known to the emulator; their chat ids."""
    await build_crowd(db, size, platform="telegram")
    chats = [chat_of(n) for n in range(1, size + 1)]
    for n, chat in enumerate(chats, start=1):
        tg.user(chat, f"Đầu mối {n}", language_code="vi")
    return chats


async def seed_crowd_bulk(db, tg: TelegramEmulator, size: int) -> list[int]:
    """`seed_crowd` for tens of thousands: the same rows, written with a few bulk inserts."""
    from storage.models import Agency, Identity, Member, Plan, Section, Task, TaskAgency
    from storage.models.people import ACTIVE, FOCAL
    from storage.models.plan import LEAD

    now = dt.datetime(2020, 6, 1, tzinfo=dt.UTC)
    async with db.transaction() as session:
        plan = Plan(
            number="87/KH-UBND", year=2020, title="", reporting_deadlines=["2020-06-20", "2020-11-20"]
        )
        session.add(plan)
        await session.flush()
        section = Section(plan_id=plan.id, numeral="I", position=1, heading="CÁC QUẬN, HUYỆN")
        session.add(section)
        await session.flush()
        numbers = range(1, size + 1)
        await session.execute(
            insert(Agency),
            [
                {
                    "id": n,
                    "name": f"Ủy ban nhân dân quận {n}",
                    "key": f"uy ban nhan dan quan {n}",
                    "created_at": now,
                }
                for n in numbers
            ],
        )
        await session.execute(
            insert(Task),
            [
                {"id": n, "plan_id": plan.id, "section_id": section.id, "number": n, "code": f"I.{n}",
                 "content": f"Nhiệm vụ số {n}", "end_on": dt.date(2020, 12, 31)}
                for n in numbers
            ],
        )  # fmt: skip
        await session.execute(
            insert(TaskAgency), [{"task_id": n, "agency_id": n, "role": LEAD} for n in numbers]
        )
        await session.execute(
            insert(Member),
            [
                {"id": n, "name": f"focal-{n}", "role": FOCAL, "agency_id": n, "status": ACTIVE,
                 "language": "vi", "preferred_platform": "telegram", "created_at": now}
                for n in numbers
            ],
        )  # fmt: skip
        await session.execute(
            insert(Identity),
            [
                {"member_id": n, "platform": "telegram", "external_id": str(chat_of(n)),
                 "chat_id": str(chat_of(n)), "created_at": now}
                for n in numbers
            ],
        )  # fmt: skip
    if not db.sqlite:
        # Explicit ids leave PostgreSQL's sequences behind; later inserts must not collide with them.
        async with db.transaction() as session:
            for table in ("agency", "task", "member"):
                await session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    )
                )
    chats = [chat_of(n) for n in numbers]
    for n, chat in enumerate(chats, start=1):
        tg.user(chat, f"Đầu mối {n}", language_code="vi")
    return chats


@contextlib.asynccontextmanager
async def postgres_database(admin_url: str):
    """A fresh, migrated PostgreSQL database of its own (several processes must reach it by URL
    alone, so a private schema on the test database will not do); dropped afterwards."""
    name = f"nhacviec_faults_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    try:
        await upgrade(db)
        yield db
    finally:
        await db.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def plan_at(db, when: dt.datetime, config: Config | None = None) -> int:
    """Run the planner once, as the bot would at `when`; returns the rows in the outbox due by then."""
    engine = build_engine(App(config=config or Config(), db=db, clock=ManualClock(when)), {})
    await engine.plan()
    async with db.snapshot() as session:
        return await session.scalar(select(func.count()).select_from(Reminder).where(Reminder.due_at <= when))


async def statuses(db, due_by: dt.datetime) -> Counter:
    """Outbox rows due by `due_by`, by status (later ones, planned ahead, are not the scenario's)."""
    async with db.snapshot() as session:
        rows = await session.execute(
            select(Reminder.status, func.count()).where(Reminder.due_at <= due_by).group_by(Reminder.status)
        )
        return Counter(dict(rows.all()))


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)


def write_config(path: Path, sections: dict[str, dict]) -> Path:
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def bot_config(
    path: Path,
    db_url: str,
    tg: TelegramEmulator,
    *,
    per_second: float,
    max_in_flight: int,
    mode: str = "polling",
    request_timeout: float = 2.0,
    **reminders,
) -> Path:
    """A configuration for the child bot: the emulator's Bot API, fast ticks, short leases."""
    settings = {
        "send_every_seconds": 0.1,
        "plan_every_seconds": 3600,
        "lease_seconds": 10,
        "max_in_flight": max_in_flight,
        "batch_size": 50,
        "retry_backoff_seconds": [0.2, 0.5],
        "rates": {"telegram": {"per_second": per_second, "per_chat_per_second": 1, "burst": 1}},
    }
    settings.update(reminders)
    return write_config(
        path,
        {
            "database": {"url": db_url},
            "telegram": {
                "api_base_url": tg.api_base_url,
                "api_file_url": tg.file_base_url,
                "bot_username": tg.username,
                "poll_timeout": 1,
                # Several instances serve one bot in webhook mode (Telegram allows one poller).
                "mode": mode,
                "webhook_port": 0,
                "request_timeout": request_timeout,
            },
            "reminders": settings,
            "ops": {"http_enabled": False, "shutdown_grace_seconds": 5},
        },
    )


@dataclass
class BotProcess:
    """`python -m tests.faults.bot_process` as a child: start it, kill it, wait for it."""

    config: Path
    token: str
    log: Path
    retry_window: float = 0.0
    process: asyncio.subprocess.Process | None = None
    lines: list[str] = field(default_factory=list)

    async def start(
        self, clock_start: dt.datetime, *, epoch: float | None = None, extra_env: dict[str, str] | None = None
    ) -> None:
        """Start the bot with its clock reading `clock_start` at Unix time `epoch` (default: now)."""
        epoch = time.time() if epoch is None else epoch
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NHACVIEC_", "TELEGRAM_", "ZALO_"))}
        env.update(
            {
                "TELEGRAM_BOT_TOKEN": self.token,
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "PYTHONPATH": str(REPO),
            },
            **(extra_env or {}),
        )
        with self._open_log() as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.faults.bot_process",
                str(self.config),
                clock_start.isoformat(),
                repr(epoch),
                str(self.retry_window),
                cwd=REPO,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )

    def _open_log(self):
        return open(self.log, "ab")  # noqa: SIM115 - closed by the caller's with

    async def expect(self, line: str, within: float = 60.0) -> None:
        async with asyncio.timeout(within):
            while True:
                raw = await self.process.stdout.readline()
                if not raw:
                    raise AssertionError(f"the bot ended before saying {line!r}; see {self.log}")
                self.lines.append(raw.decode().strip())
                if self.lines[-1] == line:
                    return

    def terminate(self) -> None:
        """What systemd sends on stop: SIGTERM."""
        self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """kill -9: no handler runs, no transaction finishes, no lease is released."""
        self.process.send_signal(signal.SIGKILL)

    async def wait(self, within: float = 120.0) -> int:
        async with asyncio.timeout(within):
            await self.process.stdout.read()
            return await self.process.wait()

    async def ensure_dead(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


def messages_by_chat(tg: TelegramEmulator) -> dict[int, list[str]]:
    """What each person received: the text of every message the bot got through to them."""
    received: dict[int, list[str]] = {}
    for message in tg.sent:
        received.setdefault(message.chat_id, []).append(message.text)
    return received


@dataclass
class Tally:
    """What people received, against what they should have."""

    expected_chats: int
    reached: int  # chats that got at least one reminder
    duplicates: int  # messages beyond the first in a chat
    unrecognisable_duplicates: int  # repeated messages that do not carry the same reference
    references: Counter  # how often each reference was seen

    @property
    def lost(self) -> int:
        return self.expected_chats - self.reached


def tally(tg: TelegramEmulator, chats: list[int]) -> Tally:
    received = messages_by_chat(tg)
    duplicates = unrecognisable = 0
    references: Counter = Counter()
    for chat in chats:
        texts = received.get(chat, [])
        refs = [REFERENCE.search(text).group(0) if REFERENCE.search(text) else None for text in texts]
        references.update(r for r in refs if r)
        if len(texts) > 1:
            duplicates += len(texts) - 1
            # A repeat is recognisable when it carries the very reference of the first one.
            unrecognisable += sum(1 for r in refs[1:] if r is None or r != refs[0])
    reached = sum(1 for chat in chats if received.get(chat))
    return Tally(len(chats), reached, duplicates, unrecognisable, references)


def most_in_any_second(instants: list[float], window: float = 1.0) -> int:
    """The largest number of instants (seconds, any origin) inside any window of `window` seconds."""
    ordered = sorted(instants)
    best = start = 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best
