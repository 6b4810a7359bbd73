"""Reminders as people see them, and the engine every runner starts.

- `render_notice(notice, buttons)`: the reminder text in the recipient's language — what is due and
  when ("Thứ Bảy, 20/6/2020 (còn 3 ngày)"), which of the agency's tasks still lack an update, how to
  answer in one tap — ending with a reference such as "[87/KH-UBND · 20/6 · T-3]" naming the plan,
  deadline and offset, so that a rare duplicate is recognisable at a glance.
- `Dispatcher`: delivers a notice through the member's identities — preferred platform first, then
  the others — under each platform's sending budget. A permanent error on one identity moves on to
  the next; when none is left the sender marks the member unreachable. When every channel is only
  closed for now (outside a Zalo OA reply window) the reminder ends undelivered, the member stays
  reachable, and the coordinators' digest lists them as not reached on time.
- `start_reminder_engine(app, transports)`: planner and sender ticks fired by APScheduler;
  `await engine.stop()` stops them, letting an in-flight send finish and handing back the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import insert

from bot.app import App, rate_specs
from bot.config import Config
from bot.core.menus import remember_menu
from bot.core.messages import Button, Reply
from bot.i18n import _, current_language, format_day, ngettext, use_language
from bot.ops.logging import log_notice
from bot.transports.base import Recipient, Transport
from bot.transports.zalo import oa_routes
from scheduler.calendar import WorkingCalendar
from scheduler.delivery import DeliveryError
from scheduler.notices import Address, Notice, NoticeItem
from scheduler.planner import Planner, PlanReport
from scheduler.policy import KindPolicy, Policy, offset_label
from scheduler.ratelimit import RateLimits
from scheduler.sender import Delivered, RecipientUnreachable, Sender, SenderSettings, SendReport
from scheduler.ticks import Ticks
from storage import people
from storage.models.people import CallbackAction
from storage.models.reminders import ESCALATION, OVERDUE, QUARTER, REPORT, TASK

log = logging.getLogger(__name__)

# Buttons in a reminder stay usable as long as the core's own buttons do.
BUTTON_TTL = dt.timedelta(days=30)
MAX_TASK_BUTTONS = 3
TASK_TEXT_LIMIT = 90
# Platforms that show real buttons. Elsewhere (console, Zalo) buttons become numbered choices and a
# person answers with the number, so the reminder's choices are remembered for them.
BUTTON_PLATFORMS = frozenset({"telegram"})
# The core's actions these buttons run (bot.core.router.ACTIONS).
UPDATE_TASK_ACTION = "update_task"
TASKS_PAGE_ACTION = "tasks_page"


# ---------------------------------------------------------------- settings from the configuration


def _kind_policy(section) -> KindPolicy:
    return KindPolicy(
        before_days=tuple(section.before_days),
        send_time=section.send_time,
        overdue_working_days=tuple(section.overdue_working_days),
        escalation_working_days=tuple(section.escalation_working_days),
    )


def policy_from_config(config: Config) -> Policy:
    reminders = config.reminders
    return Policy(
        timezone=config.tz,
        report=_kind_policy(reminders.report),
        quarter=_kind_policy(reminders.quarter),
        task=_kind_policy(reminders.task),
        late_grace=dt.timedelta(hours=reminders.late_grace_hours),
        co_lead_done=config.report.co_lead_done,
        merge_window=dt.timedelta(days=reminders.merge_window_days),
    )


def calendar_from_config(config: Config) -> WorkingCalendar:
    return WorkingCalendar(config.calendar.extra_days_off, config.calendar.extra_working_days)


def sender_settings(config: Config) -> SenderSettings:
    reminders = config.reminders
    return SenderSettings(
        lease=dt.timedelta(seconds=reminders.lease_seconds),
        lease_margin=dt.timedelta(seconds=min(30.0, reminders.lease_seconds / 4)),
        batch_size=reminders.batch_size,
        max_in_flight=reminders.max_in_flight,
        retry_backoff=tuple(dt.timedelta(seconds=s) for s in reminders.retry_backoff_seconds),
        max_attempts=reminders.max_attempts,
        plan_grace_days=config.plan.grace_days,
        co_lead_done=config.report.co_lead_done,
    )


# ---------------------------------------------------------------- text


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip(" ,;:.") + "…"


@functools.lru_cache(maxsize=512)
def _long_day(day: dt.date, language: str) -> str:
    # Thousands of reminders a tick name the same few deadlines.
    return format_day(day, language)


def _day_month(day: dt.date) -> str:
    return f"{day.day}/{day.month}"


def reference(notice: Notice) -> str:
    """'[87/KH-UBND · 20/6 · T-3]': plan, deadline and offset of every reminder in the message."""
    by_plan: dict[str, list[str]] = {}
    for item in notice.items:
        part = f"{_day_month(item.deadline)} · {offset_label(item.offset_days)}"
        parts = by_plan.setdefault(item.plan_number, [])
        if part not in parts:
            parts.append(part)
    return " ".join(f"[{plan} · {' | '.join(parts)}]" for plan, parts in by_plan.items())


def zns_fields(notice: Notice) -> dict[str, str]:
    """What a ZNS template's parameters may be filled with (`[zalo] zns_params`): the earliest
    deadline of the notice stands for it, since a template has room for one."""
    item = min(notice.items, key=lambda i: i.deadline)
    return {
        "member": notice.member_name,
        "agency": notice.agency_name or "",
        "plan": item.plan_number,
        "deadline": f"{item.deadline.day:02d}/{item.deadline.month:02d}/{item.deadline.year}",
        "tasks": str(sum(len(i.tasks) + i.more_tasks for i in notice.items)),
        "reference": reference(notice),
    }


def _when(today: dt.date, deadline: dt.date) -> str:
    days = (deadline - today).days
    if days == 0:
        return _("today")
    if days == 1:
        return _("tomorrow")
    if days > 1:
        return ngettext("in {count} day", "in {count} days", days).format(count=days)
    return ngettext("{count} day ago", "{count} days ago", -days).format(count=-days)


def _headline(item: NoticeItem, today: dt.date) -> str:
    day = _long_day(item.deadline, current_language())
    when = _when(today, item.deadline)
    if item.kind == REPORT:
        return _("The report on the plan's results is due {day} ({when}).").format(day=day, when=when)
    if item.kind == QUARTER:
        return _("Quarterly progress check-in: the quarter ends {day} ({when}).").format(day=day, when=when)
    if item.kind == TASK:
        return _("Tasks due {day} ({when}):").format(day=day, when=when)
    if item.kind == OVERDUE:
        if item.deadline_kind == REPORT:
            return _("OVERDUE: the report due {day} has not been received.").format(day=day)
        if item.deadline_kind == QUARTER:
            return _("OVERDUE: no progress update was received for the quarter that ended {day}.").format(
                day=day
            )
        return _("OVERDUE: these tasks were due {day} and have no update:").format(day=day)
    raise ValueError(f"no headline for {item.kind}")


def _task_lines(item: NoticeItem) -> list[str]:
    lines = [f"• {task.code} {_shorten(task.content, TASK_TEXT_LIMIT)}" for task in item.tasks]
    if item.more_tasks:
        lines.append(
            ngettext("…and {count} more task", "…and {count} more tasks", item.more_tasks).format(
                count=item.more_tasks
            )
        )
    return lines


def _focal_item(item: NoticeItem, today: dt.date) -> list[str]:
    lines = [_headline(item, today)]
    if item.tasks and item.deadline_kind != TASK:
        lines.append(_("Tasks without an update yet:"))
    lines += _task_lines(item)
    return lines


def _deadline_name(deadline_kind: str) -> str:
    if deadline_kind == REPORT:
        return _("reporting deadline")
    if deadline_kind == QUARTER:
        return _("quarter end")
    return _("task deadline")


def _digest_item(item: NoticeItem) -> list[str]:
    lines = [
        _("{what} {day}:").format(
            what=_deadline_name(item.deadline_kind).capitalize(),
            day=_long_day(item.deadline, current_language()),
        )
    ]
    if item.missing:
        count = len(item.missing)
        lines.append(
            ngettext("{count} agency has not reported:", "{count} agencies have not reported:", count).format(
                count=count
            )
        )
        for agency in item.missing:
            note = "" if agency.reachable_focal_points else " — " + _("no focal point the bot can reach")
            lines.append(f"• {agency.name}{note}")
    else:
        lines.append(_("Every agency has reported."))
    if item.unreachable:
        lines.append(_("Focal points the bot cannot reach (blocked it or left the chat):"))
        for member in item.unreachable:
            lines.append(f"• {member.name}" + (f" ({member.agency})" if member.agency else ""))
    if item.not_reached:
        lines.append(_("Could not be reached on time (outside Zalo OA's reply window):"))
        for member in item.not_reached:
            why = [_(oa_routes.REASONS[code]) for code in oa_routes.reasons_in(member.reason or "")]
            lines.append(
                f"• {member.name}"
                + (f" ({member.agency})" if member.agency else "")
                + (" — " + "; ".join(why) if why else "")
            )
    return lines


def render_notice(notice: Notice, buttons: Sequence[Sequence[Button]] = ()) -> Reply:
    """The message for one notice, in the recipient's language."""
    with use_language(notice.language):
        focal = [item for item in notice.items if item.kind != ESCALATION]
        digest = [item for item in notice.items if item.kind == ESCALATION]
        # One message a day covers every plan the person follows: each deadline then says its plan.
        several_plans = len({item.plan_number for item in notice.items}) > 1

        def named(item, lines: list[str]) -> list[str]:
            if not several_plans:
                return lines
            return [_("Plan {number}:").format(number=item.plan_number), *lines]

        blocks: list[list[str]] = []
        if focal:
            title = (
                _("⏰ Reminder for {agency}").format(agency=notice.agency_name)
                if notice.agency_name
                else _("⏰ Reminder")
            )
            blocks.append([title])
            blocks += [named(item, _focal_item(item, notice.today)) for item in focal]
            blocks.append([_("Tap a task below to report on it, or send /capnhat.")])
        if digest:
            blocks.append([_("📋 Reporting digest for coordinators")])
            blocks += [named(item, _digest_item(item)) for item in digest]
            blocks.append([_("Send /chuabaocao for the full list, /nhacnho to remind them now.")])
        blocks.append([reference(notice)])
        text = "\n\n".join("\n".join(block) for block in blocks)
    return Reply(text=text, buttons=[list(row) for row in buttons])


