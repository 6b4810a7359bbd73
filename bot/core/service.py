"""The chat core: the one entry point every transport calls, for every message, edit and button tap.

`Core.handle(incoming)` runs one unit of work: it recognises a re-delivered platform update, finds who
is talking and where they are in a flow, routes the input (command, button, numbered answer, flow
answer, edited message), checks the role, and returns reply models. Replies without `to_chat_id` go
back to the chat the input came from. The core never imports a platform library.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy.exc import DBAPIError

from bot import groups
from bot.app import App
from bot.core import router
from bot.core.context import UNREGISTERED, Answer, Context
from bot.core.handlers import access, guide, plans, updates
from bot.core.menus import menu_keys, remember_menu
from bot.core.messages import Incoming, Reply
from bot.core.parsing import bare_number
from bot.core.plan_tasks import PlanTasks
from bot.i18n import _, normalize_language, use_language
from bot.render.inert import readable
from storage import limits, people
from storage.models.people import ACTIVE

log = logging.getLogger(__name__)


class _ConnectionLost(Exception):
    """The unit of work's first statements found the database connection closed."""


# Kept a little longer than any platform re-delivers an update (Telegram: 24 hours).
PROCESSED_KEEP = dt.timedelta(days=3)
# Longer than any limit's window (code guesses: minutes; registration requests: a day).
ATTEMPTS_KEEP = dt.timedelta(days=2)
# How often (in handled messages) old dedup keys and expired buttons are cleared away.
HOUSEKEEPING_EVERY = 500


def _cleaned(incoming: Incoming) -> Incoming:
    # Control characters, non-characters and lone surrogates: no one can read them, PostgreSQL
    # refuses NUL, and XML (the DOCX and XLSX reports) refuses most of them.
    text = readable(incoming.text or "")
    name = readable(incoming.user_name or "")
    if text == incoming.text and name == incoming.user_name:
        return incoming
    return dataclasses.replace(incoming, text=text, user_name=name)


def _mark_question(ctx: Context, replies: list[Reply]) -> None:
    """When the person is left in the middle of a flow, the last reply to their chat is its question."""
    if not ctx.flow or ctx.state.expires_at <= ctx.now:
        return
    own = [reply for reply in replies if reply.to_chat_id is None]
    if own:
        own[-1].awaits_answer = True


