"""The fault scenarios, sized by the caller: small in the test suite, full size in bench/."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from bot.app import App
from bot.config import Config
from bot.core.messages import Incoming
from bot.core.service import Core
from scheduler.clock import ManualClock
from storage.models import Identity, Member
from storage.models.people import COORDINATOR
from storage.models.reminders import CLAIMED, SENT, Reminder
from tests.emulators.telegram import TelegramEmulator
from tests.factories import make_member, make_plan
from tests.faults.bot_process import SEND_LOG
from tests.faults.harness import (
    FAN_OUT_AT,
    REFERENCE,
    BotProcess,
    Tally,
    bot_config,
    most_in_any_second,
    plan_at,
    seed_crowd,
    seed_crowd_bulk,
    statuses,
    tally,
)


async def acked_chats(db) -> set[int]:
    """Chats whose reminder the bot has recorded as sent."""
    async with db.snapshot() as session:
        rows = await session.execute(
            select(Identity.chat_id)
            .join(Member, Member.id == Identity.member_id)
            .join(Reminder, Reminder.member_id == Member.id)
            .where(Reminder.status == SENT, Identity.platform == "telegram")
        )
        return {int(chat) for chat in rows.scalars()}


@dataclass
class CrashResult:
    size: int
    planned: int
    kills: int
    # Per crash: messages that had reached Telegram but were not yet recorded as sent when the
    # process died — the ones a restart may send again.
    in_flight_at_crash: list[int]
    tally: Tally
    statuses: Counter
    seconds: float
    restarts: int
    log_text: str = field(repr=False, default="")


async def crash_fan_out(
    db,
    db_url: str,
    workdir: Path,
    *,
    size: int,
    kills: int,
    seed: int = 87,
    max_in_flight: int = 1,
    per_second: float = 200,
) -> CrashResult:
    """Plan one reminder for each of `size` focal points, then run the bot as a child process and
    kill -9 it at `kills` random points of the fan-out, restarting it each time, until it finishes."""
    rng = random.Random(seed)
    async with TelegramEmulator() as tg:
        chats = await seed_crowd(db, tg, size)
        planned = await plan_at(db, FAN_OUT_AT)
        config = bot_config(
            workdir / "bot.toml", db_url, tg, per_second=per_second, max_in_flight=max_in_flight
        )
        lease = 10  # [reminders] lease_seconds in bot_config
        log = workdir / "bot.log"
        started = time.monotonic()
        # Each restart's clock is a lease later than the last: the killed process's claims have run
        # out, as they would have by the time a real supervisor restarted it.
        clock_skew = dt.timedelta(0)

        def clock_start() -> dt.datetime:
            return FAN_OUT_AT + dt.timedelta(seconds=time.monotonic() - started) + clock_skew

        points = sorted(rng.sample(range(1, size), kills))
        in_flight: list[int] = []
        restarts = 0
        for point in points:
            process = BotProcess(config, tg.token, log)
            first_of_run = len(tg.sent)
            await process.start(clock_start())
            restarts += 1
            try:
                threshold = max(point, len(tg.sent) + 1)
                await tg.wait_for(lambda threshold=threshold: len(tg.sent) >= threshold, within=120)
                process.kill()
                await process.wait()
            finally:
                await process.ensure_dead()
            # Let the emulator finish a request the dead process had already sent.
            await asyncio.sleep(0.05)
            # What this run got through to Telegram but had not recorded as sent. (Earlier crashes'
            # leftovers may still wait: the outbox sends them again after the fresh ones.)
            reached = {m.chat_id for m in tg.sent[first_of_run:]}
            in_flight.append(len(reached - await acked_chats(db)))
            clock_skew += dt.timedelta(seconds=lease + 1)
        final = BotProcess(config, tg.token, log)
        await final.start(clock_start())
        try:
            await final.expect("idle", within=300)
            code = await final.wait()
        finally:
            await final.ensure_dead()
        if code != 0:
            raise AssertionError(f"the last run ended with status {code}; see {log}")
        return CrashResult(
            size=size,
            planned=planned,
            kills=kills,
            in_flight_at_crash=in_flight,
            tally=tally(tg, chats),
            statuses=await statuses(db, FAN_OUT_AT),
            seconds=time.monotonic() - started,
            restarts=restarts,
            log_text=log.read_text(encoding="utf-8", errors="replace"),
        )


# ---------------------------------------------------------------- downtime

# Telegram chats of the downtime scenario's people (the default plan: three agencies).
COORDINATOR_CHAT = 1001
FOCAL_CHATS = {"Sở Thông tin và Truyền thông": 2001, "Sở Du lịch": 2002, "Sở Ngoại vụ": 2003}


async def seed_plan_people(db, tg: TelegramEmulator) -> None:
    """The default plan (deadline 20/6/2020), a focal point per agency and a coordinator, on Telegram."""
    async with db.transaction() as session:
        built = await make_plan(session)
        await make_member(session, "Hà", role=COORDINATOR, platform="telegram", user_id=str(COORDINATOR_CHAT))
        for agency, chat in FOCAL_CHATS.items():
            await make_member(
                session,
                f"Đầu mối {agency}",
                agency=built.agencies[agency],
                platform="telegram",
                user_id=str(chat),
            )
    tg.user(COORDINATOR_CHAT, "Hà")
    for agency, chat in FOCAL_CHATS.items():
        tg.user(chat, f"Đầu mối {agency}")


async def run_until_idle(config: Path, tg: TelegramEmulator, log: Path, at: dt.datetime) -> None:
    """Start the bot with its clock at `at` and let it run until it has nothing left to send."""
    process = BotProcess(config, tg.token, log)
    await process.start(at)
    try:
        await process.expect("idle", within=120)
        code = await process.wait()
    finally:
        await process.ensure_dead()
    if code != 0:
        raise AssertionError(f"the bot ended with status {code}; see {log}")


async def report_progress(db, chat: int, text: str, at: dt.datetime) -> list[str]:
    """A focal point sends a progress update (as the core would receive it from Telegram)."""
    core = Core(App(config=Config(), db=db, clock=ManualClock(at)))
    replies = await core.handle(
        Incoming(platform="telegram", chat_id=str(chat), user_id=str(chat), user_name="", text=text)
    )
    return [reply.text for reply in replies]


def references_by_chat(tg: TelegramEmulator, since: int = 0) -> dict[int, list[str]]:
    """The reference ("[87/KH-UBND · 20/6 · T-1]") of every message sent after the first `since`."""
    found: dict[int, list[str]] = {}
    for message in tg.sent[since:]:
        match = REFERENCE.search(message.text)
        found.setdefault(message.chat_id, []).append(match.group(0) if match else message.text[:60])
    return found


# ---------------------------------------------------------------- several instances


def within_budget(per_second: float, seconds: int) -> int:
    """The most messages any `seconds`-long window may show, counted where they arrive: the rate
    times the window, one token of burst, and 5 % for the scheduling jitter between a sender's
    instant and the arrival (two processes and the emulator share the machine's cores)."""
    return int(per_second * seconds * 1.05) + 1


@dataclass
class FleetResult:
    size: int
    planned: int
    instances: int
    tally: Tally
    statuses: Counter
    sent_by_instance: list[int]
    most_in_one_second: int  # counted where the messages arrive (the emulator)
    most_in_five_seconds: int
    most_started_in_one_second: int  # counted where the sends start (what the budget governs)
    seconds: float  # from the first start to the last exit
    send_seconds: float  # from the first message to the last
    log_text: str = field(repr=False, default="")


async def fleet_fan_out(
    db, workdir: Path, *, size: int, per_second: float, instances: int = 2, max_in_flight: int = 8
) -> FleetResult:
    """`instances` bot processes in webhook mode on one database deliver one reminder to each of
    `size` focal points, under one shared sending budget of `per_second`."""
    async with TelegramEmulator() as tg:
        chats = await seed_crowd_bulk(db, tg, size)
        planned = await plan_at(db, FAN_OUT_AT)
        config = bot_config(
            workdir / "bot.toml",
            db.url,
            tg,
            per_second=per_second,
            max_in_flight=max_in_flight,
            mode="webhook",
        )
        fleet = [BotProcess(config, tg.token, workdir / f"bot-{n}.log") for n in range(1, instances + 1)]
        send_log = workdir / "send-starts.log"
        started = time.monotonic()
        epoch = time.time()
        try:
            for process in fleet:
                await process.start(FAN_OUT_AT, epoch=epoch, extra_env={SEND_LOG: str(send_log)})
            for process in fleet:
                await process.expect("idle", within=max(120, 3 * size / per_second))
            codes = [await process.wait() for process in fleet]
        finally:
            for process in fleet:
                await process.ensure_dead()
        seconds = time.monotonic() - started
        if any(codes):
            raise AssertionError(f"an instance ended with status {codes}; see {workdir}")
        logs = [process.log.read_text(encoding="utf-8", errors="replace") for process in fleet]
        arrivals = [m.received_at for m in tg.sent]
        return FleetResult(
            size=size,
            planned=planned,
            instances=instances,
            tally=tally(tg, chats),
            statuses=await statuses(db, FAN_OUT_AT),
            sent_by_instance=[text.count("reminder delivered") for text in logs],
            most_in_one_second=most_in_any_second(arrivals),
            most_in_five_seconds=most_in_any_second(arrivals, 5.0),
            most_started_in_one_second=most_in_any_second(
                [float(line) for line in send_log.read_text().split()] if send_log.exists() else []
            ),
            seconds=seconds,
            send_seconds=max(arrivals) - min(arrivals) if arrivals else 0.0,
            log_text="\n".join(logs),
        )


# ---------------------------------------------------------------- faults injected by the platform

# What Telegram answers on a share of the sending calls. Each fault draws from its own seeded
# generator; the first that matches a call applies (so the shares add up to about 10 %).
PERMANENT_FAULTS = ("blocked", "chat_not_found")
FAULT_MIX = (
    ("retry_after", 0.02, {"retry_after": 1}),
    ("blocked", 0.01, {}),  # 403 bot was blocked by the user
    ("chat_not_found", 0.01, {}),  # 400 chat not found
    ("bad_request", 0.01, {"detail": "can't parse entities: unexpected end tag"}),  # 400, retried
    ("server_error", 0.01, {}),  # 500
    ("bad_gateway", 0.01, {}),  # 502 with an HTML body
    # The answer never comes in time: once without the message going out, once after it did.
    ("timeout", 0.015, {"delay": 1.0, "process": False}),
    ("timeout", 0.015, {"delay": 1.0, "process": True}),
)


@dataclass
class FaultyResult:
    size: int
    planned: int
    calls: int  # sendMessage calls the emulator answered
    injected: Counter  # faults by kind
    permanent_chats: set[int]  # chats that got a 403 or "chat not found"
    unreachable_chats: set[int]  # chats whose member the bot flagged unreachable
    tally: Tally
    silent_chats: set[int]  # chats that got nothing
    statuses: Counter
    delivered_timeouts: int  # timeouts after which the message had in fact gone out
    seconds: float


async def unreachable_chats(db) -> set[int]:
    async with db.snapshot() as session:
        rows = await session.execute(
            select(Identity.chat_id)
            .join(Member, Member.id == Identity.member_id)
            .where(Member.reachable.is_(False), Identity.platform == "telegram")
        )
        return {int(chat) for chat in rows.scalars()}


async def faulty_fan_out(db, workdir: Path, *, size: int, seed: int = 87, scale: float = 1.0) -> FaultyResult:
    """One reminder to each of `size` focal points while the emulator fails about 10 % of the sends
    (`scale` multiplies every share) with 429, 403, 400, 5xx and timeouts."""
    async with TelegramEmulator() as tg:
        chats = await seed_crowd(db, tg, size) if size <= 2000 else await seed_crowd_bulk(db, tg, size)
        planned = await plan_at(db, FAN_OUT_AT)
        faults = [
            tg.faults.rate(share * scale, kind, methods="sendMessage", seed=seed * 100 + n, **options)
            for n, (kind, share, options) in enumerate(FAULT_MIX)
        ]
        config = bot_config(
            workdir / "bot.toml", db.url, tg, per_second=200, max_in_flight=8, request_timeout=0.5
        )
        process = BotProcess(config, tg.token, workdir / "bot.log", retry_window=5.0)
        started = time.monotonic()
        try:
            await process.start(FAN_OUT_AT)
            await process.expect("idle", within=max(120.0, size / 10))
            code = await process.wait()
        finally:
            await process.ensure_dead()
        if code != 0:
            raise AssertionError(f"the bot ended with status {code}; see {process.log}")
        injected = tg.faults.injected
        delivered_timeouts = sum(f.hits for f in faults if f.kind == "timeout" and f.process)
        counted = tally(tg, chats)
        received = {m.chat_id for m in tg.sent}
        return FaultyResult(
            size=size,
            planned=planned,
            calls=len(tg.calls_to("sendMessage")),
            injected=Counter(f.kind for f in injected),
            permanent_chats={f.chat_id for f in injected if f.kind in PERMANENT_FAULTS},
            unreachable_chats=await unreachable_chats(db),
            tally=counted,
            silent_chats=set(chats) - received,
            statuses=await statuses(db, FAN_OUT_AT),
            delivered_timeouts=delivered_timeouts,
            seconds=time.monotonic() - started,
        )


# ---------------------------------------------------------------- graceful stops


async def claimed_rows(db) -> int:
    async with db.snapshot() as session:
        return await session.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.status == CLAIMED)
        )


