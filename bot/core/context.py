"""What a handler gets: the unit of work, who is talking, their language, their place in a flow,
and the means to make buttons that are keyed server-side.

One Context lives for one incoming message. Handlers read from it and return replies; the service
(bot.core.service) commits the session and records the numbered menus once the handler is done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.core.messages import Attachment, Button, Incoming, Reply, SharedContact
from bot.core.plan_tasks import PlanTasks
from bot.i18n import normalize_language
from storage import people
from storage.assignments import AssignedTask, all_plans, current_plan, plans_maybe_active
from storage.cycles import cycle_for
from storage.models.people import ACTIVE, ADMIN, COORDINATOR, ConversationState, Identity, Member
from storage.models.plan import Plan
from storage.plans import lifecycle
from storage.plans.repository import as_plan_id, plan_by_id

# The pseudo-role of anyone who is not an active member (unknown, pending, rejected, retired).
UNREGISTERED = "unregistered"

# Kept with what a flow has gathered: when it started (its timeout counts from there) and the
# agency of the member who started it (each step checks it is still theirs).
FLOW_STARTED = "_started_at"
FLOW_AGENCY = "_agency_id"

# A button stays usable this long; an approval request may wait days for a coordinator.
CALLBACK_TTL = dt.timedelta(days=30)

# Characters per message, by platform. Longer views are paged, so each page fits one message.
TEXT_LIMITS = {"telegram": 4096, "zalo": 2000, "zalo_oa": 2000, "console": 4096}
DEFAULT_TEXT_LIMIT = 2000


@dataclass(frozen=True)
class Answer:
    """A reply to a flow's question: typed text, a tapped (or numbered) choice, or a file."""

    text: str = ""
    value: Any = None
    by_button: bool = False
    attachment: Attachment | None = None
    message_id: str | None = None
    contact: SharedContact | None = None


@dataclass
class Addressee:
    """Who a reply to another chat is for, so that their numbered menu can be recorded too."""

    platform: str
    chat_id: str
    user_id: str