# ---------------------------------------------------------------- delivery


def _tasks_in(notice: Notice):
    seen = {}
    for item in notice.items:
        for task in item.tasks:
            seen.setdefault(task.task_id, task)
    return list(seen.values())


_CALLBACK_COLUMNS = ("key", "platform", "user_id", "chat_id", "action", "payload", "created_at", "expires_at")


async def _insert_callbacks(session, rows: list[dict]) -> None:
    """The rows storage.people.add_callback writes, a whole batch at once. On SQLite straight through
    the driver (JSON as text, UTC datetimes as SQLAlchemy stores them): at broadcast rates these
    few thousand rows a second are a large part of the sender's work."""
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        await connection.execute(insert(CallbackAction.__table__), rows)
        return
    stamps: dict[dt.datetime, str] = {}

    def stamp(value: dt.datetime) -> str:
        if value not in stamps:
            stamps[value] = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return stamps[value]

    await connection.exec_driver_sql(
        f"INSERT INTO callback_action ({', '.join(_CALLBACK_COLUMNS)}) VALUES ({', '.join('?' * 8)})",
        [
            (
                row["key"],
                row["platform"],
                row["user_id"],
                row["chat_id"],
                row["action"],
                json.dumps(row["payload"]),
                stamp(row["created_at"]),
                stamp(row["expires_at"]),
            )
            for row in rows
        ],
    )


