"""What `nhacviec run` costs to start and to keep running, beside a bare python-telegram-bot echo
bot started the same way in the same run.

Both poll the Bot API emulator on 127.0.0.1. nhacviec runs as `make run` runs it with a token
(`nhacviec run --transport telegram`: the chat core, the reminder engine, the web dashboard) on a
real SQLite file holding the reference plan (the sample plan where it is absent) and 100 focal
points. For each process: the time from spawn to its first getUpdates (ready), then, after it has
idled a few seconds, its resident memory and the anonymous part of it (/proc/PID/status). The
processes start from compiled bytecode, as an installed program does. Medians
of several runs; the ratio is nhacviec's figure over the peer's.
Targets: ready within 1.0 s, idle resident < 90 MB, anonymous < 70 MB.

    python bench/bench_footprint.py [--runs N] [--idle SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.machine import free_port, machine  # noqa: E402
from bot.app import open_app  # noqa: E402
from bot.config import load_config  # noqa: E402
from storage.models.people import FOCAL  # noqa: E402
from storage.plans.importer import import_plan_file  # noqa: E402
from tests.emulators.telegram import TelegramEmulator  # noqa: E402
from tests.factories import make_agency, make_member  # noqa: E402

REFERENCE = REPO.parent / "shared" / "plans" / "ke-hoach-87-KH-UBND-2020.txt"
SAMPLE = REPO / "storage" / "samples" / "ke-hoach-mau.txt"
MEMBERS = 100
TARGET_READY_S = 1.0
TARGET_RSS_MB = 90
TARGET_ANON_MB = 70


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


def cpu_seconds(pid: int) -> float:
    """User and system CPU the process has used so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory(pid: int) -> tuple[float, float]:
    """Resident and anonymous memory in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _sep, value = line.partition(":")
        if name in ("VmRSS", "RssAnon"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["RssAnon"]


async def seed(directory: Path, emulator: TelegramEmulator) -> Path:
    config = directory / "footprint.toml"
    config.write_text(
        f"""
[database]
url = "sqlite+aiosqlite:///{directory / "footprint.db"}"

[telegram]
api_base_url = "{emulator.api_base_url}"
api_file_url = "{emulator.file_base_url}"
poll_timeout = 10

[ops]
http_port = {free_port()}

[web]
port = {free_port()}

[logging]
level = "WARNING"
""",
        encoding="utf-8",
    )
    app = await open_app(load_config(config, env={}))
    try:
        async with app.db.transaction() as session:
            report = await import_plan_file(session, REFERENCE if REFERENCE.exists() else SAMPLE)
        from sqlalchemy import select

        from storage.models import Agency, Plan

        async with app.db.transaction() as session:
            plan = await session.scalar(select(Plan).where(Plan.number == report.number))
            agencies = list(await session.scalars(select(Agency).order_by(Agency.id)))
            # One focal point per agency (the schema allows no more): the plan's agencies first,
            # then wards of the registry with no task in this plan.
            while len(agencies) < MEMBERS:
                agencies.append(await make_agency(session, f"Phường Thử nghiệm {len(agencies) + 1}"))
            for n in range(MEMBERS):
                await make_member(
                    session,
                    f"Đầu mối {n}",
                    role=FOCAL,
                    agency=agencies[n],
                    platform="telegram",
                    user_id=str(800_000 + n),
                )
            assert plan is not None
    finally:
        await app.close()
    return config


class PollWatch(TelegramEmulator):
    """The emulator, noting when each getUpdates arrives: its own call list records a call when it
    is answered, and an empty long poll is answered only at its timeout."""

    def __init__(self) -> None:
        super().__init__()
        self.polled = asyncio.Event()
        self.first_poll_at = 0.0
        self.first_poll_cpu = 0.0
        self.watched_pid: int | None = None

    async def _api_getUpdates(self, params, uploads, arrived):
        if not self.polled.is_set():
            self.first_poll_at = arrived
            # Read here, as the call arrives: by the time the waiting benchmark runs again, the
            # process has gone on with what it does after its first poll.
            self.first_poll_cpu = cpu_seconds(self.watched_pid) if self.watched_pid else 0.0
            self.polled.set()
        return await super()._api_getUpdates(params, uploads, arrived)


async def measure(
    command: list[str], emulator: PollWatch, idle: float, log: Path
) -> tuple[float, float, float, float]:
    """Ready (s), idle resident and anonymous memory (MB), CPU spent until ready (s)."""
    env = dict(os.environ, TELEGRAM_BOT_TOKEN=emulator.token)
    # As installed, a program starts from its compiled bytecode; a shell that forbids writing it
    # would make every start recompile nhacviec's own modules (seconds of CPU, not the program's).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    emulator.polled.clear()
    began = time.monotonic()
    # stderr to a file, not a pipe nobody reads while the process runs (a full pipe stalls it).
    with log.open("wb") as errors:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, cwd=REPO, stdout=asyncio.subprocess.DEVNULL, stderr=errors
        )
    emulator.watched_pid = process.pid
    try:
        try:
            async with asyncio.timeout(30):
                await emulator.polled.wait()
        except TimeoutError:
            raise RuntimeError(f"{command[0]} never polled: {tail(log)}") from None
        cpu_ready = emulator.first_poll_cpu
        await asyncio.sleep(idle)
        rss, anon = memory(process.pid)
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
    return emulator.first_poll_at - began, rss, anon, cpu_ready


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds idle before memory is read")
    args = parser.parse_args()
    python = sys.executable
    results: dict[str, list[tuple[float, float, float, float]]] = {"nhacviec": [], "bare PTB": []}
    compileall.compile_dir(REPO / "bot", quiet=1, optimize=[0, 2])
    compileall.compile_dir(REPO / "storage", quiet=1, optimize=[0, 2])
    compileall.compile_dir(REPO / "scheduler", quiet=1, optimize=[0, 2])
    with tempfile.TemporaryDirectory() as tmp:
        async with PollWatch() as emulator:
            config = await seed(Path(tmp), emulator)
            commands = {
                "nhacviec": [
                    str(Path(python).with_name("nhacviec")),
                    "--config",
                    str(config),
                    "run",
                    "--transport",
                    "telegram",
                ],
                "bare PTB": [python, str(REPO / "bench" / "ptb_echo.py"), emulator.api_base_url],
            }
            for _ in range(args.runs):
                # Side by side: each run starts both, one after the other, on the same emulator.
                for name, command in commands.items():
                    results[name].append(
                        await measure(command, emulator, args.idle, Path(tmp) / "stderr.log")
                    )
    print(f"machine: {machine()}")
    medians = {
        name: tuple(statistics.median(run[i] for run in runs) for i in range(4))
        for name, runs in results.items()
    }
    for name, (ready, rss, anon, cpu) in medians.items():
        print(
            f"{name}: ready {ready:.2f} s ({cpu:.2f} s CPU), idle resident {rss:.0f} MB,"
            f" anonymous {anon:.0f} MB (medians of {args.runs} runs)"
        )
    (ready, rss, anon, cpu), (peer_ready, peer_rss, peer_anon, peer_cpu) = (
        medians["nhacviec"],
        medians["bare PTB"],
    )
    print(
        f"nhacviec / bare PTB: ready {ready / peer_ready:.2f}× (CPU {cpu / peer_cpu:.2f}×), resident"
        f" {rss / peer_rss:.2f}×, anonymous {anon / peer_anon:.2f}×; targets: ready < {TARGET_READY_S} s,"
        f" resident < {TARGET_RSS_MB} MB, anonymous < {TARGET_ANON_MB} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
