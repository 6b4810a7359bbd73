"""The console chat: the whole bot in a terminal, no token needed.

`nhacviec chat [--as NAME]` reads lines and prints the replies, one block per input line; buttons
show as numbered choices, answered by typing the number. It works interactively and with piped input
(for scripts and tests). Everyone typing at one console shares the screen, so messages addressed to
another person are printed under their name. Every file the bot sends (DOCX, XLSX, CSV, chart, zip)
is saved in a folder (`--files DIR`, by default `exports/` beside the database) and the reply says
where: "[📄 name.docx, 64 KB → exports/name.docx]". Lines starting with ":" are for the console itself:

    :as NAME      continue as another person (a coordinator approving, a focal point reporting)
    :edit TEXT    replace your previous message with TEXT, as editing a chat message does
    :file PATH    send a file from this computer (evidence when /capnhat asks for one)
    :now MOMENT   move the clock: `:now 2020-06-12 08:00`, `:now 12/6/2020`, `:now +3d`, `:now +2h`
    :quit         leave (end of input does the same)

The clock: the console runs on a TravelClock, the one clock the core, the reminder engine and the
database writes read. `--now` starts it at a moment of a plan's calendar, `:now` moves it; after each
move the planner and sender ticks run at once, so the reminders, overdue notices and coordinators'
digests that fall due print here under the name of whoever receives them, as the engine sends them on
any platform. Once set, the clock only moves forward. The real transports always use the wall clock.

`nhacviec run` without a platform token runs `run_quickstart`: it makes sure a plan is loaded, prints
invites on its first run, says when the plan has ended (and which `:now` shows it working), starts the
reminder engine on this console, and chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import getpass
import itertools
import logging
import mimetypes
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from bot.app import App
from bot.core import registration
from bot.core.messages import Attachment, Incoming, Reply
from bot.core.parsing import parse_duration, parse_moment
from bot.core.service import Core
from bot.i18n import _, format_day, use_language
from bot.reminders import (
    Engine,
    build_engine,
    calendar_from_config,
    policy_from_config,
    start_reminder_engine,
)
from bot.render.text import with_numbered_choices
from bot.transports.base import Recipient
from scheduler.calendar import local_instant
from scheduler.clock import ClockBackwards, TravelClock
from scheduler.planner import preview
from storage import people
from storage.assignments import current_plan, tasks_by_agency
from storage.models.people import ACTIVE, COORDINATOR, FOCAL
from storage.models.plan import Agency
from storage.models.reminders import REPORT
from storage.plans.staging import import_file_if_empty

log = logging.getLogger(__name__)

PLATFORM = "console"
REPO_ROOT = Path(__file__).resolve().parents[2]
# The reference plan sits beside a checkout in the development layout; a clone elsewhere has the sample.
REFERENCE_PLAN = REPO_ROOT.parent / "shared" / "plans" / "ke-hoach-87-KH-UBND-2020.txt"
SAMPLE_PLAN = REPO_ROOT / "storage" / "samples" / "ke-hoach-mau.txt"
QUICKSTART_INVITE_DAYS = 7
# Sender ticks run after a clock move, until one delivers nothing (a batch holds batch_size rows).
MAX_SENDS_PER_MOVE = 20


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
        # Where files the bot sends (reports, charts) are saved; None shows only their name and size
        # (tests that look only at the text).
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
    """One console session: who is typing, their previous message (for :edit), and the clock."""

    def __init__(self, core: Core, transport: ConsoleTransport, user: str, *, engine: Engine | None = None):
        self.core = core
        self.app = core.app
        # The console's own remarks (not the bot's replies) use the deployment's default language.
        self.language = core.app.config.i18n.default_language
        self.transport = transport
        self.user = user
        # Runs the planner and sender ticks after a clock move; None when reminders are not sent here.
        self.engine = engine
        self._ids = itertools.count(1)
        self._last_message: dict[str, str] = {}

    async def line(self, text: str) -> bool:
        """Handle one input line; False when the session should end."""
        text = text.rstrip("\n").strip()
        if not text:
            return True
        if text.startswith(":"):
            return await self._console_command(text)
        await self._send(self._incoming(text=text))
        return True

    def _incoming(self, **fields) -> Incoming:
        message_id = str(next(self._ids))
        self._last_message[self.user] = message_id
        return Incoming(**self._who(), message_id=message_id, update_key=None, **fields)

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

    def _say(self, text: str) -> None:
        self.transport.out.write(text + "\n\n")
        self.transport.out.flush()

    async def _console_command(self, text: str) -> bool:
        with use_language(self.language):
            return await self._console_word(text)

    async def _console_word(self, text: str) -> bool:
        word, _sep, rest = text[1:].partition(" ")
        word, rest = word.lower(), rest.strip()
        if word in ("q", "quit", "exit", "thoat"):
            return False
        if word == "as" and rest:
            self.user = rest
            self._say(_("(now chatting as {name})").format(name=self.user))
            return True
        if word == "edit" and rest and self.user in self._last_message:
            await self._send(
                Incoming(**self._who(), text=rest, message_id=self._last_message[self.user], edited=True)
            )
            return True
        if word == "file":
            await self._send_file(rest)
            return True
        if word == "now":
            await self._move_clock(rest)
            return True
        self._say(
            _(
                ":as NAME to change person | :edit TEXT to edit your last message | :file PATH to send a "
                "file | :now 2020-06-12 08:00 or :now +3d to move the clock | :quit"
            )
        )
        return True

    # ------------------------------------------------------------ :file

    async def _send_file(self, text: str) -> None:
        attachment = _local_attachment(text)
        if attachment is None:
            self._say(
                _("No such file: “{path}”. Write :file followed by the path of a file.").format(path=text)
            )
            return
        await self._send(self._incoming(attachment=attachment))

    # ------------------------------------------------------------ :now

    def _clock(self) -> TravelClock | None:
        return self.app.clock if isinstance(self.app.clock, TravelClock) else None

    def _local_now(self) -> dt.datetime:
        return self.app.clock.now().astimezone(self.app.config.tz)

    def _describe_now(self) -> str:
        now = self._local_now()
        return _("(clock: {day}, {time})").format(
            day=format_day(now.date(), self.language), time=now.strftime("%H:%M")
        )

    async def _move_clock(self, text: str) -> None:
        clock = self._clock()
        if clock is None:
            self._say(_("This console runs on the real clock; it cannot be moved."))
            return
        if not text:
            self._say(self._describe_now())
            return
        target = self._moment(text)
        if target is None:
            self._say(
                _(
                    "“{text}” is not a moment. Write a day and a time, such as :now 2020-06-12 08:00 "
                    "or :now 12/6/2020 8h, or a step forward, such as :now +3d or :now +2h."
                ).format(text=text)
            )
            return

        def jump() -> None:
            clock.move_to(target)
            self._say(self._describe_now())

        try:
            if self.engine is None:
                jump()
            else:
                await self.engine.after_jump(jump, max_sends=MAX_SENDS_PER_MOVE)
        except ClockBackwards:
            self._say(
                _("The clock only moves forward: it is already {now}.").format(
                    now=self._local_now().strftime("%d/%m/%Y %H:%M")
                )
            )
            return

    def _moment(self, text: str) -> dt.datetime | None:
        if text.startswith("+"):
            step = parse_duration(text[1:])
            return None if step is None else self.app.clock.now() + step
        parsed = parse_moment(text, self._local_now().year)
        if parsed is None:
            return None
        day, time = parsed
        # A day alone means the hour reminders go out, so that the day's reminders arrive.
        return local_instant(day, time or self.app.config.reminders.report.send_time, self.app.config.tz)

    async def run_ticks(self) -> None:
        """What the engine would do at this moment (planner, then sender until nothing more is due),
        printed as it is sent."""
        if self.engine is not None:
            await self.engine.after_jump(lambda: None, max_sends=MAX_SENDS_PER_MOVE)


def _local_attachment(text: str) -> Attachment | None:
    path = Path(text.strip().strip("\"'")).expanduser()
    if not text.strip() or not path.is_file():
        return None
    path = path.resolve()
    # The console has no file server: the file's own path is what a platform's file id is elsewhere.
    return Attachment(
        file_id=str(path),
        filename=path.name,
        mime_type=mimetypes.guess_type(path.name)[0],
        size=path.stat().st_size,
    )


def _quiet_logs(app: App) -> None:
    """The chat and the logs share one terminal: routine INFO lines (ticks, migrations) would bury
    the conversation, so only warnings show unless DEBUG was asked for."""
    if app.config.logging.level != "DEBUG":
        logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))


class _Lines:
    """Input lines from a daemon thread. Reading blocks; a thread of its own keeps the event loop (and
    the reminder engine) running meanwhile, and being a daemon it never keeps the process waiting for
    an Enter that will not come once the chat has ended (Ctrl-C)."""

    def __init__(self, stream: TextIO):
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        threading.Thread(target=self._read, args=(stream,), name="console-input", daemon=True).start()

    def _read(self, stream: TextIO) -> None:
        while True:
            try:
                line = stream.readline()
            except (OSError, ValueError):  # the stream was closed under us
                line = ""
            try:
                self._loop.call_soon_threadsafe(self._queue.put_nowait, line)
            except RuntimeError:  # the loop has closed: nobody is listening any more
                return
            if not line:
                return

    async def next(self) -> str:
        return await self._queue.get()


@contextlib.contextmanager
def _stop_on_interrupt(stop: asyncio.Event):
    """Ctrl-C ends the chat at once, as leaving it with :quit does."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, stop.set)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