class Dispatcher:
    """Delivers notices: picks the member's identity (preferred platform first, then the others, on
    the platforms this instance runs), waits for the platform's sending budget, sends."""

    def __init__(self, transports: Mapping[str, Transport], limits: RateLimits | None = None):
        self.transports = dict(transports)
        self.limits = limits
        self._buttons: dict[tuple[int, ...], dict[int, list[list[Button]]]] = {}
        self._sent: dict[tuple[int, ...], tuple[Address, Reply]] = {}

    def route(self, notice: Notice) -> list[Address]:
        order = list(self.transports)
        usable = [a for a in notice.addresses if a.platform in self.transports]
        return sorted(
            usable,
            key=lambda a: (a.platform != notice.preferred_platform, order.index(a.platform), a.identity_id),
        )

    async def prepare(self, session, notices: Sequence[Notice], now: dt.datetime) -> None:
        """Key the reminders' buttons for each identity that may receive them (the core honours a
        button only for the person it was made for)."""
        # What the previous batch left behind (a lease lost before acknowledging) is of no more use.
        self._buttons = {}
        self._sent = {}
        expires_at = now + BUTTON_TTL
        keyed: list[dict] = []
        for notice in notices:
            tasks = _tasks_in(notice)
            if not tasks and notice.agency_id is None:
                continue
            with use_language(notice.language):
                labels = [
                    (_("Update {code}").format(code=t.code), UPDATE_TASK_ACTION, {"task_id": t.task_id})
                    for t in tasks[:MAX_TASK_BUTTONS]
                ]
                if notice.agency_id is not None and (len(tasks) > MAX_TASK_BUTTONS or not tasks):
                    labels.append(
                        (_("All our tasks"), TASKS_PAGE_ACTION, {"agency_id": notice.agency_id, "page": 1})
                    )
            per_identity: dict[int, list[list[Button]]] = {}
            for address in self.route(notice):
                buttons = []
                for label, action, payload in labels:
                    key = secrets.token_urlsafe(people.CALLBACK_KEY_BYTES)
                    keyed.append(
                        {
                            "key": key,
                            "platform": address.platform,
                            "user_id": address.external_id,
                            "chat_id": address.chat_id,
                            "action": action,
                            "payload": payload,
                            "created_at": now,
                            "expires_at": expires_at,
                        }
                    )
                    buttons.append([Button(label, key)])
                per_identity[address.identity_id] = buttons
            self._buttons[tuple(notice.reminder_ids)] = per_identity
        if keyed:
            await _insert_callbacks(session, keyed)

    async def acknowledged(self, session, notice: Notice, delivered: Delivered, now: dt.datetime) -> None:
        """Where a platform has no buttons (console, Zalo), the person answers with the number of a
        choice: make this reminder's buttons their numbered choices."""
        sent = self._sent.pop(tuple(notice.reminder_ids), None)
        if sent is None:
            return
        address, reply = sent
        await remember_menu(
            session,
            platform=address.platform,
            chat_id=address.chat_id,
            user_id=address.external_id,
            reply=reply,
            now=now,
        )

    async def __call__(self, notice: Notice) -> Delivered:
        if not notice.addresses:
            raise RecipientUnreachable("no identity the bot can write to")
        route = self.route(notice)
        if not route:
            platforms = ", ".join(sorted({a.platform for a in notice.addresses}))
            raise DeliveryError(
                f"no transport running for the member's platforms ({platforms})", permanent=False
            )
        buttons = self._buttons.pop(tuple(notice.reminder_ids), {})
        dead: list[int] = []
        closed_for_now: DeliveryError | None = None
        # Whether every channel that was closed for now was closed by a reply window (see
        # DeliveryError.reply_window) rather than by a refusal a later try may get past.
        windows_only = True
        last: DeliveryError | None = None
        for address in route:
            reply = render_notice(notice, buttons.get(address.identity_id, ()))
            limiter = self.limits.for_platform(address.platform) if self.limits else None
            if limiter is not None:
                await limiter.acquire(address.chat_id)
            try:
                message_id = await self.transports[address.platform].send(
                    Recipient(address.platform, address.chat_id, notice.language), reply
                )
            except DeliveryError as exc:
                if exc.retry_after is not None and limiter is not None:
                    await limiter.pause(exc.retry_after)
                if not exc.permanent or exc.retry_after is not None:
                    raise
                if exc.channel_only:
                    closed_for_now = exc
                    windows_only = windows_only and exc.reply_window
                else:
                    dead.append(address.identity_id)
                    last = exc
                continue
            finally:
                if limiter is not None:
                    limiter.answered(address.chat_id)
            if reply.buttons and address.platform not in BUTTON_PLATFORMS:
                self._sent[tuple(notice.reminder_ids)] = (address, reply)
            return Delivered(address.platform, message_id, tuple(dead), address.identity_id)
        untried = [a for a in notice.addresses if a.platform not in self.transports]
        if closed_for_now is not None and windows_only and not untried:
            delivered = await self._last_resort(notice, route, buttons, dead)
            if isinstance(delivered, Delivered):
                return delivered
            closed_for_now = delivered or closed_for_now
        if closed_for_now is not None:
            # Not the member's fault, and not for ever. Another instance may run their other
            # platform, and a refused message may pass next time: try again later. When only reply
            # windows are in the way and nothing is left to try, waiting would only make the
            # reminder late: it ends, and the coordinators' digest names the member.
            ends = windows_only and not untried
            raise DeliveryError(str(closed_for_now), permanent=ends, channel_only=ends, reply_window=ends)
        raise RecipientUnreachable(str(last), dead, member_unreachable=not untried)

    async def _last_resort(
        self, notice: Notice, route: list[Address], buttons, dead: list[int]
    ) -> Delivered | DeliveryError | None:
        """Every channel is closed for now: a transport that has a way of last resort (the Zalo OA's
        ZNS) gets to try it. Its refusal says why, for the coordinators' digest."""
        for address in route:
            transport = self.transports[address.platform]
            last_resort = getattr(transport, "last_resort", None)
            if last_resort is None:
                continue
            reply = render_notice(notice, buttons.get(address.identity_id, ()))
            limiter = self.limits.for_platform(address.platform) if self.limits else None
            if limiter is not None:
                await limiter.acquire(address.chat_id)
            try:
                message_id = await last_resort(
                    Recipient(address.platform, address.chat_id, notice.language), reply, zns_fields(notice)
                )
            except DeliveryError as exc:
                if not (exc.permanent and exc.channel_only):
                    raise
                return exc
            return Delivered(address.platform, message_id, tuple(dead), address.identity_id)
        return None


