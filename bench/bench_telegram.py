"""Updates per second and reply latency of the Telegram bot, through the real HTTP stack.

The bot runs as in production (`nhacviec run --transport telegram`: its own process, PTB, the chat
core, a real SQLite file) against the Bot API emulator on 127.0.0.1, which plays 300 registered
focal points. In polling and then in webhook mode, for two mixes of messages:

* reports: what focal points send most: half one-line progress updates (`/capnhat 2 đang thực
  hiện …`, a database write), a quarter task lists (`/nhiemvu`), a quarter help;
* help: `/trogiup` only, the lightest answer the core gives: what the Telegram stack costs around it.

For each: the capacity (a burst of updates queued at once, updates handled per second until the
last reply), the CPU time per update of the bot process, of the chat core alone (same messages,
no Telegram) and of the emulator (this process: Telegram's side), and the latency (from the user
sending an update to the bot's reply reaching Telegram) at the target rate and at half the
measured capacity. Every figure is the median of `--runs` runs.
Beside it, in the same run and against the same emulator, a bare PTB echo bot (bench/ptb_echo.py)
takes the same bursts: nhacviec's throughput is printed as a ratio of it (target >= 0.7×).
Telegram lets a bot send about 30 messages a second (1,000 with paid broadcasts) and one a second
to a chat; `[reminders.rates.telegram]` enforces that in production for replies and reminders
alike, so here it is raised to 10,000/s (no per-chat limit) to measure nhacviec's own cost rather
than Telegram's quota. The reminder engine is off, so its ticks do not land at random
in the measurement. Target: >= 300 updates/s with p99 < 50 ms.

The machine is shared: the load average is printed with the figures, and the CPU time per update
is the figure least disturbed by other work. Telegram's side (the emulator, the users sending)
runs in this process on the same machine; `--pin` puts the bot (and the bare PTB bot) on one core
and this process on another, as when Telegram is not on the bot's machine, so that the latency is
the bot's own and not the emulator's competing for its core (the bot's database thread then shares
that one core too).

    python bench/bench_telegram.py [--members N] [--burst N] [--rate R] [--seconds S] [--runs N]
                                   [--modes polling,webhook] [--mixes reports,help] [--pin]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
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
from bot.core.messages import Incoming  # noqa: E402
from bot.core.service import Core  # noqa: E402
from storage.models.people import FOCAL  # noqa: E402
from tests.emulators.telegram import TelegramEmulator  # noqa: E402
from tests.factories import SectionSpec, make_member, make_plan  # noqa: E402

TARGET_RATE = 300
TARGET_P99_MS = 50
TARGET_PEER_RATIO = 0.7  # nhacviec's throughput over a bare PTB echo bot's, for the realistic mix
TASKS_PER_AGENCY = 5
WEBHOOK_SECRET = "bench-webhook-secret"


def write_config(directory: Path, emulator: TelegramEmulator, mode: str) -> Path:
    path = directory / f"bench-{mode}.toml"
    path.write_text(
        f"""
[database]
url = "sqlite+aiosqlite:///{directory / f"bench-{mode}.db"}"

[telegram]
bot_username = "{emulator.username}"
api_base_url = "{emulator.api_base_url}"
api_file_url = "{emulator.file_base_url}"
mode = "{mode}"
webhook_listen = "127.0.0.1"
webhook_port = 0
request_timeout = 10.0
poll_timeout = 10
concurrent_updates = 16

[logging]
level = "WARNING"

[ops]
http_enabled = false

[web]
# The dashboard runs in the bot process as in production, on a port of its own.
port = {free_port()}

[reminders]
# The chat path is measured alone: the engine's ticks would add their own writes at random times.
enabled = false

[reminders.rates.telegram]
# Every reply draws on this budget (shared through the database). Telegram's own (29/s, one a
# second per chat) would measure Telegram's quota, not nhacviec's cost: raised as for the echo bot,
# which has no limiter, but still drawn on, so its database reservations are counted.
per_second = 10000
per_chat_per_second = 0
""",
        encoding="utf-8",
    )
    return path


async def seed(config_path: Path, members: int) -> list[int]:
    """A plan with one agency per focal point, TASKS_PER_AGENCY tasks each; the focal points' Telegram ids."""
    app = await open_app(load_config(config_path, env={}))
    # One focal point per agency, as the schema requires: as many agencies as members.
    sections = [
        SectionSpec(
            f"Sở Thử nghiệm số {n}", [f"Nhiệm vụ {t} của sở {n}" for t in range(1, TASKS_PER_AGENCY + 1)]
        )
        for n in range(1, members + 1)
    ]
    ids = [700_000 + n for n in range(members)]
    try:
        async with app.db.transaction() as session:
            # A plan of this year, followed today, as the plans focal points report on are: an
            # ended one would measure the path of someone writing about a plan no longer followed.
            year = app.clock.now().astimezone(app.config.tz).year
            built = await make_plan(
                session, sections, year=year, deadlines=(f"{year}-06-20", f"{year}-11-20")
            )
            agencies = list(built.agencies.values())
            for n, user_id in enumerate(ids):
                await make_member(
                    session,
                    f"Đầu mối {n}",
                    role=FOCAL,
                    agency=agencies[n % len(agencies)],
                    platform="telegram",
                    user_id=str(user_id),
                )
    finally:
        await app.close()
    return ids


