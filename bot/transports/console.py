"""The console chat: the whole bot in a terminal, no token needed.

`nhacviec chat [--as NAME]` reads lines and prints the replies, one block per input line; buttons
show as numbered choices, answered by typing the number. It works interactively and with piped input
(for scripts and tests). Everyone typing at one console shares the screen, so messages addressed to
another person are printed under their name. Files the bot sends show as "[📄 name.docx, 64 KB]";
with `--files DIR` they are saved there too, and the line says where. Lines starting with ":" are for
the console itself:

    :as NAME      continue as another person (a coordinator approving, a focal point reporting)
    :edit TEXT    replace your previous message with TEXT, as editing a chat message does
    :quit         leave (end of input does the same)

`nhacviec run` without a platform token runs `run_quickstart`: it makes sure a plan is loaded, prints
invites the person at the keyboard can use, starts the reminder engine on this console, and chats.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import itertools
import logging
import sys
from pathlib import Path
from typing import TextIO

from bot.app import App
from bot.core import registration
from bot.core.messages import Incoming, Reply
from bot.core.service import Core
from bot.i18n import _, use_language
from bot.reminders import start_reminder_engine
from bot.render.text import with_numbered_choices
from bot.transports.base import Recipient
from storage import people
from storage.assignments import current_plan, tasks_by_agency
from storage.models.people import ACTIVE, COORDINATOR, FOCAL
from storage.models.plan import Agency
from storage.plans.importer import import_if_empty

log = logging.getLogger(__name__)

PLATFORM = "console"
REPO_ROOT = Path(__file__).resolve().parents[2]
# The reference plan sits beside a checkout in the development layout; a clone elsewhere has the sample.
REFERENCE_PLAN = REPO_ROOT.parent / "shared" / "plans" / "ke-hoach-87-KH-UBND-2020.txt"
SAMPLE_PLAN = REPO_ROOT / "storage" / "samples" / "ke-hoach-mau.txt"
QUICKSTART_INVITE_DAYS = 7


def default_user() -> str:
    try:
        return getpass.getuser() or "ban"
    except Exception:  # no login name in some containers
        return "ban"


class ConsoleTransport:
    """Prints what the bot sends (reminders included) to a text stream."""

    platform = PLATFORM
    max_text_length = 4096

    def __init__(self, out: TextIO | None = None, *, files_dir: Path | None = None):
        self.out = out or sys.stdout
        # Where files the bot sends (reports, charts) are saved; None shows only their name and size.
        self.files_dir = files_dir
        self._ids = itertools.count(1)

    async def send(self, recipient: Recipient, reply: Reply) -> str:
        self.print_reply(reply, to=recipient.chat_id)
        return str(next(self._ids))

    def print_reply(self, reply: Reply, *, to: str | None = None) -> None:
        lines = [with_numbered_choices(reply)] if reply.text or reply.buttons else []
        lines += [self._file_line("📄", document.filename, document.content) for document in reply.documents]
        lines += [self._file_line("🖼", image.filename, image.content) for image in reply.images]
        text = "\n".join(lines)
        if to is not None:
            text = f"→ {to}:\n{text}"
        self.out.write(text.rstrip() + "\n\n")
        self.out.flush()

    def _file_line(self, mark: str, filename: str, content: bytes) -> str:
        """'[📄 bao-cao-87-KH-UBND-2020-06-20.docx, 64 KB]', with where it was saved when saving."""
        described = f"{mark} {filename}, {max(1, round(len(content) / 1024))} KB"
        if self.files_dir is None:
            return f"[{described}]"
        # Only the name: a file name is never a path out of the chosen directory.
        target = self.files_dir / Path(filename).name
        try:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        except OSError as error:
            return f"[{described}: {error.strerror}]"
        return f"[{described} → {target}]"


class ConsoleChat:
    """One console session: who is typing, and their previous message (for :edit)."""

    def __init__(self, core: Core, transport: ConsoleTransport, user: str):
        self.core = core
        # The console's own remarks (not the bot's replies) use the deployment's default language.
        self.language = core.app.config.i18n.default_language
        self.transport = transport
        self.user = user
        self._ids = itertools.count(1)
        self._last_message: dict[str, str] = {}

    async def line(self, text: str) -> bool:
        """Handle one input line; False when the session should end."""
        text = text.rstrip("\n").strip()
        if not text:
            return True
        if text.startswith(":"):
            return await self._console_command(text)
        message_id = str(next(self._ids))
        self._last_message[self.user] = message_id
        await self._send(Incoming(**self._who(), text=text, message_id=message_id, update_key=None))
        return True

    def _who(self) -> dict:
        return {"platform": PLATFORM, "chat_id": self.user, "user_id": self.user, "user_name": self.user}

    async def _send(self, incoming: Incoming) -> None:
        replies = await self.core.handle(incoming)
        for reply in replies:
            if reply.to_chat_id is None or (
                reply.to_platform in (None, PLATFORM) and reply.to_chat_id == self.user
            ):
                self.transport.print_reply(reply)
            elif reply.to_platform in (None, PLATFORM):
                self.transport.print_reply(reply, to=reply.to_chat_id)
            else:
                self.transport.print_reply(reply, to=f"{reply.to_chat_id} ({reply.to_platform})")

    async def _console_command(self, text: str) -> bool:
        with use_language(self.language):
            return await self._console_word(text)

    async def _console_word(self, text: str) -> bool:
        word, _sep, rest = text[1:].partition(" ")
        word = word.lower()
        if word in ("q", "quit", "exit", "thoat"):
            return False
        if word == "as" and rest.strip():
            self.user = rest.strip()
            self.transport.out.write(_("(now chatting as {name})").format(name=self.user) + "\n\n")
            self.transport.out.flush()
            return True
        if word == "edit" and rest.strip() and self.user in self._last_message:
            await self._send(
                Incoming(
                    **self._who(), text=rest.strip(), message_id=self._last_message[self.user], edited=True
                )
            )
            return True
        self.transport.out.write(
            _(":as NAME to change person | :edit TEXT to edit your last message | :quit") + "\n\n"
        )
        self.transport.out.flush()
        return True


def _quiet_logs(app: App) -> None:
    """The chat and the logs share one terminal: routine INFO lines (ticks, migrations) would bury
    the conversation, so only warnings show unless DEBUG was asked for."""
    if app.config.logging.level != "DEBUG":
        logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))


async def _read_line(stream: TextIO) -> str:
    # Reading blocks; a worker thread keeps the event loop (and the reminder engine) running meanwhile.
    return await asyncio.get_running_loop().run_in_executor(None, stream.readline)


async def run_chat(
    app: App,
    *,
    user: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    transport: ConsoleTransport | None = None,
) -> int:
    stdin = stdin or sys.stdin
    _quiet_logs(app)
    transport = transport or ConsoleTransport(stdout)
    chat = ConsoleChat(Core(app), transport, user or default_user())
    interactive = stdin.isatty()
    out = transport.out
    while True:
        if interactive:
            out.write(f"{chat.user}> ")
            out.flush()
        line = await _read_line(stdin)
        if not line:  # end of input
            break
        if not interactive and line.strip():
            # Echo piped input, so the transcript reads as a conversation.
            out.write(f"{chat.user}> {line.strip()}\n")
        if not await chat.line(line):
            break
    return 0


# ---------------------------------------------------------------- quick start


async def ensure_plan(app: App, out: TextIO) -> None:
    """Import a plan when the database has none: the configured default file, else the reference plan
    when it sits beside the checkout, else the sample shipped with the project."""
    async with app.db.snapshot() as session:
        if await current_plan(session) is not None:
            return
    candidates = [Path(app.config.plan.default_file)] if app.config.plan.default_file else []
    candidates += [REFERENCE_PLAN, SAMPLE_PLAN]
    path = next((candidate for candidate in candidates if candidate.exists()), None)
    if path is None:
        out.write(_("No plan file was found to import; load one with `nhacviec plan import FILE`.") + "\n")
        return
    async with app.db.transaction() as session:
        report = await import_if_empty(
            session, path, default_issuer=app.config.plan.issuer, now=app.clock.now()
        )
    if report is not None:
        out.write(
            _("Imported the plan {number} from {file}.").format(number=report.number, file=path.name) + "\n"
        )


async def _quickstart_invites(app: App, user: str) -> list[str]:
    now = app.clock.now()
    valid_for = dt.timedelta(days=QUICKSTART_INVITE_DAYS)
    lines: list[str] = []
    async with app.db.transaction() as session:
        member = await people.member_by_identity(session, PLATFORM, user)
        if member is None or member.status != ACTIVE:
            issued = await registration.issue_invite(
                session, role=COORDINATOR, agency=None, now=now, valid_for=valid_for
            )
            lines.append(
                _("You are chatting as “{name}”. To register as a coordinator, send:").format(name=user)
            )
            lines.append(f"    /start {issued.token}")
        else:
            lines.append(
                _("You are chatting as “{name}”, already registered. Send /trogiup for the commands.").format(
                    name=user
                )
            )
        plan = await current_plan(session)
        owned = await tasks_by_agency(session, plan.id) if plan else {}
        if owned:
            # The agency with the most tasks makes the richest demonstration.
            agency = await session.get(Agency, max(owned, key=lambda key: len(owned[key])))
            issued = await registration.issue_invite(
                session, role=FOCAL, agency=agency, now=now, valid_for=valid_for
            )
            lines.append(
                _("To try the focal point of {agency}, change person and register:").format(
                    agency=agency.name
                )
            )
            lines.append("    :as lan")
            lines.append(f"    /start {issued.token}")
            link = registration.deep_link(app.config.telegram.bot_username, issued.token)
            lines.append(_("(On Telegram the same invite is the link {link})").format(link=link))
    lines.append(
        _("Type :as NAME to change person, :quit to leave. Answer numbered choices with their number.")
    )
    return lines


async def run_quickstart(app: App, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """`nhacviec run` with no platform token: a plan, invites for the person at the keyboard, the
    reminder engine writing to this console, and the chat."""
    out = stdout or sys.stdout
    _quiet_logs(app)
    with use_language(app.config.i18n.default_language):
        await ensure_plan(app, out)
        user = default_user()
        out.write("\n".join(await _quickstart_invites(app, user)) + "\n\n")
    out.flush()
    transport = ConsoleTransport(out)
    engine = await start_reminder_engine(app, {PLATFORM: transport})
    try:
        return await run_chat(app, user=user, stdin=stdin, transport=transport)
    finally:
        await engine.stop()
