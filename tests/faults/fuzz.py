"""Property-based fuzzing of the chat core: random people typing random things, tapping real, stale
and forged buttons, editing, re-sending, attaching files, in private chats and groups.

Every input goes the way a transport sends it (`bot.groups.screen`, then `Core.handle`) and must:
- not fail inside: no exception out of `handle`, no "something went wrong" apology (the core's
  answer to an exception it caught), nothing logged at ERROR;
- be answered in the language of the person it is addressed to;
- leave the database consistent: a failed input wrote nothing, and whatever was written obeys the
  rules (an update belongs to a task of its agency, by one of its focal points or a coordinator; a
  note within its limit; a percentage between 0 and 100; no invite used beyond its uses).

`FuzzWorld` runs on its own event loop in a thread, so that Hypothesis (which calls a plain function
per example) drives async code; the suite and bench/bench_fuzz.py share it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import cache

from babel.messages.pofile import read_po
from hypothesis import strategies as st
from sqlalchemy import text

from bot import groups
from bot.app import App
from bot.config import Config
from bot.core.messages import Attachment, Incoming, Reply
from bot.core.router import COMMANDS
from bot.core.service import Core
from bot.i18n import LOCALES_DIR
from scheduler.clock import ManualClock
from storage import group_links, people
from storage.db import Database
from storage.models.people import ADMIN, COORDINATOR, FOCAL, PENDING
from tests.factories import make_member, make_plan

START = dt.datetime(2020, 6, 1, 1, 0, tzinfo=dt.UTC)
HORIZON = dt.timedelta(days=200)
# New invites now and then, so that registrations keep happening, not only refusals of used ones.
INVITE_EVERY = 500
FAILURE_EN = "Sorry, something went wrong"
BOT_USERNAME = "nhacviec_bot"


@dataclass(frozen=True)
class Person:
    user_id: str
    platform: str
    language: str  # the language they registered with, or their client's for strangers
    role: str  # focal | coordinator | admin | pending | stranger


PEOPLE = (
    Person("lan", "console", "vi", FOCAL),  # Sở Du lịch
    Person("tung", "telegram", "en", FOCAL),  # Sở Ngoại vụ
    Person("ha", "zalo", "vi", COORDINATOR),
    Person("quan", "telegram", "en", ADMIN),
    Person("minh", "console", "vi", PENDING),  # asked to join Sở TTTT, not approved yet
    Person("stranger-vi", "telegram", "vi", "stranger"),
    Person("stranger-en", "zalo", "en", "stranger"),
)
GROUP_LINKED = "-100200"  # linked to Sở Du lịch
GROUP_UNLINKED = "-100300"

_WORDS = sorted({w for c in COMMANDS for w in (c.name, *c.aliases)})
COMMAND_WORDS = _WORDS + [
    "lienketnhom",
    "huylienketnhom",
    "cập nhật",
    "Nhiệm Vụ",
    "TONGHOP",
    "capnhat@nhacviec_bot",
]
PHRASES = [
    "hoàn thành", "hoan thanh", "done", "đang thực hiện 50%", "dang thuc hien 150%", "in progress -5%",
    "vướng mắc", "blocked", "chưa triển khai", "II.1", "II.2 xong", "IV.99", "I.1 done", "0", "-1", "3",
    "99999999999999999999", "1.5", "١٢", "２", "20/6", "31/2/2020", "20/6/2020", "previous", "docx", "xlsx",
    "csv", "vi", "en", "fr", "Sở Du lịch", "so du lich", "SỞ NGOẠI VỤ", "tttt", "Ủy ban", "%", "%%", "{}",
    "{0}", "{name}", "%s", "<b>đậm</b>", "<script>alert(1)</script>", "&amp;", "'; DROP TABLE member; --",
    "\u200b", "\u202etxet", "🙂🙃", "\x00", "\r\n", "\t", " ", "", "https://example.gov.vn/bao-cao.pdf",
    "telegram", "zalo",
]  # fmt: skip


@dataclass(frozen=True)
class Step:
    person: int
    kind: str  # text | command | number | button | foreign_button | forged_button | edit | file | invite
    text: str = ""
    pick: int = 0  # which button / message / invite, modulo what exists
    group: str | None = None
    update_key: str | None = None
    minutes: int = 0  # how far the clock moves first


_text = st.one_of(
    st.sampled_from(PHRASES),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.builds(lambda n, s: s * n, st.integers(1, 3000), st.sampled_from(["a", "ạ", "🙂", "x\n"])),
    st.integers(-(10**6), 10**6).map(str),
)
_command = st.builds(
    lambda slash, word, args: ("/" if slash else "") + word + (" " + args if args else ""),
    st.booleans(),
    st.sampled_from(COMMAND_WORDS),
    st.one_of(st.just(""), _text, st.lists(st.sampled_from(PHRASES), max_size=4).map(" ".join)),
)

# One-line updates that are nearly right, so that the fuzzer reaches the writes, not only refusals.
_update_line = st.builds(
    lambda word, task, status, percent, note: " ".join(p for p in (word, task, status, percent, note) if p),
    st.sampled_from(["/capnhat", "cap nhat", "/update", "/CẬPNHẬT"]),
    st.sampled_from(["1", "2", "3", "II.1", "II.2", "III.1", "I.3", "9", "0", "-1", ""]),
    st.sampled_from(
        ["hoàn thành", "xong", "done", "đang thực hiện", "dang lam", "vướng mắc", "chưa", "", "??"]
    ),
    st.sampled_from(["", "50%", "100%", "0%", "101%", "-3%", "45.5%", "1e3%"]),
    st.one_of(st.just(""), _text),
)

steps = st.builds(
    Step,
    person=st.integers(0, len(PEOPLE) - 1),
    kind=st.sampled_from(
        [
            "text",
            "command",
            "command",
            "command",
            "number",
            "button",
            "button",
            "foreign_button",
            "forged_button",
            "edit",
            "file",
            "invite",
        ]
    ),  # fmt: skip
    text=st.one_of(_text, _command, _update_line, _update_line),
    pick=st.integers(0, 50),
    group=st.sampled_from([None, None, None, GROUP_LINKED, GROUP_UNLINKED]),
    update_key=st.one_of(st.none(), st.none(), st.sampled_from(["u1", "u2", "u3"])),
    minutes=st.sampled_from([0, 0, 0, 1, 5, 31, 60 * 24, 60 * 24 * 8]),
)


# ---------------------------------------------------------------- what "in the user's language" means


def _fragments(message: str) -> set[str]:
    """Literal stretches of a catalog string, between its placeholders, long enough to be telling."""
    parts = re.split(r"\{[^}]*\}|\n", message)
    return {p.strip() for p in parts if len(p.strip()) >= 14 and " " in p.strip()}


@cache
def language_markers() -> dict[str, frozenset[str]]:
    """For each language, text that only the other language's replies contain: a reply in 'vi'
    must show none of markers['vi'] (English sentences), and the reverse."""
    catalogs = {}
    for language in ("vi", "en"):
        with open(LOCALES_DIR / language / "LC_MESSAGES" / "nhacviec.po", "rb") as po:
            catalogs[language] = {m.id if isinstance(m.id, str) else m.id[0]: m for m in read_po(po) if m.id}
    english, vietnamese = set(), set()
    for msgid, message in catalogs["vi"].items():
        translated = message.string if isinstance(message.string, str) else message.string[0]
        if not translated or translated == msgid:
            continue
        # A stretch both share (a Vietnamese column label quoted in an English message) tells nothing.
        english |= {f for f in _fragments(msgid) if f not in translated}
        vietnamese |= {f for f in _fragments(translated) if f not in msgid}
    return {"vi": frozenset(english), "en": frozenset(vietnamese)}


def wrong_language(reply_text: str, language: str, typed: str) -> str | None:
    """A stretch of `reply_text` in the other language (not an echo of what the user typed)."""
    for marker in language_markers()[language]:
        if marker in reply_text and marker not in typed:
            return marker
    return None


# ---------------------------------------------------------------- the world the fuzzer plays in


class LoopThread:
    """An event loop of its own in a thread: `run(coro)` from plain code, as Hypothesis calls it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


