"""Several webhook instances on one database answer one burst of Telegram updates, behind a balancer.

Each instance is `nhacviec run --transport telegram` in webhook mode, its own process, on its own
port; Telegram (the emulator) posts every update to one public URL, where a round-robin balancer
hands it to the next instance — as a load balancer in front of a province's instances would. Some
updates are handed to two instances at once, as when Telegram re-delivers an update whose answer
timed out and the balancer sends the retry elsewhere: the one that comes second must neither store
it again nor answer it again.

What is read afterwards is what people and the database show: one reply per update sent (none lost,
none twice) and one stored progress update per one-line update sent. Sized by the caller: small in
tests/faults/test_instances.py, full size in bench/bench_instances.py.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import func, select

from storage.models import ProgressUpdate
from tests.emulators.telegram import TelegramEmulator
from tests.faults.harness import REPO, WEBHOOK_SECRET, seed_crowd_bulk, write_config

WEBHOOK_PATH = "/telegram"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reports_mix(n: int) -> str:
    """What focal points send most: half one-line updates (a write), a quarter task lists, a quarter help."""
    kind = n % 4
    if kind in (0, 1):
        return f"/capnhat 1 đang thực hiện đã làm xong phần {n}"
    if kind == 2:
        return "/nhiemvu"
    return "/trogiup"


def is_report(text: str) -> bool:
    return text.startswith("/capnhat ")


class Balancer:
    """Round robin over the instances' webhook listeners; every `twice_every`-th update also goes to
    the next instance, at the same time (0: never)."""

    def __init__(self, backends: list[str], twice_every: int = 0):
        self.backends = backends
        self.twice_every = twice_every
        self.url = ""
        self.forwarded = 0  # calls made to instances
        self.sent_twice: list[int] = []  # update ids handed to two instances
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._answered = asyncio.Condition()
        self.updates_answered = 0

    async def __aenter__(self) -> Balancer:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post(WEBHOOK_PATH, self._on_update)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()
        await self._session.close()

    async def _on_update(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {
            key: value for key, value in request.headers.items() if key.lower().startswith("x-telegram")
        }
        headers["Content-Type"] = "application/json"
        turn = next(self._turn)
        targets = [self.backends[turn % len(self.backends)]]
        if self.twice_every and len(self.backends) > 1 and turn % self.twice_every == 0:
            targets.append(self.backends[(turn + 1) % len(self.backends)])
            self.sent_twice.append(turn)
        answers = await asyncio.gather(*(self._forward(url, body, headers) for url in targets))
        self.forwarded += len(targets)
        async with self._answered:
            self.updates_answered += 1
            self._answered.notify_all()
        return web.Response(status=answers[0])

    async def wait_answered(self, updates: int, within: float) -> None:
        """Until every instance called for the first `updates` updates has answered."""
        async with asyncio.timeout(within), self._answered:
            await self._answered.wait_for(lambda: self.updates_answered >= updates)

    async def _forward(self, url: str, body: bytes, headers: dict) -> int:
        async with self._session.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status


class Instance:
    """`nhacviec run --transport telegram` in webhook mode, listening on `port`."""

    def __init__(self, config: Path, token: str, port: int, log: Path):
        self.config, self.token, self.port, self.log = config, token, port, log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NHACVIEC_", "TELEGRAM_", "ZALO_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=self.token,
            TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
            NHACVIEC_CONFIG=str(self.config),
            PYTHONPATH=str(REPO),
        )
        with self._open_log() as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                "import sys; from bot.entry import main; sys.exit(main())",  # as the installed program starts
                "run",
                "--transport",
                "telegram",
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=log,
            )

    def _open_log(self):
        return open(self.log, "ab")  # noqa: SIM115 - closed by the caller's with

    async def wait_ready(self, within: float = 60.0) -> None:
        """Its webhook listener answers (it serves /healthz beside the webhook)."""
        async with asyncio.timeout(within), aiohttp.ClientSession() as session:
            while True:
                if self.process.returncode is not None:
                    raise AssertionError(f"an instance ended at start-up; see {self.log}")
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        await response.read()
                        return
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)

    def cpu_seconds(self) -> float:
        """CPU time the process has used so far (Linux)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> int:
        """SIGTERM, as systemd stops it: the updates it has taken are handled before it exits."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(60):
                return await self.process.wait()
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()


@dataclass
class UpdatesResult:
    instances: int
    updates: int  # updates sent by the people
    sent_twice: int  # of them, handed to two instances
    replies: int
    lost: int  # updates without a reply
    duplicates: int  # replies beyond one per update
    reports_sent: int  # one-line updates sent
    reports_stored: int  # progress updates in the database
    seconds: float  # from the first update sent to the last reply
    cpu_seconds: list[float]  # each instance's, over the same span
    exit_codes: list[int]
    log_text: str = field(repr=False, default="")

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds


def instance_config(path: Path, db_url: str, tg: TelegramEmulator, port: int, public_url: str) -> Path:
    return write_config(
        path,
        {
            "database": {"url": db_url},
            "telegram": {
                "api_base_url": tg.api_base_url,
                "api_file_url": tg.file_base_url,
                "bot_username": tg.username,
                "mode": "webhook",
                "webhook_listen": "127.0.0.1",
                "webhook_port": port,
                "webhook_url": public_url,
                "request_timeout": 10.0,
            },
            # Updates alone: the reminder engine's ticks would add their own work at random times.
            # No sending budget: the instances' own cost is measured, not Telegram's quota. (Even
            # lifted to 10,000/s, the budget makes each reply reserve its slot in one shared row, and
            # on a loaded machine that commit on PostgreSQL often outlasts the 20 ms a slot stays
            # usable: replies then wait a second and try again — see scheduler/ratelimit.py.)
            "reminders": {
                "enabled": False,
                "rates": {"telegram": {"per_second": 0, "per_chat_per_second": 0}},
            },
            "logging": {"level": "WARNING"},
            "ops": {"http_enabled": False, "shutdown_grace_seconds": 20},
            "web": {"enabled": False},
        },
    )


async def fleet_updates(
    db, workdir: Path, *, members: int, burst: int, instances: int, twice_every: int = 0
) -> UpdatesResult:
    """`instances` webhook instances on `db` answer a burst of `burst` updates from `members` focal
    points (the reports mix), sent all at once."""
    async with TelegramEmulator() as tg:
        chats = await seed_crowd_bulk(db, tg, members)
        users = [tg.chats[chat].user for chat in chats]
        ports = [free_port() for _ in range(instances)]
        async with Balancer([f"http://127.0.0.1:{port}{WEBHOOK_PATH}" for port in ports], twice_every) as lb:
            fleet = [
                Instance(
                    instance_config(workdir / f"instance-{n}.toml", db.url, tg, port, lb.url),
                    tg.token,
                    port,
                    workdir / f"instance-{n}.log",
                )
                for n, port in enumerate(ports, start=1)
            ]
            codes: list[int] = []
            try:
                for instance in fleet:
                    await instance.start()
                for instance in fleet:
                    await instance.wait_ready()
                await tg.wait_for(lambda: tg.webhook is not None and tg.webhook.url == lb.url, within=60)
                texts = [reports_mix(n) for n in range(burst)]
                cpu_before = [instance.cpu_seconds() for instance in fleet]
                started = time.monotonic()
                for n, text in enumerate(texts):
                    await tg.send_text(users[n % len(users)], text)
                await tg.wait_for(lambda: len(tg.sent) >= burst, within=max(120, burst / 2))
                seconds = time.monotonic() - started
                cpu = [
                    instance.cpu_seconds() - before
                    for instance, before in zip(fleet, cpu_before, strict=True)
                ]
                # Every call made to an instance has been answered: what was handed to two is queued in both.
                await lb.wait_answered(burst, within=60)
            finally:
                # A graceful stop handles what each instance has queued, so a late second answer shows.
                codes = [await instance.stop() for instance in fleet if instance.process is not None]
        async with db.snapshot() as session:
            stored = await session.scalar(select(func.count()).select_from(ProgressUpdate))
        sent_per_chat = {chat: 0 for chat in chats}
        for n in range(burst):
            sent_per_chat[chats[n % len(chats)]] += 1
        replies_per_chat = {chat: len(tg.sent_to(chat)) for chat in chats}
        lost = sum(max(0, sent_per_chat[c] - replies_per_chat[c]) for c in chats)
        duplicates = sum(max(0, replies_per_chat[c] - sent_per_chat[c]) for c in chats)
        return UpdatesResult(
            instances=instances,
            updates=burst,
            sent_twice=len(lb.sent_twice),
            replies=len(tg.sent),
            lost=lost,
            duplicates=duplicates,
            reports_sent=sum(1 for text in texts if is_report(text)),
            reports_stored=stored,
            seconds=seconds,
            cpu_seconds=cpu,
            exit_codes=codes,
            log_text="\n".join(i.log.read_text(encoding="utf-8", errors="replace") for i in fleet),
        )