class MetricsObserver:
    """Counts and logs delivery outcomes for /metrics and the logs."""

    def delivered(self, notice: Notice, delivered: Delivered, seconds: float) -> None:
        from bot.ops import metrics

        for item in notice.items:
            metrics.REMINDERS_SENT.inc(len(item.reminder_ids), kind=item.kind, platform=delivered.platform)
        metrics.SEND_SECONDS.observe(seconds, platform=delivered.platform)
        if not log.isEnabledFor(logging.INFO):
            return  # building the line's fields costs more than the send at broadcast rates
        log_notice(
            log,
            logging.INFO,
            "reminder delivered",
            notice,
            platform=delivered.platform,
            message_id=delivered.message_id,
            ref=reference(notice),
        )

    def not_delivered(self, notice: Notice, reason: str, error: BaseException | None) -> None:
        from bot.ops import metrics

        platform = notice.preferred_platform or ""
        for item in notice.items:
            metrics.REMINDERS_FAILED.inc(
                len(item.reminder_ids), kind=item.kind, platform=platform, reason=reason
            )
        log_notice(
            log,
            logging.WARNING,
            "reminder not delivered",
            notice,
            reason=reason,
            ref=reference(notice),
            error=error,
        )


# ---------------------------------------------------------------- the engine


@dataclass
class Engine:
    app: App
    planner: Planner
    sender: Sender
    dispatcher: Dispatcher
    ticks: Ticks | None = None
    # Set for a clock that can jump (the console's): ticks then run one at a time, and a jump happens
    # between them, so that no tick reads the time before a jump and acts after it.
    serial: asyncio.Lock | None = None

    def _one_at_a_time(self):
        return self.serial if self.serial is not None else contextlib.nullcontext()

    async def plan(self) -> PlanReport:
        async with self._one_at_a_time():
            return await self._plan()

    async def send(self) -> SendReport:
        async with self._one_at_a_time():
            return await self._send()

    async def _plan(self) -> PlanReport:
        report = await self.planner.tick(self.app.clock.now())
        _note_tick("planner", self.app.clock.now(), report)
        await self.fetch_evidence()
        return report

    async def fetch_evidence(self) -> None:
        """Evidence files whose download failed (or that a restart interrupted) are tried again on
        the planner's tick, which runs at start and then every few minutes."""
        from bot.evidence import Fetcher

        fetcher = Fetcher(self.app)
        try:
            await fetcher.fetch_due()
        except Exception:
            log.exception("evidence files: retry tick failed")
        finally:
            await fetcher.close()

    async def _send(self) -> SendReport:
        report = await self.sender.tick()
        _note_tick("sender", self.app.clock.now(), None)
        return report

    async def run_once(self) -> tuple[PlanReport, SendReport]:
        """One planner tick then one sender tick, now (for `nhacviec reminders run-once` and tests)."""
        return await self.plan(), await self.send()

    async def after_jump(self, jump: Callable[[], object], *, max_sends: int) -> object:
        """Move the clock with `jump()` between ticks, then run what falls due at the new moment: the
        planner, and the sender until a tick delivers nothing. Returns what `jump()` returned."""
        async with self._one_at_a_time():
            moved = jump()
            if self.app.config.reminders.enabled:
                await self._plan()
                for _turn in range(max_sends):
                    report = await self._send()
                    if not report.messages and not report.reminders_sent:
                        break
            return moved

    async def stop(self) -> None:
        """No new ticks; a send in flight finishes, claimed reminders not yet sent go back to pending."""
        self.sender.stop_sending()
        if self.ticks is not None:
            await self.ticks.stop()