async def run_chat(
    app: App,
    *,
    user: str | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    transport: ConsoleTransport | None = None,
    engine: Engine | None = None,
) -> int:
    """Chat until the input ends, :quit or Ctrl-C. With a TravelClock on the app, `:now` moves it and
    runs `engine`'s ticks (one is built on this console's transport when none is given)."""
    stdin = stdin or sys.stdin
    _quiet_logs(app)
    transport = transport or ConsoleTransport(stdout)
    if engine is None and isinstance(app.clock, TravelClock):
        engine = build_engine(app, {PLATFORM: transport}, serial=True)
    chat = ConsoleChat(Core(app), transport, user or default_user(), engine=engine)
    interactive = stdin.isatty()
    out = transport.out
    lines = _Lines(stdin)
    stop = asyncio.Event()
    with _stop_on_interrupt(stop):
        if isinstance(app.clock, TravelClock) and app.clock.travelled:
            # Started at a moment of the plan (--now): what falls due then arrives first.
            await chat.run_ticks()
        while True:
            if interactive:
                out.write(f"{chat.user}> ")
                out.flush()
            line = await _next_or_stop(lines, stop)
            if line is None:  # Ctrl-C
                out.write("\n")
                out.flush()
                break
            if not line:  # end of input
                break
            if not interactive and line.strip():
                # Echo piped input, so the transcript reads as a conversation.
                out.write(f"{chat.user}> {line.strip()}\n")
            if not await chat.line(line):
                break
    return 0