COUNTED = (
    "member",
    "identity",
    "invite",
    "progress_update",
    "update_revision",
    "group_link",
    "agency",
    "task",
)


def open_world(db: Database, loop: LoopThread) -> FuzzWorld:
    world = FuzzWorld(db)
    loop.run(world.setup())
    return world


@dataclass
class FuzzWorld:
    db: Database
    clock: ManualClock = field(default_factory=lambda: ManualClock(START))
    core: Core | None = None
    app: App | None = None
    buttons: dict[int, list[str]] = field(default_factory=dict)  # the keys each person was last shown
    message_ids: dict[int, list[str]] = field(default_factory=dict)
    invites: list[str] = field(default_factory=list)
    inputs: int = 0
    kinds: Counter = field(default_factory=Counter)
    errors: ErrorLog = field(default_factory=ErrorLog)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def setup(self) -> None:
        self.app = App(config=Config(), db=self.db, clock=self.clock)
        self.core = Core(self.app)
        async with self.db.transaction() as session:
            built = await make_plan(session)
            agencies = built.agencies
            await make_member(session, "Lan", agency=agencies["Sở Du lịch"], user_id="lan", language="vi")
            await make_member(
                session,
                "Tùng",
                agency=agencies["Sở Ngoại vụ"],
                user_id="tung",
                platform="telegram",
                language="en",
            )
            await make_member(session, "Hà", role=COORDINATOR, user_id="ha", platform="zalo", language="vi")
            await make_member(session, "Quân", role=ADMIN, user_id="quan", platform="telegram", language="en")
            await make_member(
                session,
                "Minh",
                agency=agencies["Sở Thông tin và Truyền thông"],
                user_id="minh",
                status=PENDING,
            )
            for platform in ("console", "telegram", "zalo"):
                await group_links.link_group(
                    session, platform=platform, chat_id=GROUP_LINKED, agency=agencies["Sở Du lịch"],
                    linked_by_id=None, now=START,
                )  # fmt: skip
            # A valid invite, one already used up, one expired: the fuzzer replays them all.
            for uses, days in ((1, 7), (1, 7), (1, -1), (3, 7)):
                issued = await people.create_invite(
                    session, role=FOCAL, agency_id=agencies["Sở Ngoại vụ"].id,
                    expires_at=START + dt.timedelta(days=days), now=START - dt.timedelta(days=2), uses=uses,
                )  # fmt: skip
                self.invites.append(issued.token)
        logging.getLogger().addHandler(self.errors)

    async def teardown(self) -> None:
        logging.getLogger().removeHandler(self.errors)

    async def counts(self) -> tuple[int, ...]:
        query = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{t}")' for t in COUNTED)
        async with self.db.snapshot() as session:
            return tuple((await session.execute(text(query))).one())

    def _incoming(self, step: Step) -> Incoming:
        person = PEOPLE[step.person]
        chat = step.group or person.user_id
        fields: dict = {
            "platform": person.platform,
            "chat_id": chat,
            "user_id": person.user_id,
            "user_name": person.user_id.title(),
            "is_group": step.group is not None,
            "update_key": step.update_key,
            "language_hint": person.language if person.role == "stranger" else None,
        }
        own = self.buttons.get(step.person, [])
        others = [k for i, keys in self.buttons.items() if i != step.person for k in keys]
        if step.kind == "button" and own:
            return Incoming(**fields, callback_data=own[step.pick % len(own)])
        if step.kind == "foreign_button" and others:
            return Incoming(**fields, callback_data=others[step.pick % len(others)])
        if step.kind == "forged_button":
            return Incoming(**fields, callback_data=step.text[:64])
        if step.kind == "number":
            return Incoming(**fields, text=str(step.pick - 2), message_id=str(next(self._ids)))
        if step.kind == "edit":
            sent = self.message_ids.get(step.person) or [str(step.pick)]
            return Incoming(**fields, text=step.text, edited=True, message_id=sent[step.pick % len(sent)])
        if step.kind == "file":
            attachment = Attachment(
                file_id=f"file-{step.pick}", filename=step.text[:80] or None, size=step.pick * 10**6
            )
            return Incoming(**fields, text=step.text, attachment=attachment, message_id=str(next(self._ids)))
        if step.kind == "invite":
            token = self.invites[step.pick % len(self.invites)] if step.pick % 5 else step.text
            return Incoming(**fields, text=f"/start {token}", message_id=str(next(self._ids)))
        return Incoming(**fields, text=step.text, message_id=str(next(self._ids)))

    async def _language_of(self, session, platform: str, user_id: str, incoming: Incoming) -> str:
        """The language the core owes this person, read back after the input."""
        member = await people.member_by_identity(session, platform, user_id)
        if member is not None and member.status == "active":
            return member.language
        state = await people.load_state(session, platform=platform, chat_id=incoming.chat_id, user_id=user_id)
        if state is not None and state.data.get("language"):
            return state.data["language"]
        if member is not None:
            return member.language
        return incoming.language_hint or self.app.config.i18n.default_language

    async def _fresh_invites(self) -> None:
        async with self.db.transaction() as session:
            agency = await session.scalar(text("SELECT id FROM agency ORDER BY id LIMIT 1"))
            for uses in (1, 2):
                issued = await people.create_invite(
                    session, role=FOCAL, agency_id=agency, expires_at=self.clock.now() + dt.timedelta(days=7),
                    now=self.clock.now(), uses=uses,
                )  # fmt: skip
                self.invites.append(issued.token)

    async def step(self, step: Step) -> list[str]:
        """Play one input; the problems it revealed (empty when all is well)."""
        # Time moves within the plan's year (both reporting cycles, their overdue days), then stands.
        if self.clock.now() + dt.timedelta(minutes=step.minutes) <= START + HORIZON:
            self.clock.advance(minutes=step.minutes)
        if self.inputs and self.inputs % INVITE_EVERY == 0:
            await self._fresh_invites()
        incoming = self._incoming(step)
        self.inputs += 1
        self.kinds[step.kind] += 1
        before = await self.counts()
        errors_before = len(self.errors.records)
        problems: list[str] = []
        try:
            verdict = await groups.screen(self.app, incoming, bot_username=BOT_USERNAME)
            replies: list[Reply] = list(verdict.replies)
            if verdict.admit:
                replies += await self.core.handle(incoming)
        except Exception as exc:  # the very thing being looked for
            return [f"{type(exc).__name__} escaped: {exc!r} for {incoming!r}"]
        failed = any(FAILURE_EN in r.text or "Xin lỗi, đã có lỗi" in r.text for r in replies)
        logged = self.errors.records[errors_before:]
        if failed or logged:
            detail = "; ".join(r.getMessage() + (f" {r.exc_info[1]!r}" if r.exc_info else "") for r in logged)
            problems.append(f"internal failure for {incoming!r}: {detail}")
            if await self.counts() != before:
                problems.append(f"a failed input left writes behind: {before} -> {await self.counts()}")
        async with self.db.snapshot() as session:
            for reply in replies:
                if not (reply.text.strip() or reply.buttons or reply.documents or reply.images):
                    problems.append(f"an empty reply to {incoming!r}")
                platform = reply.to_platform or incoming.platform
                if reply.to_chat_id in (None, incoming.chat_id):
                    language = await self._language_of(session, incoming.platform, incoming.user_id, incoming)
                else:
                    # Addressed to someone else (a coordinator asked to approve): their language.
                    member = await people.member_by_identity(session, platform, reply.to_chat_id)
                    language = member.language if member is not None else None
                marker = language and wrong_language(reply.text, language, incoming.text or "")
                if marker:
                    problems.append(
                        f"reply not in {language} ({marker!r}): {reply.text[:200]!r} for {incoming!r}"
                    )
            problems += await invariant_violations(session)
        own = [r for r in replies if r.to_chat_id in (None, incoming.chat_id)]
        keys = [b.data for r in own for row in r.buttons for b in row]
        if keys:
            self.buttons[step.person] = keys
        if incoming.message_id and not incoming.edited:
            self.message_ids.setdefault(step.person, []).append(incoming.message_id)
        return problems