def reports_mix(n: int) -> str:
    """What focal points send most: half one-line updates (a write), a quarter task lists, a quarter help."""
    kind = n % 4
    if kind in (0, 1):
        return f"/capnhat {n % TASKS_PER_AGENCY + 1} đang thực hiện đã làm xong phần {n}"
    if kind == 2:
        return "/nhiemvu"
    return "/trogiup"


def help_only(n: int) -> str:
    """The lightest answer the core gives: what the Telegram stack costs around it."""
    return "/trogiup"


MIXES = {"reports": reports_mix, "help": help_only}


class Bot:
    """The bot in its own process, as `make run` starts it."""

    def __init__(
        self,
        config: Path | None,
        token: str,
        command: list[str] | None = None,
        cores: set[int] | None = None,
    ):
        self.config = config
        self.token = token
        # The cores it runs on (`--pin`); None: wherever the system puts it.
        self.cores = cores
        # The installed program itself (it starts again as `python -OO`, bot/entry.py).
        self.command = command or [
            str(Path(sys.executable).with_name("nhacviec")),
            "run",
            "--transport",
            "telegram",
        ]
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, emulator: TelegramEmulator) -> None:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": self.token,
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "NHACVIEC_CONFIG": str(self.config),
        }
        cores = self.cores
        # Set in the child before it runs anything: the program restarts itself (bot/entry.py) and
        # starts the database's thread, and all of it keeps the cores.
        pin = (lambda: os.sched_setaffinity(0, cores)) if cores else None
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, *self.command, env=env, cwd=REPO, preexec_fn=pin
        )

        def ready() -> bool:
            if emulator.webhook is not None:
                return True
            return bool(emulator.calls_to("getUpdates"))

        await emulator.wait_for(ready, within=60)

    def cpu_seconds(self) -> float | None:
        """CPU time the bot process has used so far (Linux), to tell its cost from the machine's load."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, AttributeError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def send_all(
    emulator: TelegramEmulator, users, plan: list[tuple[int, str]], rate: float | None
) -> dict:
    """Send plan[i] = (user index, text); return update id → (chat id, time sent)."""
    sent: dict[int, tuple[int, float]] = {}
    started = time.monotonic()
    for i, (who, text) in enumerate(plan):
        if rate is not None:
            due = started + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        user = users[who]
        at = time.monotonic()
        update = await emulator.send_text(user, text)
        sent[update["update_id"]] = (user.id, at)
    return sent


def latencies(emulator: TelegramEmulator, sent: dict, baseline: dict[int, int]) -> list[float]:
    """Each update's reply is the next message to its chat (a chat's updates are handled in order,
    and every message of the mix gets exactly one reply)."""
    by_chat: dict[int, list[float]] = {}
    for update_id in sorted(sent):
        chat, at = sent[update_id]
        by_chat.setdefault(chat, []).append(at)
    result = []
    for chat, times in by_chat.items():
        replies = emulator.sent_to(chat)[baseline.get(chat, 0) :]
        for at, reply in zip(times, replies, strict=False):
            result.append((reply.received_at - at) * 1000)
    return result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def measure(emulator, users, updates: list[tuple[int, str]], rate: float | None, bot: Bot) -> dict:
    """Send the updates (all at once, or at `rate` per second) and wait for every reply."""
    baseline = {u.id: len(emulator.sent_to(u.id)) for u in users}
    before = len(emulator.sent)
    cpu_before = bot.cpu_seconds()
    own_before = time.process_time()
    started = time.monotonic()
    sent = await send_all(emulator, users, updates, rate)
    await emulator.wait_for(lambda: len(emulator.sent) >= before + len(updates), within=600)
    elapsed = time.monotonic() - started
    own_cpu = time.process_time() - own_before
    delays = latencies(emulator, sent, baseline)
    cpu_after = bot.cpu_seconds()
    return {
        "per_second": len(updates) / elapsed,
        "cpu_ms": (cpu_after - cpu_before) * 1000 / len(updates) if cpu_before is not None else None,
        # The emulator runs in this process: its CPU is what Telegram's side costs on this machine.
        "emulator_cpu_ms": own_cpu * 1000 / len(updates),
        "median": statistics.median(delays),
        "p90": percentile(delays, 0.90),
        "p99": percentile(delays, 0.99),
        "extra": len(emulator.sent) - before - len(updates),
    }


@contextlib.asynccontextmanager
async def warmed_core(directory: Path, members: int, prefix: str):
    """The chat core on a database of its own (`members` focal points seeded), each member having
    written once, as the bot is after its warm-up: (app, core, member ids)."""
    own = Path(tempfile.mkdtemp(prefix=prefix, dir=directory))
    async with TelegramEmulator() as placeholder:
        config = write_config(own, placeholder, "polling")
    ids = await seed(config, members)
    app = await open_app(load_config(config, env={}))
    core = Core(app)
    try:
        for n, user_id in enumerate(ids):  # the same warm-up as the bot gets
            await core.handle(_incoming(user_id, "/trogiup", f"w{n}"))
        yield app, core, ids
    finally:
        await app.close()


async def core_alone(directory: Path, members: int, mix, count: int) -> float:
    """CPU milliseconds per update of the chat core by itself (same data, same messages, no
    Telegram), so that the Telegram stack's share of the bot's CPU is a difference, not a guess."""
    async with warmed_core(directory, members, f"core-{mix.__name__}-") as (_app, core, ids):
        started = time.process_time()
        for n in range(count):
            await core.handle(_incoming(ids[n % len(ids)], mix(n), f"m{n}"))
        return (time.process_time() - started) * 1000 / count


def _incoming(user_id: int, text: str, key: str) -> Incoming:
    chat = str(user_id)
    return Incoming(
        "telegram", chat, chat, "Đầu mối", text, message_id=key, update_key=key, language_hint="vi"
    )


def _median(runs: list[dict], key: str) -> float | None:
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


async def run_mode(
    mode: str, args, directory: Path, core_cpu: dict[str, float], peers: dict[str, dict] | None
) -> list[str]:
    lines = []
    async with TelegramEmulator() as emulator:
        config = write_config(directory, emulator, mode)
        ids = await seed(config, args.members)
        users = [emulator.user(user_id, f"Đầu mối {n}") for n, user_id in enumerate(ids)]
        bot = Bot(config, emulator.token, cores=args.bot_cores)
        await bot.start(emulator)
        try:
            # Warm-up: every user once (first contact loads their member row and chat state).
            await measure(emulator, users, [(n, "/trogiup") for n in range(len(users))], None, bot)
            for name in args.mixes.split(","):
                mix = MIXES[name]
                bursts, at_target, at_half = [], [], []
                for _ in range(args.runs):
                    burst = await measure(
                        emulator, users, [(n % len(users), mix(n)) for n in range(args.burst)], None, bot
                    )
                    bursts.append(burst)
                    for rate, results in ((args.rate, at_target), (round(burst["per_second"] / 2), at_half)):
                        count = max(1, int(rate * args.seconds))
                        steady = await measure(
                            emulator, users, [(n % len(users), mix(n + 1)) for n in range(count)], rate, bot
                        )
                        results.append({**steady, "rate": rate})
                lines += _report(mode, name, args, bursts, at_target, at_half, core_cpu.get(name))
                if peers is not None:
                    lines += _against_peer(mode, name, bursts, peers[name])
        finally:
            await bot.stop()
    return lines


async def bare_ptb(args, mix) -> dict:
    """The same burst, the same emulator, answered by the smallest PTB application (bench/ptb_echo.py:
    poll, echo each text): what python-telegram-bot costs with nothing of nhacviec around it."""
    async with TelegramEmulator() as emulator:
        users = [emulator.user(700_000 + n, f"Đầu mối {n}") for n in range(args.members)]
        peer = Bot(
            None,
            emulator.token,
            [str(REPO / "bench" / "ptb_echo.py"), emulator.api_base_url],
            cores=args.bot_cores,
        )
        await peer.start(emulator)
        try:
            await measure(emulator, users, [(n, "/trogiup") for n in range(len(users))], None, peer)
            bursts = [
                await measure(
                    emulator, users, [(n % len(users), mix(n)) for n in range(args.burst)], None, peer
                )
                for _ in range(args.runs)
            ]
        finally:
            await peer.stop()
    return {
        "per_second": _median(bursts, "per_second"),
        "cpu_ms": _median(bursts, "cpu_ms"),
        "runs": [burst["per_second"] for burst in bursts],
    }


def _against_peer(mode, name, bursts, peer) -> list[str]:
    head = f"{mode:<8} {name:<8}"
    capacity, cpu_ms = _median(bursts, "per_second"), _median(bursts, "cpu_ms")
    runs = ", ".join(f"{value:.0f}" for value in peer["runs"])
    line = (
        f"{head} bare PTB echo, same burst and emulator: {peer['per_second']:5.0f} updates/s (runs: {runs})"
    )
    if peer["cpu_ms"] is not None:
        line += f", CPU per update {peer['cpu_ms']:.2f} ms"
    ratio = capacity / peer["per_second"]
    verdict = "met" if ratio >= TARGET_PEER_RATIO else "NOT met"
    lines = [
        line,
        f"{head} nhacviec / bare PTB: throughput {ratio:.2f}× (target >= {TARGET_PEER_RATIO}×: {verdict})",
    ]
    if cpu_ms is not None and peer["cpu_ms"]:
        lines[-1] += f", CPU per update {cpu_ms / peer['cpu_ms']:.2f}×"
    return lines


def _report(mode, name, args, bursts, at_target, at_half, core_ms) -> list[str]:
    head = f"{mode:<8} {name:<8}"
    capacity = _median(bursts, "per_second")
    runs = ", ".join(f"{burst['per_second']:.0f}" for burst in bursts)
    lines = [f"{head} capacity {capacity:5.0f} updates/s (median of {len(bursts)} runs: {runs})"]
    bot_ms, emulator_ms = _median(bursts, "cpu_ms"), _median(bursts, "emulator_cpu_ms")
    if bot_ms is not None:
        stack = f" = chat core {core_ms:.1f} + Telegram stack {bot_ms - core_ms:.1f}" if core_ms else ""
        lines.append(
            f"{head} CPU per update: bot process {bot_ms:.1f} ms{stack} (one core's ceiling: "
            f"{1000 / bot_ms:.0f} updates/s); emulator, Telegram's side: {emulator_ms:.1f} ms"
        )
    for label, results in (("target", at_target), ("half capacity", at_half)):
        median, p90, p99 = (_median(results, key) for key in ("median", "p90", "p99"))
        rate = _median(results, "rate")
        line = (
            f"{head} offered {rate:4.0f}/s ({label}): reply latency median {median:7.1f} ms, "
            f"p90 {p90:7.1f} ms, p99 {p99:7.1f} ms"
        )
        if label == "target":
            met = capacity >= TARGET_RATE and p99 < TARGET_P99_MS
            line += (
                f" | target >= {TARGET_RATE}/s with p99 < {TARGET_P99_MS} ms: {'met' if met else 'NOT met'}"
            )
        lines.append(line)
        extra = max(result["extra"] for result in results)
        if extra:
            lines.append(f"  ({extra} more messages than updates: a reply split in several)")
    return lines


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--burst", type=int, default=1500, help="updates sent at once to measure capacity")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="updates per second offered")
    parser.add_argument("--seconds", type=float, default=5, help="how long each steady rate is offered")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement; medians are printed")
    parser.add_argument("--modes", default="polling,webhook")
    parser.add_argument("--mixes", default="reports,help")
    parser.add_argument("--no-peer", action="store_true", help="skip the bare PTB echo bot")
    parser.add_argument(
        "--pin", action="store_true", help="the bots on one core, Telegram's side (this process) on another"
    )
    args = parser.parse_args()

    print(f"machine: {machine()}")
    args.bot_cores = None
    if args.pin:
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) < 2:
            print("--pin needs two cores: not pinned")
        else:
            args.bot_cores = {cores[0]}
            os.sched_setaffinity(0, {cores[1]})
            print(f"pinned: the bots on core {cores[0]}, Telegram's side on core {cores[1]}")
    print(
        f"{args.members} focal points; capacity from a burst of {args.burst} updates; latency (update sent by "
        f"the user -> reply received by Telegram) at {args.rate:g}/s and at half the capacity, {args.seconds:g} s each"
    )
    with tempfile.TemporaryDirectory(prefix="nhacviec-bench-") as tmp:
        core_cpu = {}
        for name in args.mixes.split(","):
            runs = [
                await core_alone(Path(tmp), args.members, MIXES[name], args.burst) for _ in range(args.runs)
            ]
            core_cpu[name] = statistics.median(runs)
            print(
                f"core     {name:<8} the chat core alone, CPU per update: {core_cpu[name]:.1f} ms "
                f"(runs: {', '.join(f'{cpu:.1f}' for cpu in runs)})",
                flush=True,
            )
        peers = None
        if not args.no_peer:
            peers = {name: await bare_ptb(args, MIXES[name]) for name in args.mixes.split(",")}
        for mode in args.modes.split(","):
            for line in await run_mode(mode, args, Path(tmp), core_cpu, peers):
                print(line, flush=True)
        print(f"after: {machine()}")
    # Figures are for reading; a missed target is printed, not an error (the suite never asserts timings).
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
