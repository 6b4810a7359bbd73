"""Property-based fuzzing of the chat core with 100,000 inputs, and 50 malformed plan files.

Inputs of every kind (commands with random arguments, free text in any script, numbers, real,
stale, foreign and forged buttons, edits, files, invite codes valid, used, expired or made up,
re-delivered updates, group chats) from seven people in every role, on a real SQLite file, through
`bot.groups.screen` and `Core.handle` as a transport calls them. Each must be handled without an
internal failure, answered in its reader's language, and leave the database consistent (see
tests/faults/fuzz.py). Then 50 generated malformed plan files go through the importer: each must be
refused with a message or imported whole, never half (see tests/faults/plans.py). Then the exports
(`--exports N`): hostile notes, names and agency names (formulas, characters XML refuses, HTML and
links, any Unicode) go into every format, and each file is opened the way its reader opens it
(openpyxl, python-docx, a CSV reader, a Markdown renderer): it must open and show user text as text
(see tests/faults/exports.py).

Then the webhooks (`--webhooks N`): N hostile calls each to the Telegram, Zalo Bot Platform and Zalo
OA webhooks of running processes, over real HTTP on 127.0.0.1 (see `webhook_calls`): deep nesting of
every shape, wrong types in every field, signed and forged, fresh, stale and replayed. Each must be
answered 200, 400, 401 or 403 (never 500), log no traceback, and a replayed or stale OA message must
never be answered twice; the bots must still answer a real message afterwards.

Printed: inputs, inputs per second, the problems found (the first few in full), the plan verdicts and
the webhook verdicts. Target: 0 problems.

    python bench/bench_fuzz.py [--inputs N] [--seed N] [--plans N] [--exports N] [--webhooks N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import io
import json
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bench.machine import machine  # noqa: E402
from bot.cli import main as nhacviec  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.bot.render.conftest import load_sample  # noqa: E402
from tests.conftest import SAMPLE_PLAN  # noqa: E402
from tests.faults.exports import CHECKS, check_all_formats, hostile_text, plant  # noqa: E402
from tests.faults.fuzz import COUNTED, LoopThread, open_world, steps  # noqa: E402
from tests.faults.plans import run_all  # noqa: E402

STEPS_PER_EXAMPLE = 8


def fuzz(inputs: int, seed_value: int, workdir: Path) -> tuple[int, float, list[str]]:
    loop = LoopThread()
    db = Database(f"sqlite+aiosqlite:///{workdir / 'fuzz.db'}")
    loop.run(upgrade(db))
    world = open_world(db, loop)
    problems: list[str] = []

    @seed(seed_value)
    @settings(
        max_examples=inputs // (STEPS_PER_EXAMPLE // 2) + 1,
        deadline=None,
        database=None,
        # Shrinking a failure is for the test suite; here we count and show failures.
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(steps, min_size=1, max_size=STEPS_PER_EXAMPLE))
    def conversation(sequence):
        for step in sequence:
            if world.inputs >= inputs:
                return
            problems.extend(loop.run(world.step(step)))

    started = time.perf_counter()
    conversation()
    seconds = time.perf_counter() - started
    counts = dict(zip(COUNTED, loop.run(world.counts()), strict=True))
    print(f"  stored afterwards: {counts}")
    loop.run(world.teardown())
    loop.run(db.dispose())
    loop.close()
    print(f"  kinds: {dict(sorted(world.kinds.items()))}")
    return world.inputs, seconds, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20200424)
    parser.add_argument("--plans", type=int, default=50)
    parser.add_argument("--exports", type=int, default=300, help="hostile summaries, each in every format")
    parser.add_argument("--webhooks", type=int, default=300)
    args = parser.parse_args()
    # The fuzzer's own handler on the root logger takes the errors; nothing else is printed.
    logging.getLogger().setLevel(logging.WARNING)
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="nhacviec-fuzz-") as tmp:
        inputs, seconds, problems = fuzz(args.inputs, args.seed, Path(tmp))
    # The same fault met again and again (one person stuck in one state) counts once per kind.
    kinds: dict[str, str] = {}
    for problem in problems:
        kinds.setdefault(problem.split(" for Incoming")[0][:120], problem)
    print(f"chat core: {inputs} inputs in {seconds:.0f} s ({inputs / seconds:.0f}/s)")
    print(f"  problems: {len(problems)} ({len(kinds)} kinds)")
    for problem in list(kinds.values())[:10]:
        print(f"    {problem[:600]}")
    ok = not problems
    if args.plans:
        ok = plans(args.plans, args.seed) and ok
    if args.exports:
        ok = exports(args.exports, args.seed) and ok
    if args.webhooks:
        ok = webhooks(args.webhooks, args.seed) and ok
    print(f"verdict: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def plans(count: int, seed_value: int) -> bool:
    """The malformed plan files, through `nhacviec plan import`, on a fresh SQLite file."""
    with tempfile.TemporaryDirectory(prefix="nhacviec-plans-") as tmp:
        directory = Path(tmp)
        url = f"sqlite+aiosqlite:///{directory / 'plans.db'}"
        with contextlib.redirect_stdout(io.StringIO()):
            nhacviec(["--db", url, "plan", "import", str(SAMPLE_PLAN)])
        started = time.perf_counter()
        verdicts = run_all(directory, url, count=count, seed=seed_value)
        seconds = time.perf_counter() - started
    refused = sum(not v.accepted for v in verdicts)
    bad = [v for v in verdicts if v.problems]
    print(
        f"plan files: {len(verdicts)} in {seconds:.1f} s: {refused} refused, {len(verdicts) - refused} imported whole"
    )
    print(f"  problems: {len(bad)}")
    for verdict in bad[:5]:
        print(f"    {verdict.path.name}: {'; '.join(verdict.problems)[:400]}")
    return not bad


# -- the webhooks ---------------------------------------------------------------------------------------


def nested(rng, depth: int) -> str:
    """JSON nested `depth` deep in one of the shapes an attacker uses (some left unclosed)."""
    shape = rng.choice(["arrays", "objects", "mixed", "unclosed", "strings"])
    if shape == "arrays":
        return "[" * depth + "]" * depth
    if shape == "objects":
        return '{"a":' * depth + "1" + "}" * depth
    if shape == "mixed":
        return '[{"b":' * (depth // 2) + "null" + "}]" * (depth // 2)
    if shape == "unclosed":
        return "[" * depth
    return '"' + "[{" * depth + '"'  # brackets inside a string: shallow, and fine


def odd_value(rng) -> object:
    """A value of the wrong type for whatever field it lands in."""
    return rng.choice(
        [
            "",
            "x" * rng.randint(1, 300),
            0,
            -1,
            10**30,
            1.5,
            True,
            None,
            [],
            [1, "a"],
            {},
            {"id": {}},
            ["/nhiemvu"],
        ]
    )


def mutate(rng, event: dict) -> dict:
    """`event` with one to three fields given a wrong type, removed, or replaced by nesting."""
    event = json.loads(json.dumps(event))
    for _ in range(rng.randint(1, 3)):
        target = event
        path = [rng.choice(list(event))]
        while isinstance(target.get(path[-1]), dict) and target[path[-1]] and rng.random() < 0.6:
            target = target[path[-1]]
            path.append(rng.choice(list(target)))
        roll = rng.random()
        if roll < 0.2:
            target.pop(path[-1], None)
        elif roll < 0.35:
            target[path[-1]] = [[[]]] if rng.random() < 0.5 else {"x": {"y": {"z": []}}}
        else:
            target[path[-1]] = odd_value(rng)
    return event


async def _webhook_round(count: int, seed_value: int, workdir: Path) -> tuple[Counter, list[str]]:
    import httpx

    from bot.app import App
    from bot.transports.telegram.runner import SECRET_HEADER, TelegramBot
    from bot.transports.zalo.runner import ZaloRunner
    from scheduler.clock import ManualClock
    from tests.bot.telegram.conftest import WEBHOOK_SECRET, telegram_config
    from tests.bot.zalo.apps import free_port, make_app, start_official_account
    from tests.emulators.telegram import TelegramEmulator
    from tests.emulators.zalo_bot import ZaloBotEmulator
    from tests.emulators.zalo_oa import ZaloOAEmulator, signature

    rng = random.Random(seed_value)
    clock = ManualClock(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC))
    db = Database(f"sqlite+aiosqlite:///{workdir / 'webhooks.db'}")
    await upgrade(db)
    statuses: Counter = Counter()
    problems: list[str] = []
    oa_api = await ZaloOAEmulator(clock=clock).start()
    bot_api = await ZaloBotEmulator(clock=clock).start()
    port = free_port()
    secret = "fuzz-webhook-secret"
    bot_runner = ZaloRunner(
        make_app(
            db, clock, {"ZALO_BOT_TOKEN": bot_api.token, "ZALO_WEBHOOK_SECRET": secret},
            api_base_url=bot_api.base_url, mode="webhook", webhook_port=port,
            webhook_url=f"http://127.0.0.1:{port}/zalo",
        ),
        official_account=False,
    )  # fmt: skip
    await bot_runner.start()
    oa_runner = await start_official_account(db, clock, oa_api)
    telegram = TelegramEmulator()
    await telegram.__aenter__()
    tg_bot = TelegramBot(App(config=telegram_config(telegram, mode="webhook"), db=db, clock=clock))
    await tg_bot.start()
    tracebacks = _TracebackCounter()
    logging.getLogger().addHandler(tracebacks)
    try:
        async with httpx.AsyncClient(timeout=30) as http:

            async def call(name: str, url: str, body: bytes, headers: dict) -> None:
                response = await http.post(
                    url, content=body, headers=headers | {"Content-Type": "application/json"}
                )
                statuses[f"{name} {response.status_code}"] += 1
                if response.status_code >= 500:
                    problems.append(f"{name}: {response.status_code} for {body[:120]!r}")

            answered_once: list[str] = []
            for n in range(count):
                # Telegram: nesting and wrong types, with the right secret.
                update = {"update_id": n + 1, "message": {"message_id": 1, "date": 0,
                          "chat": {"id": 7000 + n % 5, "type": "private"}, "from": {"id": 7000 + n % 5,
                          "is_bot": False, "first_name": "F"}, "text": "/ngonngu en"}}  # fmt: skip
                if rng.random() < 0.5:
                    body = nested(rng, rng.choice([40, 1000, 50_000])).encode()
                    if rng.random() < 0.5:
                        body = b'{"update_id": 1, "message": ' + body + b"}"
                else:
                    body = json.dumps(mutate(rng, update)).encode()
                await call("telegram", tg_bot.webhook_url, body, {SECRET_HEADER: WEBHOOK_SECRET})
                # Zalo Bot Platform: the same, with its secret.
                zalo_update = {"event_name": "message.text.received", "message": {"from": {"id": "z"},
                               "chat": {"id": "z", "chat_type": "PRIVATE"}, "message_id": f"m{n}",
                               "text": "/ngonngu en", "date": 0}}  # fmt: skip
                body = (
                    nested(rng, 50_000).encode()
                    if rng.random() < 0.4
                    else json.dumps(mutate(rng, zalo_update)).encode()
                )
                await call("zalo", f"http://127.0.0.1:{port}/zalo", body, {"X-Bot-Api-Secret-Token": secret})
                # Zalo OA: signed or forged, mistyped or nested, fresh, stale or replayed.
                event = oa_api.event(f"oa-{n % 7}", "/ngonngu en")
                roll = rng.random()
                if roll < 0.25:
                    text = '{"timestamp":"' + event["timestamp"] + '","message":' + nested(rng, 50_000) + "}"
                elif roll < 0.6:
                    text = json.dumps(mutate(rng, event), ensure_ascii=False)
                elif roll < 0.8:
                    event["timestamp"] = str(
                        int(event["timestamp"]) - rng.choice([11, 60, 60 * 24 * 7]) * 60_000
                    )
                    text = json.dumps(event, ensure_ascii=False)
                else:
                    if rng.random() < 0.5:
                        del event["message"]["msg_id"]
                    text = json.dumps(event, ensure_ascii=False)
                    answered_once.append(event["sender"]["id"])
                    oa_api.interacted(event["sender"]["id"], event["message"].get("msg_id"))
                mac = signature(oa_api.app_id, text, event["timestamp"], oa_api.oa_secret_key)
                if rng.random() < 0.15:
                    mac = "mac=" + "0" * 64
                for _ in range(1 if roll < 0.8 else 3):  # the fresh, whole ones are replayed twice
                    await call("zalo_oa", oa_api.webhook_url, text.encode(), {"X-ZEvent-Signature": mac})
            await bot_runner.finish()
            await oa_runner.finish()
        expected_oa = Counter(answered_once)
        sent = Counter(m.user_id for m in oa_api.sent)
        for user, times in sent.items():
            if times > expected_oa.get(user, 0):
                problems.append(
                    f"zalo_oa: {user} answered {times} times for {expected_oa.get(user, 0)} messages"
                )
        problems += [f"traceback logged: {line}" for line in tracebacks.lines[:5]]
    finally:
        logging.getLogger().removeHandler(tracebacks)
        await tg_bot.stop()
        await telegram.__aexit__(None, None, None)
        await oa_runner.stop()
        await bot_runner.stop()
        await oa_api.stop()
        await bot_api.stop()
        await db.dispose()
    return statuses, problems


class _TracebackCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.lines.append(f"{record.name}: {record.getMessage()[:200]}: {record.exc_info[1]!r:.300}")


def webhooks(count: int, seed_value: int) -> bool:
    """`count` hostile calls to each webhook of running Telegram, Zalo and Zalo OA processes."""
    with tempfile.TemporaryDirectory(prefix="nhacviec-webhooks-") as tmp:
        started = time.perf_counter()
        statuses, problems = asyncio.run(_webhook_round(count, seed_value, Path(tmp)))
        seconds = time.perf_counter() - started
    print(f"webhooks: {sum(statuses.values())} calls in {seconds:.1f} s: {dict(sorted(statuses.items()))}")
    print(f"  problems: {len(problems)}")
    for problem in problems[:10]:
        print(f"    {problem[:400]}")
    return not problems


def exports(count: int, seed_value: int) -> bool:
    """`count` summaries of the sample plan with hostile text planted, each written in every format
    and opened again."""
    loop = LoopThread()
    with tempfile.TemporaryDirectory(prefix="nhacviec-exports-") as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'exports.db'}")
        loop.run(upgrade(db))
        summary = loop.run(load_sample(db)).summary
        loop.run(db.dispose())
    loop.close()
    problems: list[str] = []
    examples = 0

    @seed(seed_value)
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(hostile_text, min_size=1, max_size=3), hostile_text, hostile_text)
    def hostile_summary(notes, name, agency_name):
        nonlocal examples
        examples += 1
        plant(summary, notes, name, agency_name)
        problems.extend(check_all_formats(summary))

    started = time.perf_counter()
    hostile_summary()
    seconds = time.perf_counter() - started
    files = examples * len(CHECKS)
    print(f"exports: {files} files ({examples} hostile summaries x {len(CHECKS)} formats) in {seconds:.1f} s")
    print(f"  problems: {len(problems)}")
    for problem in list(dict.fromkeys(problems))[:5]:
        print(f"    {problem[:400]}")
    return not problems


if __name__ == "__main__":
    sys.exit(main())