async def invariant_violations(session) -> list[str]:
    """Rules the stored data must obey whatever was typed."""
    checks = {
        "an update on a task its agency is not assigned": """
            SELECT count(*) FROM progress_update u
            WHERE NOT EXISTS (SELECT 1 FROM task_agency ta WHERE ta.task_id = u.task_id AND ta.agency_id = u.agency_id)""",
        "an update by a focal point of another agency": """
            SELECT count(*) FROM progress_update u JOIN member m ON m.id = u.member_id
            WHERE m.role = 'focal' AND m.agency_id IS DISTINCT FROM u.agency_id""",
        "an update with a percentage outside 0-100": """
            SELECT count(*) FROM progress_update WHERE percent < 0 OR percent > 100""",
        "an update with an unknown status": """
            SELECT count(*) FROM progress_update
            WHERE status NOT IN ('not_started', 'in_progress', 'done', 'blocked')""",
        "a note over its limit": "SELECT count(*) FROM progress_update WHERE length(note) > 1000",
        "an invite used beyond its uses": "SELECT count(*) FROM invite WHERE uses_left < 0",
        "a focal point with no agency": """
            SELECT count(*) FROM member WHERE role = 'focal' AND status = 'active' AND agency_id IS NULL""",
        "a member of an unknown role": """
            SELECT count(*) FROM member WHERE role NOT IN ('focal', 'coordinator', 'admin')""",
    }
    # One round trip for all of them: the fuzzer runs this after every input.
    query = "SELECT " + ", ".join(f"({q.strip()})" for q in checks.values())
    counts = (await session.execute(text(query))).one()
    return [f"{rule}: {count}" for rule, count in zip(checks, counts, strict=True) if count]