@dataclass
class StopResult:
    size: int
    stops: int
    exit_codes: list[int]
    stop_seconds: list[float]  # from SIGTERM to the process's exit
    unacknowledged_at_stop: list[int]  # delivered but not recorded as sent, after each stop
    claimed_at_stop: list[int]  # rows still claimed after each stop (not released)
    double_signal_code: int | None
    double_signal_seconds: float | None
    double_signal_unacknowledged: int | None  # sends cut off by the immediate exit, sent again later
    tally: Tally
    statuses: Counter


async def graceful_fan_out(
    db,
    workdir: Path,
    *,
    size: int,
    stops: int,
    seed: int = 87,
    max_in_flight: int = 8,
    double_signal: bool = True,
) -> StopResult:
    """As `crash_fan_out`, but the bot is stopped with SIGTERM, as systemd stops it, and restarted at
    once on the same clock: sends in flight must finish and what was claimed must be handed back.
    Last, a stop with two SIGTERMs in a row, which must exit at once."""
    rng = random.Random(seed)
    async with TelegramEmulator() as tg:
        chats = await seed_crowd(db, tg, size)
        await plan_at(db, FAN_OUT_AT)
        config = bot_config(workdir / "bot.toml", db.url, tg, per_second=200, max_in_flight=max_in_flight)
        log = workdir / "bot.log"
        epoch = time.time()
        points = sorted(rng.sample(range(1, size), stops))
        codes, seconds, unacked, claimed = [], [], [], []
        double_code = double_seconds = double_unacked = None
        for n, point in enumerate(points + ([size // 2] if double_signal else [])):
            double = double_signal and n == len(points)
            process = BotProcess(config, tg.token, log)
            await process.start(FAN_OUT_AT, epoch=epoch)
            try:
                threshold = max(point, len(tg.sent) + 1)
                await tg.wait_for(lambda threshold=threshold: len(tg.sent) >= threshold, within=120)
                signalled = time.monotonic()
                process.terminate()
                if double:
                    await process.expect("stopping")
                    process.terminate()
                code = await process.wait()
                elapsed = time.monotonic() - signalled
            finally:
                await process.ensure_dead()
            if double:
                double_code, double_seconds = code, elapsed
                double_unacked = len({m.chat_id for m in tg.sent} - await acked_chats(db))
                # The leases of what it held run out before the next start.
                epoch -= 11
                continue
            codes.append(code)
            seconds.append(elapsed)
            reached = {m.chat_id for m in tg.sent}
            unacked.append(len(reached - await acked_chats(db)))
            claimed.append(await claimed_rows(db))
        final = BotProcess(config, tg.token, log)
        await final.start(FAN_OUT_AT, epoch=epoch)
        try:
            await final.expect("idle", within=300)
            await final.wait()
        finally:
            await final.ensure_dead()
        return StopResult(
            size=size,
            stops=stops,
            exit_codes=codes,
            stop_seconds=seconds,
            unacknowledged_at_stop=unacked,
            claimed_at_stop=claimed,
            double_signal_code=double_code,
            double_signal_seconds=double_seconds,
            double_signal_unacknowledged=double_unacked,
            tally=tally(tg, chats),
            statuses=await statuses(db, FAN_OUT_AT),
        )
