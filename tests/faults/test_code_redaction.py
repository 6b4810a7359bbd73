"""Invite tokens and link codes never reach the operator's log, in any form the bot accepts them.

The real bot polls the Telegram emulator with the production log handler at DEBUG, where
python-telegram-bot prints every update it fetches (as JSON and as Python reprs) and our own code
logs what it handles. People register and link accounts typing the codes every way the core reads
them; an attacker's well-shaped guesses go the same way.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import secrets

import pytest

from bot.app import App
from bot.ops.logging import Redactor, configure_logging
from bot.transports.telegram.runner import TelegramBot
from storage import linking, people
from storage.models.people import COORDINATOR, FOCAL
from tests.bot.telegram.conftest import telegram_config
from tests.emulators.telegram import TelegramEmulator
from tests.factories import make_member, make_plan

pytestmark = pytest.mark.slow


@pytest.fixture
async def tg():
    async with TelegramEmulator() as emulator:
        yield emulator


@pytest.fixture(params=[False, True], ids=["text", "json"])
def log_output(request):
    """The operator's log: the production handler at DEBUG, as plain text or JSON lines."""
    stream = io.StringIO()
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "httpx", "httpcore", "telegram")}
    yield stream, request.param
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    for handler in list(root.handlers):
        if getattr(handler, "stream", None) is stream:
            root.removeHandler(handler)


@pytest.fixture
async def bot(tg, sqlite_db, clock, log_output):
    stream, json_lines = log_output
    config = telegram_config(tg, mode="polling")
    config.logging.json_lines = json_lines
    config.logging.level = "DEBUG"
    configure_logging(config, stream=stream)
    # Every library line too: the HTTP client's request lines are quiet by default, not here.
    for name in ("httpx", "httpcore", "telegram"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    running = TelegramBot(App(config=config, db=sqlite_db, clock=clock), reminders=False)
    await running.start()
    yield running
    await running.stop()


async def _invites(db, clock, count: int) -> list[str]:
    async with db.transaction() as session:
        built = await make_plan(session)
        coordinator = await make_member(session, "Hà", role=COORDINATOR, platform="console", user_id="ha")
        tokens = []
        for _ in range(count):
            issued = await people.create_invite(
                session,
                role=FOCAL,
                agency_id=built.agencies["Sở Du lịch"].id,
                expires_at=clock.now() + dt.timedelta(days=7),
                now=clock.now(),
                created_by_id=coordinator.id,
            )
            tokens.append(issued.token)
    return tokens


async def _link_codes(db, clock, count: int) -> list[str]:
    codes = []
    async with db.transaction() as session:
        for number in range(count):
            member = await make_member(session, f"Người {number}", role=COORDINATOR, user_id=f"p{number}")
            codes.append(
                await linking.issue(
                    session,
                    member_id=member.id,
                    platform="console",
                    now=clock.now(),
                    valid_for=dt.timedelta(minutes=10),
                )
            )
    return codes


async def say(tg, user, text: str) -> str:
    before = len(tg.sent_to(user.id))
    await tg.send_text(user, text)
    messages = await tg.next_messages(user.id, before)
    return messages[0].text


def spellings(code: str) -> list[str]:
    """How a link code "ABCD-EFGH-JKMN" could be found in a log: as issued, compact, any case."""
    compact = code.replace("-", "")
    return [code, compact, compact.lower(), code.lower(), " ".join(code.lower().split("-"))]


async def test_codes_typed_every_way_the_bot_accepts_them_never_reach_the_log(
    tg, bot, sqlite_db, clock, log_output
):
    stream, _json = log_output
    tokens = await _invites(sqlite_db, clock, 4)
    codes = await _link_codes(sqlite_db, clock, 3)
    guess = secrets.token_urlsafe(people.INVITE_TOKEN_BYTES)

    replies = [
        await say(tg, tg.user(501, "Một"), f"/start\n{tokens[0]}"),
        await say(tg, tg.user(502, "Hai"), f"start {tokens[1]}"),
        await say(tg, tg.user(503, "Ba"), f"bắt đầu {tokens[2]}"),
        await say(tg, tg.user(504, "Bốn"), f"/start@{tg.username} {tokens[3]}"),
        await say(tg, tg.user(601, "Năm"), f"lien ket {codes[0]}"),
        await say(tg, tg.user(602, "Sáu"), "link " + " ".join(codes[1].lower().split("-"))),
        await say(tg, tg.user(603, "Bảy"), "/lienket " + codes[2].replace("-", "").lower()),
        await say(tg, tg.user(701, "Kẻ đoán"), f"/start {guess}"),
    ]

    # Each was read as a code: four people registered, three accounts linked, the guess refused.
    assert all(reply.startswith("Chào mừng") for reply in replies[:4]), replies[:4]
    assert all("liên kết" in reply for reply in replies[4:7]), replies[4:7]
    assert "không hợp lệ" in replies[7] or "không đúng" in replies[7], replies[7]
    log_text = stream.getvalue()
    # The log is the full DEBUG log, library lines included, and shows the commands themselves.
    assert "telegram" in log_text and "getUpdates" in log_text
    assert "bắt đầu [redacted]" in log_text or "b\\u1eaft \\u0111\\u1ea7u [redacted]" in log_text
    secrets_typed = [*tokens, guess, *(form for code in codes for form in spellings(code))]
    leaked = [secret for secret in secrets_typed if secret in log_text]
    assert leaked == [], [line for line in log_text.splitlines() if any(s in line for s in leaked)][:3]


def test_the_redactor_reads_codes_as_the_core_does_and_leaves_other_words_alone():
    redact = Redactor()
    token = secrets.token_urlsafe(people.INVITE_TOKEN_BYTES)

    assert redact(f"text='/start\\n{token}' chat=1") == "text='/start [redacted]' chat=1"
    assert redact(f'{{"text": "b\\u1eaft \\u0111\\u1ea7u {token}"}}') == '{"text": "bắt đầu [redacted]"}'
    assert redact("Message(text='link abcd efgh jkmn', id=3)") == "Message(text='link [redacted]', id=3)"
    assert redact("lien ket ABCD-EFGH-JKMN") == "lien ket [redacted]"
    # Words after "start" or "link" that are no code stay: the line must still be read by people.
    assert redact("failed to start transport telegram") == "failed to start transport telegram"
    assert redact("link your account with /lienket") == "link your account with /lienket"