class Core:
    def __init__(self, app: App):
        self.app = app
        self._handled = 0
        # Kept between messages: the plan's tasks change only on import (see bot.core.plan_tasks).
        self._plan_tasks = PlanTasks()

    async def handle(self, incoming: Incoming) -> list[Reply]:
        return await self._unit(incoming, self._dispatch)

    async def act(self, incoming: Incoming, action: str, payload: dict) -> list[Reply]:
        """Run a button's action for the member of `incoming`'s chat, as if they had tapped it.

        For the web dashboard: its forms do what chat buttons do, through the same handlers, role
        checks and texts. Unlike a tapped button, `payload` comes from the form: every action
        handler validates what it is given (a request still pending, an invite that exists).
        """
        return await self._unit(incoming, lambda ctx: self._perform(ctx, action, payload))

    async def _unit(self, incoming: Incoming, route) -> list[Reply]:
        incoming = _cleaned(incoming)
        try:
            return await self._unit_once(incoming, route, first_try=True)
        except _ConnectionLost:
            # Nothing had run: the database had dropped the pooled connection (a restart, a
            # failover) since it was last used, and SQLAlchemy has replaced the pool's since.
            log.warning("the database connection was lost before the update was handled: trying again")
            return await self._unit_once(incoming, route, first_try=False)

    async def _unit_once(self, incoming: Incoming, route, *, first_try: bool) -> list[Reply]:
        language = self._fallback_language(incoming)
        try:
            # Brief: a message's writes are a few rows (housekeeping's deletes say otherwise).
            async with self.app.db.transaction(brief=True) as session:
                now = self.app.clock.now()
                ctx = await self._open(session, incoming, now, first_try=first_try)
                if ctx is None:
                    log.info("update %s/%s already handled", incoming.platform, incoming.update_key)
                    return []
                language = ctx.language
                with use_language(ctx.language):
                    replies = await route(ctx)
                await self._record_menus(ctx, replies)
                _mark_question(ctx, replies)
                await ctx.write_buttons()
                await self._housekeeping(session, now)
            with use_language(ctx.language):
                for job in ctx.after_commit:
                    await job()
            return replies
        except _ConnectionLost:
            raise
        except Exception:
            # Whatever went wrong, nothing is half-stored: the unit of work was rolled back, or it had
            # committed and what failed after it only drew what was asked for (a report, a chart).
            log.exception("failed to handle %s update from %s", incoming.platform, incoming.user_id)
            with use_language(language):
                return [Reply(_("Sorry, something went wrong and nothing was saved. Please try again."))]

    # ------------------------------------------------------------------ set-up

    def _fallback_language(self, incoming: Incoming) -> str:
        if incoming.language_hint:
            return normalize_language(incoming.language_hint)
        return self.app.config.i18n.default_language

    async def _open(
        self, session, incoming: Incoming, now: dt.datetime, *, first_try: bool
    ) -> Context | None:
        """The message's context; None when the update was handled before (a re-delivery).

        Its statements are the unit of work's first: when they find the connection dropped on the
        first try, nothing has run, and `_ConnectionLost` asks for the unit to run again."""
        try:
            if incoming.update_key and not await people.mark_processed(
                session, platform=incoming.platform, update_key=incoming.update_key, now=now
            ):
                return None
            member, state = await people.member_and_state(
                session, platform=incoming.platform, external_id=incoming.user_id, chat_id=incoming.chat_id
            )
        except DBAPIError as exc:
            if first_try and exc.connection_invalidated:
                raise _ConnectionLost from exc
            raise
        if member is not None and people.heard_from(
            member, platform=incoming.platform, external_id=incoming.user_id, chat_id=incoming.chat_id
        ):
            # Marked unreachable after a blocked send; writing again shows the way is open: reminders resume.
            log.info("member %s writes on %s again: reachable", member.id, incoming.platform)
        ctx = Context(
            app=self.app,
            session=session,
            incoming=incoming,
            now=now,
            member=member,
            state=state,
            language=self._fallback_language(incoming),
            plan_tasks=self._plan_tasks,
        )
        if member is not None and member.status == ACTIVE:
            ctx.language = member.language
        elif ctx.stored_language:
            ctx.language = ctx.stored_language
        elif member is not None:
            ctx.language = member.language
        return ctx

    # ------------------------------------------------------------------ routing

    async def _dispatch(self, ctx: Context) -> list[Reply]:
        notices: list[Reply] = []
        if ctx.flow and ctx.state.expires_at <= ctx.now:
            command = router.FLOWS[ctx.flow].command if ctx.flow in router.FLOWS else ""
            notices.append(
                Reply(
                    _(
                        "Your unfinished {command} timed out and was cancelled; nothing from it was saved."
                    ).format(command=command)
                )
            )
            await ctx.end_flow()
            await ctx.set_menu([])
        return notices + await self._route(ctx)

    async def _route(self, ctx: Context) -> list[Reply]:
        incoming = ctx.incoming
        if incoming.callback_data is not None:
            return await self._on_button(ctx, incoming.callback_data)
        if incoming.edited:
            if ctx.role == UNREGISTERED:
                return []
            return await updates.on_edited_message(ctx)
        text = (incoming.text or "").strip()
        match = router.find_command(text)
        flow = router.FLOWS.get(ctx.flow)
        if match is not None:
            bare_cancel = match.command.name == router.CANCEL and not match.args
            if match.explicit or flow is None or bare_cancel:
                return await self._run_command(ctx, match)
        if text.startswith("/") and groups.command_word(text) in groups.LINK_WORDS | groups.UNLINK_WORDS:
            # Listed in the guide, but it acts on the group it is typed in: say where it works.
            return [
                Reply(
                    _(
                        "{command} works in a Telegram group: add the bot to the agency's group, then a "
                        "coordinator types it there, for example /lienketnhom Sở Du lịch."
                    ).format(command=text.split()[0])
                )
            ]
        if text.startswith("/"):
            return [
                Reply(
                    _("Unknown command {command}. Send /trogiup to see the commands.").format(
                        command=text.split()[0]
                    )
                )
            ]
        number = bare_number(text)
        menu = await ctx.current_menu() if number is not None else []
        if menu:
            if 1 <= number <= len(menu):
                return await self._on_button(ctx, menu[number - 1])
            if flow is None:
                return [Reply(_("Please answer with a number from 1 to {count}.").format(count=len(menu)))]
        if flow is not None and ctx.step in flow.steps:
            refusal = await self._flow_refusal(ctx)
            if refusal is not None:
                return refusal
            answer = Answer(
                text=text,
                attachment=incoming.attachment,
                message_id=incoming.message_id,
                contact=incoming.contact,
            )
            return await flow.steps[ctx.step].handler(ctx, answer)
        if ctx.role == UNREGISTERED:
            return access.how_to_register(ctx)
        shortcut = await updates.try_bare_update(ctx, text)
        if shortcut is not None:
            return shortcut
        return [
            Reply(_("I did not understand that. Here is what you can do:") + "\n" + guide.command_lines(ctx))
        ]

    async def _run_command(self, ctx: Context, match: router.Match) -> list[Reply]:
        command = match.command
        if ctx.role not in command.roles:
            if ctx.role == UNREGISTERED:
                return access.how_to_register(ctx)
            return access.not_allowed(ctx, command.name, admins_only=command.roles == router.ADMINS)
        if command.private_only and ctx.incoming.is_group:
            return [Reply(_(command.private_only))]
        if ctx.flow and command.name != router.CANCEL:
            # Starting something new leaves whatever was unfinished.
            await ctx.end_flow()
        args = match.args
        if command.per_plan:
            picked = await plans.pick_plan(ctx, command.name, args)
            if isinstance(picked, list):
                return picked
            plan, args = picked
            ctx.use_plan(plan)
        return await command.handler(ctx, args)

    async def _on_button(self, ctx: Context, key: str) -> list[Reply]:
        callback = await people.callback_by_key(ctx.session, key)
        if callback is None or callback.expires_at <= ctx.now or callback.action not in router.ACTIONS:
            return [Reply(_("That button is no longer valid. Send /trogiup to see what you can do."))]
        if (callback.platform, callback.user_id) != (ctx.incoming.platform, ctx.incoming.user_id):
            log.warning(
                "button %s… used by %s/%s, not its owner",
                key[:4],
                ctx.incoming.platform,
                ctx.incoming.user_id,
            )
            return [Reply(_("That button was not meant for you."))]
        if callback.chat_id is not None and callback.chat_id != ctx.incoming.chat_id:
            # Shown in one chat, answered in another: a number typed in a group must not run what a
            # private chat offered (a city-wide report posted to the group).
            log.warning("button %s… used in another chat by %s/%s", key[:4], *ctx.user_key[::2])
            return [
                Reply(_("That button belongs to another chat. Send /trogiup to see what you can do here."))
            ]
        return await self._perform(ctx, callback.action, dict(callback.payload))

    async def _perform(self, ctx: Context, name: str, payload: dict) -> list[Reply]:
        action = router.ACTIONS.get(name)
        if action is None:
            return [Reply(_("That button is no longer valid. Send /trogiup to see what you can do."))]
        if ctx.role not in action.roles:
            if ctx.role == UNREGISTERED:
                return access.how_to_register(ctx)
            return [Reply(_("You may not do that any more. Send /trogiup to see what you can do."))]
        if name == router.ANSWER and ctx.flow:
            refusal = await self._flow_refusal(ctx)
            if refusal is not None:
                return refusal
        return await action.handler(ctx, payload)

    async def _flow_refusal(self, ctx: Context) -> list[Reply] | None:
        """Ends the flow, with why, when the person may no longer go on with it: their role or their
        agency changed since it started (a hand-over retired them, a coordinator moved them)."""
        roles = router.FLOW_ROLES.get(ctx.flow, frozenset())
        if ctx.role in roles and not ctx.flow_agency_changed:
            return None
        command = router.FLOWS[ctx.flow].command if ctx.flow in router.FLOWS else ""
        log.info("flow %s ended: member %s no longer may", ctx.flow, ctx.member.id if ctx.member else None)
        await ctx.end_flow()
        await ctx.set_menu([])
        return [
            Reply(
                _(
                    "Your {command} was stopped: your role or agency has changed since you started it, so "
                    "nothing from it was saved. Send /trogiup to see what you can do now."
                ).format(command=command)
            )
        ]

    # ------------------------------------------------------------------ after

    async def _record_menus(self, ctx: Context, replies: list[Reply]) -> None:
        """Remember the last buttons each person was shown, so a bare number can answer them."""
        own = [reply for reply in replies if reply.to_chat_id is None]
        with_buttons = [reply for reply in own if reply.buttons]
        await ctx.set_menu(menu_keys(with_buttons[-1]) if with_buttons else [])
        for reply in replies:
            addressee = ctx.addressees.get(id(reply))
            if addressee is not None:
                await remember_menu(
                    ctx.session,
                    platform=addressee.platform,
                    chat_id=addressee.chat_id,
                    user_id=addressee.user_id,
                    reply=reply,
                    now=ctx.now,
                )

    async def _housekeeping(self, session, now: dt.datetime) -> None:
        self._handled += 1
        if self._handled % HOUSEKEEPING_EVERY:
            return
        await people.forget_processed_before(session, now - PROCESSED_KEEP)
        await people.forget_callbacks_before(session, now)
        await limits.forget_before(session, now - ATTEMPTS_KEEP)
