"""An attacker's session against the real bot on Telegram (webhook mode, real HTTP, the emulator):
coordinator-only commands from people who are not coordinators, in private and in the agency's
group, forged and borrowed button data, a replayed and an expired invite, webhook calls without or
with a wrong secret, an oversized payload. Everything is refused, nothing is stored, and the log
the operator keeps — written by the production handler — shows none of the secrets involved.

The chat core's own role × command × action matrix is tests/bot/core/test_roles.py; this extends it
through a transport, where identities come from Telegram's updates and not from the test.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.config import Config
from bot.core.registration import deep_link
from bot.i18n import _, format_day, use_language
from bot.ops.logging import configure_logging
from bot.transports.telegram.runner import SECRET_HEADER, TelegramBot
from storage import group_links, people
from storage.models import Member, ProgressUpdate
from storage.models.people import COORDINATOR, FOCAL
from tests.bot.telegram.conftest import WEBHOOK_SECRET, telegram_config
from tests.emulators.telegram import TelegramEmulator
from tests.factories import make_member, make_plan

pytestmark = pytest.mark.slow

COORDINATOR_ID, FOCAL_ID, STRANGER_ID, LATECOMER_ID = 1001, 2001, 3001, 3002
GROUP_ID = -100500
STAFF_COMMANDS = ("tonghop", "chuabaocao", "nhacnho", "xuat", "moi", "choduyet")
NOT_REGISTERED_MSGID = (
    "You are not registered yet.\n"
    "• If you have an invite link, open it; or send /start followed by the invite code.\n"
    "• Otherwise send /dangky to ask to join as your agency's focal point; a coordinator "
    "at {department} will approve it."
)


def vi(message: str, **params) -> str:
    with use_language("vi"):
        return _(message).format(**params)


# The department the default configuration names (`[organisation] short_name`).
NOT_REGISTERED = vi(NOT_REGISTERED_MSGID, department=Config().organisation.short_name)


@pytest.fixture
async def tg():
    async with TelegramEmulator() as emulator:
        yield emulator


@pytest.fixture
def log_output():
    """What the operator's log would hold: the production handler, JSON lines, DEBUG and up."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    yield stream
    root.setLevel(level)
    for handler in list(root.handlers):
        if getattr(handler, "stream", None) is stream:
            root.removeHandler(handler)


@pytest.fixture
async def bot(tg, sqlite_db, clock, log_output):
    config = telegram_config(tg, mode="webhook")
    config.logging.json_lines = True
    config.logging.level = "DEBUG"
    configure_logging(config, stream=log_output)
    async with sqlite_db.transaction() as session:
        built = await make_plan(session)
        await make_member(session, "Hà", role=COORDINATOR, platform="telegram", user_id=str(COORDINATOR_ID))
        await make_member(
            session, "Lan", agency=built.agencies["Sở Du lịch"], platform="telegram", user_id=str(FOCAL_ID)
        )
        await group_links.link_group(
            session, platform="telegram", chat_id=str(GROUP_ID), agency=built.agencies["Sở Du lịch"],
            linked_by_id=None, now=clock.now(),
        )  # fmt: skip
    running = TelegramBot(App(config=config, db=sqlite_db, clock=clock), reminders=False)
    await running.start()
    yield running
    await running.stop()


async def say(tg, user, text: str, *, chat=None) -> str:
    chat_id = chat.id if chat is not None else user.id
    before = len(tg.sent_to(chat_id))
    await tg.send_text(user, text, chat=chat)
    (reply,) = await tg.next_messages(chat_id, before)
    return reply.text