def _note_tick(tick: str, now: dt.datetime, report: PlanReport | None) -> None:
    from bot.ops import metrics

    metrics.note_tick(tick, now)
    if report is not None:
        for kind, count in report.planned.items():
            metrics.REMINDERS_PLANNED.inc(count, kind=kind)


def build_engine(
    app: App, transports: Mapping[str, Transport], *, sleep_until=None, serial: bool = False
) -> Engine:
    config = app.config
    if sleep_until is None:
        # The budgets the process's chat replies draw on too: one limit for everything it sends.
        limits = app.rate_limits()
        write_lock = limits.write_lock
    else:
        write_lock = asyncio.Lock()
        limits = RateLimits(app.db, rate_specs(config), app.clock, sleep_until, write_lock=write_lock)
    dispatcher = Dispatcher(transports, limits)
    policy = policy_from_config(config)
    planner = Planner(
        app.db,
        policy,
        calendar_from_config(config),
        horizon=dt.timedelta(days=config.reminders.horizon_days),
        extra_reporting=config.plan.extra_reporting_deadlines,
        grace_days=config.plan.grace_days,
    )
    sender = Sender(
        app.db,
        dispatcher,
        app.clock,
        policy.timezone,
        settings=sender_settings(config),
        observer=MetricsObserver(),
        write_lock=write_lock,
    )
    return Engine(app, planner, sender, dispatcher, serial=asyncio.Lock() if serial else None)


async def start_reminder_engine(
    app: App, transports: Mapping[str, Transport], *, serial: bool = False
) -> Engine:
    """Start the planner and sender ticks for this process; `await engine.stop()` stops them.
    `serial`: ticks one at a time, for a clock that jumps (see `Engine.after_jump`)."""
    engine = build_engine(app, transports, serial=serial)
    if not app.config.reminders.enabled:
        log.info("reminders are disabled ([reminders] enabled = false)")
        return engine
    engine.ticks = Ticks(
        plan=engine.plan,
        send=engine.send,
        plan_every=app.config.reminders.plan_every_seconds,
        send_every=app.config.reminders.send_every_seconds,
    )
    engine.ticks.start()
    log.info("reminder engine started (%s)", ", ".join(transports) or "no transport")
    return engine