async def _next_or_stop(lines: _Lines, stop: asyncio.Event) -> str | None:
    reading = asyncio.ensure_future(lines.next())
    stopping = asyncio.ensure_future(stop.wait())
    done, pending = await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return reading.result() if reading in done else None


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
    report = await import_file_if_empty(
        app.db, path, default_issuer=app.config.plan.issuer, now=app.clock.now()
    )
    if report is not None:
        out.write(
            _("Imported the plan {number} from {file}.").format(number=report.number, file=path.name) + "\n"
        )


async def _first_run(session) -> bool:
    """Nobody has been invited or registered yet: the database was just made by this quick start."""
    if await people.list_members(session, include_retired=True):
        return False
    return not await people.list_invites(session, now=dt.datetime.now(dt.UTC), include_inactive=True)


async def _quickstart_invites(app: App, user: str) -> list[str]:
    """Invites on the first run only: printing new ones on every start would leave usable codes
    behind, and using a second focal-point code would hand the agency over from whoever took the first."""
    now = app.clock.now()
    valid_for = dt.timedelta(days=QUICKSTART_INVITE_DAYS)
    lines: list[str] = []
    async with app.db.transaction() as session:
        member = await people.member_by_identity(session, PLATFORM, user)
        if member is not None and member.status == ACTIVE:
            lines.append(
                _("You are chatting as “{name}”, already registered. Send /trogiup for the commands.").format(
                    name=user
                )
            )
        elif not await _first_run(session):
            lines.append(_("You are chatting as “{name}”, not registered here yet.").format(name=user))
            lines.append(
                _(
                    "Invites were printed on the first run. To make a new one, stop (Ctrl-C) and run "
                    "`.venv/bin/nhacviec invite create --role coordinator` (or `--agency NAME` for a "
                    "focal point), then send /start CODE here."
                )
            )
        else:
            issued = await registration.issue_invite(
                session, role=COORDINATOR, agency=None, now=now, valid_for=valid_for
            )
            lines.append(
                _("You are chatting as “{name}”. To register as a coordinator, send:").format(name=user)
            )
            lines.append(f"    /start {issued.token}")
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
    return lines