@dataclass
class Context:
    app: App
    session: AsyncSession
    incoming: Incoming
    now: dt.datetime
    member: Member | None
    state: ConversationState | None
    language: str
    addressees: dict[int, Addressee] = field(default_factory=dict)
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # The core passes its own, kept between messages; a fresh one reads the tasks afresh.
    plan_tasks: PlanTasks = field(default_factory=PlanTasks)
    new_buttons: list[dict] = field(default_factory=list)
    _plan: Plan | None = None
    _plan_loaded: bool = False
    _plans: list[Plan] | None = None
    _maybe_active: list[Plan] | None = None

    # ------------------------------------------------------------------ who

    @property
    def role(self) -> str:
        if self.member is None or self.member.status != ACTIVE:
            return UNREGISTERED
        return self.member.role

    @property
    def is_staff(self) -> bool:
        return self.role in (COORDINATOR, ADMIN)

    @property
    def platform(self) -> str:
        return self.incoming.platform

    @property
    def user_key(self) -> tuple[str, str, str]:
        return (self.incoming.platform, self.incoming.chat_id, self.incoming.user_id)

    # ------------------------------------------------------------------ when

    @property
    def tz(self) -> dt.tzinfo:
        return self.app.config.tz

    @property
    def today(self) -> dt.date:
        # Dates people mean are Hanoi dates; `now` is UTC.
        return self.now.astimezone(self.tz).date()

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(self.tz)

    # ------------------------------------------------------------------ what

    @property
    def text_limit(self) -> int:
        return TEXT_LIMITS.get(self.incoming.platform, DEFAULT_TEXT_LIMIT)

    async def plans(self) -> list[Plan]:
        """Every plan, most recent first (read once per message, and only by what lists them)."""
        if self._plans is None:
            self._plans = await all_plans(self.session)
        return self._plans

    def forget_plans(self) -> None:
        """A plan was closed or reopened: what this message reads of the plans next is read again."""
        self._plans = self._maybe_active = None
        self._plan, self._plan_loaded = None, False

    def plan_status(self, plan: Plan) -> str:
        """active, ended or closed, today (storage.plans.lifecycle decides)."""
        return lifecycle.plan_status(
            plan, self.today, grace_days=self.app.config.plan.grace_days, extra=self.extra_deadlines(plan)
        )

    async def active_plans(self) -> list[Plan]:
        """The plans being followed today, most recent first."""
        if self._plans is not None:
            candidates = self._plans
        else:
            if self._maybe_active is None:
                self._maybe_active = await plans_maybe_active(
                    self.session, today=self.today, grace_days=self.app.config.plan.grace_days
                )
            candidates = self._maybe_active
        return [plan for plan in candidates if self.plan_status(plan) == lifecycle.ACTIVE]

    async def last_ended_plan(self) -> Plan | None:
        """The plan that ended most recently (to point to when none is active)."""
        grace = self.app.config.plan.grace_days
        ended = [plan for plan in await self.plans() if self.plan_status(plan) != lifecycle.ACTIVE]
        return max(ended, key=lambda p: lifecycle.ends_on(p, grace, self.extra_deadlines(p)), default=None)

    def use_plan(self, plan: Plan | None) -> None:
        """The plan this message is about (a coordinator named it, or picked it from buttons)."""
        self._plan, self._plan_loaded = plan, True

    async def plan(self) -> Plan | None:
        """The plan this message is about: the one chosen (`use_plan`), else the most recent active
        plan, else the most recent plan of all (ended plans stay readable)."""
        if not self._plan_loaded:
            active = await self.active_plans()
            if active:
                self._plan = active[0]
            else:
                self._plan = await current_plan(self.session)
            self._plan_loaded = True
        return self._plan

    async def plan_by_id(self, plan_id) -> Plan | None:
        """A plan by id (from a button, a form or a task); None for anything else."""
        # Every stored update asks for its task's plan, nearly always one this message has read:
        # found here, it costs no trip to the database's thread (0.1 ms a one-line update).
        plan_id = as_plan_id(plan_id)
        for plan in (*(self._maybe_active or ()), *(self._plans or ())):
            if plan.id == plan_id:
                return plan
        return await plan_by_id(self.session, plan_id)

    async def agency_tasks(self, agency_id: int, plan: Plan | None = None) -> list[AssignedTask]:
        """The tasks `agency_id` reports on in `plan` (default: this message's plan), numbered as
        members type them."""
        plan = plan or await self.plan()
        if plan is None:
            return []
        return list((await self.plan_tasks.get(self.session, plan)).by_agency.get(agency_id, ()))

    async def agency_plans(self, agency_id: int) -> list[tuple[Plan, list[AssignedTask]]]:
        """The active plans that give `agency_id` tasks, each with those tasks, most recent first."""
        found = []
        for plan in await self.active_plans():
            tasks = await self.agency_tasks(agency_id, plan)
            if tasks:
                found.append((plan, tasks))
        return found

    async def plan_task(self, task_id: int) -> AssignedTask | None:
        """A task of an active plan (or of this message's plan) by id."""
        plans = [*await self.active_plans()]
        current = await self.plan()
        if current is not None and current not in plans:
            plans.append(current)
        for plan in plans:
            task = (await self.plan_tasks.get(self.session, plan)).by_id.get(task_id)
            if task is not None:
                return task
        return None

    def extra_deadlines(self, plan: Plan) -> list[dt.date]:
        return [
            dt.date.fromisoformat(f"{year}-{md}")
            for year in plan.years
            for md in self.app.config.plan.extra_reporting_deadlines
        ]

    def judging_day(self, plan: Plan) -> dt.date:
        """The day `plan` is judged from: today while it is followed; the day it ended (or was
        closed) after that, so an ended plan reads as it stood then."""
        return lifecycle.judging_day(
            plan,
            self.today,
            grace_days=self.app.config.plan.grace_days,
            extra=self.extra_deadlines(plan),
            tz=self.tz,
        )

    def cycle(self, plan: Plan) -> dt.date:
        return cycle_for(plan, self.judging_day(plan), extra=self.extra_deadlines(plan))

    def when_committed(self, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` after the unit of work has committed, outside any transaction: for slow work
        that needs no database, such as drawing a report (on SQLite the transaction holds the one
        write lock, so every other writer would wait for the drawing)."""
        self.after_commit.append(job)

    # ------------------------------------------------------------------ conversation state

    @property
    def flow(self) -> str:
        return self.state.flow if self.state is not None else ""

    @property
    def step(self) -> str:
        return self.state.step if self.state is not None else ""

    @property
    def flow_data(self) -> dict:
        if self.state is None:
            return {}
        return dict(self.state.data.get("flow", {}))

    @property
    def flow_agency_changed(self) -> bool:
        """Whether the member's agency is no longer the one the current flow was started for."""
        data = self.flow_data
        if FLOW_AGENCY not in data:
            return False  # a flow stored before the agency was recorded
        current = self.member.agency_id if self.member is not None else None
        return data[FLOW_AGENCY] != current

    @property
    def stored_language(self) -> str | None:
        """A language chosen before registering (kept with the chat state, there is no member yet)."""
        return self.state.data.get("language") if self.state is not None else None

    async def _save(self, *, flow: str, step: str, data: dict) -> None:
        timeout = dt.timedelta(minutes=self.app.config.chat.flow_timeout_minutes)
        # A flow times out counted from its start: answering (rightly or not) does not extend it.
        started = data.get("flow", {}).get(FLOW_STARTED)
        expires_at = (dt.datetime.fromisoformat(started) if started else self.now) + timeout
        platform, chat_id, user_id = self.user_key
        self.state = await people.save_state(
            self.session,
            platform=platform,
            chat_id=chat_id,
            user_id=user_id,
            flow=flow,
            step=step,
            data=data,
            now=self.now,
            expires_at=expires_at if flow else self.now,
            existing=self.state,
        )

    def _data(self) -> dict:
        return dict(self.state.data) if self.state is not None else {}

    async def goto(self, flow: str, step: str, **updates: Any) -> None:
        """Enter (or move within) a flow; `updates` join what the flow has gathered so far."""
        data = self._data()
        if self.flow == flow:
            gathered = dict(data.get("flow", {}))
        else:
            # Who started it and for which agency: every later step checks they still hold.
            gathered = {
                FLOW_STARTED: self.now.isoformat(),
                FLOW_AGENCY: self.member.agency_id if self.member is not None else None,
            }
        gathered.update(updates)
        data["flow"] = gathered
        await self._save(flow=flow, step=step, data=data)

    async def end_flow(self) -> None:
        if self.state is None or not self.state.flow:
            return
        data = self._data()
        data.pop("flow", None)
        await self._save(flow="", step="", data=data)

    async def current_menu(self) -> list[str]:
        """The numbered choices a bare number answers: the last buttons this person was shown, by the
        core or since then by anything else (a reminder's buttons, recorded only as button keys)."""
        data = self._data()
        since = dt.datetime.fromisoformat(data["menu_at"]) if data.get("menu_at") else None
        newer = await people.newest_callback_batch(
            self.session,
            platform=self.incoming.platform,
            user_id=self.incoming.user_id,
            chat_id=self.incoming.chat_id,
            after=since,
            now=self.now,
        )
        return newer or list(data.get("menu", []))

    async def set_menu(self, keys: list[str]) -> None:
        if self.state is None and not keys:
            return
        data = self._data()
        if not keys and not data.get("menu"):
            return  # nothing shown before, nothing now: the record stands
        data["menu"] = keys
        data["menu_at"] = self.now.isoformat()
        await self._save(flow=self.flow, step=self.step, data=data)

    async def remember_language(self, language: str) -> None:
        data = self._data()
        data["language"] = normalize_language(language)
        await self._save(flow=self.flow, step=self.step, data=data)

    # ------------------------------------------------------------------ buttons

    async def button(self, label: str, action: str, **payload: Any) -> Button:
        """A button for the user of this chat; tapping it runs `action` with `payload`."""
        incoming = self.incoming
        return self._new_button(incoming.platform, incoming.user_id, incoming.chat_id, label, action, payload)

    async def choice(self, label: str, value: Any) -> Button:
        """A button answering the current flow step (which must be set before the buttons are made)."""
        return await self.button(label, "answer", flow=self.flow, step=self.step, value=value)

    async def button_for(self, identity: Identity, label: str, action: str, **payload: Any) -> Button:
        """A button in a message to someone else: only that person can use it."""
        return self._new_button(
            identity.platform, identity.external_id, identity.chat_id, label, action, payload
        )

    def _new_button(
        self, platform: str, user_id: str, chat_id: str, label: str, action: str, payload: dict
    ) -> Button:
        row = people.new_callback(
            platform=platform,
            user_id=user_id,
            chat_id=chat_id,
            action=action,
            payload=payload,
            now=self.now,
            expires_at=self.now + CALLBACK_TTL,
        )
        self.new_buttons.append(row)
        return Button(label=label, data=row["key"])

    async def write_buttons(self) -> None:
        """Store the buttons made during this message, all in one statement. The service calls this
        before the unit of work commits; nothing looks a button up in the message that made it."""
        rows, self.new_buttons = self.new_buttons, []
        await people.add_callbacks(self.session, rows)

    def address_of(self, member: Member) -> Identity | None:
        """Where to write to another member: on this platform when they have an account here (the
        transport handling this message can deliver it), else on their preferred one."""
        return people.identity_for(member, self.incoming.platform) or people.identity_for(member)

    def to_identity(self, identity: Identity, reply: Reply) -> Reply:
        """Address `reply` to another member's chat."""
        reply.to_platform = identity.platform
        reply.to_chat_id = identity.chat_id
        self.addressees[id(reply)] = Addressee(identity.platform, identity.chat_id, identity.external_id)
        return reply