async def stored(db, model) -> int:
    async with db.snapshot() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_an_attackers_session_is_refused_everywhere_and_leaves_no_secret_in_the_log(
    tg, bot, sqlite_db, clock, log_output
):
    coordinator = tg.user(COORDINATOR_ID, "Hà")
    focal = tg.user(FOCAL_ID, "Lan")
    stranger = tg.user(STRANGER_ID, "Kẻ lạ")
    latecomer = tg.user(LATECOMER_ID, "Người đến muộn")
    group = tg.group(GROUP_ID, "Sở Du lịch — đầu mối")
    members_before = await stored(sqlite_db, Member)
    secrets_seen: list[str] = [tg.token, WEBHOOK_SECRET]

    # Coordinator-only commands, from a focal point and from a stranger, in private and in the group.
    for command in STAFF_COMMANDS:
        refusal = vi("/{command} is for coordinators only.", command=command)
        assert (await say(tg, focal, f"/{command}")).startswith(refusal)
        assert (await say(tg, focal, f"/{command}@{tg.username}", chat=group)).startswith(refusal)
        assert await say(tg, stranger, f"/{command}") == NOT_REGISTERED
    assert not (await say(tg, coordinator, "/tonghop")).startswith(
        vi("/{command} is for coordinators only.", command="tonghop")
    )

    # Buttons: data made up, and a coordinator's button replayed by the focal point.
    summary = tg.sent_to(COORDINATOR_ID)[-1]
    assert summary.buttons, "the summary comes with buttons to borrow"
    borrowed = summary.buttons[0][0]["callback_data"]
    # A modified client can send any data with a tap on a message in the focal point's own chat.
    own = tg.sent_to(FOCAL_ID)[-1]
    before = len(tg.sent_to(FOCAL_ID))
    await tg.tap_data(focal, own, "export:xlsx:agency=1")
    await tg.tap_data(focal, own, borrowed)
    forged, replayed = (m.text for m in await tg.next_messages(FOCAL_ID, before, count=2))
    assert forged.startswith(vi("That button is no longer valid. Send /trogiup to see what you can do.")[:25])
    assert replayed.startswith(vi("That button was not meant for you."))
    assert not any(m.document for m in tg.sent_to(FOCAL_ID))

    # Invites: one used twice, one expired.
    async with sqlite_db.transaction() as session:
        agency = (await session.get(Member, 2)).agency_id
        used = await people.create_invite(
            session,
            role=FOCAL,
            agency_id=agency,
            expires_at=clock.now() + dt.timedelta(days=7),
            now=clock.now(),
        )
        expired = await people.create_invite(
            session, role=FOCAL, agency_id=agency, expires_at=clock.now() - dt.timedelta(days=1),
            now=clock.now() - dt.timedelta(days=8),
        )  # fmt: skip
    secrets_seen += [used.token, expired.token]
    before = len(tg.sent_to(STRANGER_ID))
    await tg.open_deep_link(stranger, deep_link(tg.username, used.token))
    assert (await tg.next_messages(STRANGER_ID, before))[0].text.startswith("Chào mừng Kẻ lạ!")
    before = len(tg.sent_to(LATECOMER_ID))
    await tg.open_deep_link(latecomer, deep_link(tg.username, used.token))
    await tg.open_deep_link(latecomer, deep_link(tg.username, expired.token))
    replay, late = (m.text for m in await tg.next_messages(LATECOMER_ID, before, count=2))
    assert replay.startswith(vi("This invite has already been used."))
    expiry_day = format_day(expired.invite.expires_at.date(), "vi")
    assert late.startswith(vi("This invite expired on {day}.", day=expiry_day))
    assert await stored(sqlite_db, Member) == members_before + 1  # the stranger, once

    # The webhook: no secret, a wrong one, and a payload far over any real update.
    wrong_secret = "guessed-" + WEBHOOK_SECRET[::-1]
    secrets_seen.append(wrong_secret)
    forged_update = json.dumps(
        {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": FOCAL_ID, "type": "private"},
         "from": {"id": FOCAL_ID, "is_bot": False, "first_name": "Lan"}, "text": "/capnhat 1 hoàn thành giả"}}
    ).encode()  # fmt: skip
    statuses = []
    async with aiohttp.ClientSession() as http:
        for headers, body in (
            ({}, forged_update),
            ({SECRET_HEADER: wrong_secret}, forged_update),
            (
                {SECRET_HEADER: WEBHOOK_SECRET},
                b'{"update_id": 2, "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}',
            ),
        ):
            async with http.post(bot.webhook_url, data=body, headers=headers) as response:
                statuses.append(response.status)
    assert statuses == [403, 403, 413]
    assert await stored(sqlite_db, ProgressUpdate) == 0

    # What the operator's log holds: the refusals, and none of the secrets.
    log_text = log_output.getvalue()
    assert "webhook call refused" in log_text
    assert "not its owner" in log_text
    leaked = [secret for secret in secrets_seen if secret in log_text or secret.split(":")[-1] in log_text]
    lines = [
        line for line in log_text.splitlines() if any(s in line or s.split(":")[-1] in line for s in leaked)
    ]
    assert leaked == [], lines[:5]