async def plan_ended_hint(app: App) -> str | None:
    """When every reminder of the plan lies in the past: say so, and which `:now` shows them."""
    tz = app.config.tz
    today = app.clock.now().astimezone(tz).date()
    async with app.db.snapshot() as session:
        plan = await current_plan(session)
        if plan is None:
            return None
        rows = await preview(
            session,
            policy_from_config(app.config),
            calendar_from_config(app.config),
            first_day=dt.date(plan.start_year, 1, 1),
            last_day=max(today, dt.date(plan.end_year + 1, 12, 31)),
            plan_ids=[plan.id],
            extra_reporting=app.config.plan.extra_reporting_deadlines,
            grace_days=app.config.plan.grace_days,
        )
        number = plan.number
    if not rows or rows[-1].send_at.date() >= today:
        return None
    first = next((row for row in rows if row.kind == REPORT), rows[0])
    return _(
        "Plan {number} has ended: its last deadline was {day}, so no reminder falls due now. To watch "
        "reminders arrive, move the clock into the plan's calendar: :now {moment}"
    ).format(
        number=number,
        day=format_day(rows[-1].deadline),
        moment=first.send_at.strftime("%Y-%m-%d %H:%M"),
    )


def default_files_dir(app: App) -> Path:
    """`exports/` beside the database file (the working directory for a server database)."""
    database = app.db.sqlite_path()
    return (database.parent if database else Path.cwd()) / "exports"


def use_travel_clock(app: App, now: str | None) -> None:
    """The console's clock: the wall clock, or the moment `--now` names (local time)."""
    from bot.cli import CommandError

    clock = TravelClock(app.clock)
    if now:
        year = clock.now().astimezone(app.config.tz).year
        parsed = parse_moment(now, year)
        if parsed is None:
            raise CommandError(
                _('--now {value!r}: write a day and a time, such as "2020-06-12 08:00"').format(value=now)
            )
        day, time = parsed
        clock.move_to(local_instant(day, time or app.config.reminders.report.send_time, app.config.tz))
    app.clock = clock


async def run_quickstart(
    app: App,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    files_dir: Path | None = None,
) -> int:
    """`nhacviec run` with no platform token: a plan, invites on the first run, a word when the plan
    has ended, the reminder engine writing to this console, and the chat."""
    out = stdout or sys.stdout
    _quiet_logs(app)
    with use_language(app.config.i18n.default_language):
        await ensure_plan(app, out)
        user = default_user()
        lines = await _quickstart_invites(app, user)
        hint = await plan_ended_hint(app)
        if hint:
            lines.append(hint)
        lines.append(
            _(
                "Type :as NAME to change person, :now to move the clock, :quit (or Ctrl-C) to leave. "
                "Answer numbered choices with their number."
            )
        )
        banner = "\n".join(lines) + "\n\n"
    transport = ConsoleTransport(out, files_dir=files_dir or default_files_dir(app))
    engine = await start_reminder_engine(app, {PLATFORM: transport}, serial=True)
    dashboard = await _start_dashboard(app, transport, out)
    # The banner last: whoever waits for it (a person, a test sending Ctrl-C) finds everything started.
    out.write(banner)
    out.flush()
    try:
        return await run_chat(app, user=user, stdin=stdin, transport=transport, engine=engine)
    finally:
        await engine.stop()
        if dashboard is not None:
            await dashboard.stop()


async def _start_dashboard(app: App, transport: ConsoleTransport, out: TextIO):
    """The web dashboard beside the console chat; a busy port costs the dashboard, not the chat."""
    if not app.config.web.enabled:
        return None
    from bot.web.server import deliver_through, start_web_server

    try:
        server = await start_web_server(app, deliver=deliver_through(app, {PLATFORM: transport}))
    except OSError as exc:
        out.write(_("The web dashboard could not start: {reason}").format(reason=exc.strerror or exc) + "\n")
        return None
    with use_language(app.config.i18n.default_language):
        out.write(
            _("Web dashboard: {url} (send /web in the chat for a sign-in link)").format(url=server.url)
            + "\n\n"
        )
    out.flush()
    return server
