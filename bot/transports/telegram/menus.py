"""Each Telegram chat's own command menu, kept in step with who is in it.

Telegram shows a chat the most specific menu set for it: a coordinator's or admin's private chat
gets their commands in their language (BotCommandScopeChat), a group linked to an agency gets what
can be done there in both languages, and every other chat the default menu (newcomers and focal
points, bot.transports.telegram.commands). The keeper compares what each chat should show with
what was last set (kept in the database) and sends only the difference: at start-up, after an
update that changed a member, an identity or a group link (a registration, an approval, a
hand-over, a role changed, a language chosen, a group linked or unlinked), and every
`[telegram] menu_check_seconds`, which is how a change made by another process (the command
line) reaches the menus.
"""

from __future__ import annotations

import asyncio
import json
import logging

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.i18n import _, use_language
from bot.transports.telegram.commands import MENUS, command_menus, command_word, staff_menu
from storage import chat_menus, group_links, people
from storage.models.menus import DEFAULT_SCOPE
from storage.models.people import FOCAL, GroupLink, Identity, Member

log = logging.getLogger(__name__)

PLATFORM = "telegram"
# What a focal point can do in their agency's group; registering, linking accounts and choosing a
# channel or a language are private matters.
_GROUP_COMMANDS = ("trogiup", "nhiemvu", "capnhat", "lich", "huy")

_changes = 0


# What a chat's menu depends on: seeing someone write (last_seen…) is no reason to look again.
_WATCHED = {Member: ("role", "status", "language"), Identity: ("chat_id", "reachable", "platform")}


def _changed(instance) -> bool:
    state = inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in _WATCHED[type(instance)])


def _count_changes(session, flush_context) -> None:
    global _changes
    for instance in (*session.new, *session.deleted):
        if isinstance(instance, (Member, Identity, GroupLink)):
            _changes += 1
            return
    for instance in session.dirty:
        if isinstance(instance, GroupLink) or (type(instance) in _WATCHED and _changed(instance)):
            _changes += 1
            return


def _count_bulk_changes(state) -> None:
    # group_links.unlink_group and move_group delete and update without loading the rows.
    global _changes
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in (GroupLink, Member, Identity) for mapper in state.all_mappers
    ):
        _changes += 1


event.listen(Session, "after_flush", _count_changes)
event.listen(Session, "do_orm_execute", _count_bulk_changes)


def changes_seen() -> int:
    """Grows whenever this process writes a member, an identity or a group link."""
    return _changes


def group_menu(language: str) -> list[tuple[str, str]]:
    from bot.core.router import COMMANDS

    with use_language(language):
        entries = []
        for command in COMMANDS:
            if command.name in _GROUP_COMMANDS and command.listed_for(FOCAL):
                description = _(command.help)
                entries.append((command_word(command, language), description[:1].upper() + description[1:]))
    return entries


def _serialised(commands) -> str:
    return json.dumps([list(entry) for entry in commands], ensure_ascii=False)


def _parsed(commands: str) -> list[BotCommand]:
    return [BotCommand(word, description) for word, description in json.loads(commands)]


class MenuKeeper:
    """Sets the menus that differ from those last set, as recorded in the database (table
    chat_menu): a restart sends nothing when nothing changed, several instances share one record,
    and a change made elsewhere (the command line) is found by the periodic look (`watch`)."""

    def __init__(self, app, bot: Bot):
        self.app = app
        self.bot = bot
        self._seen = -1
        self._turn = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._watcher: asyncio.Task | None = None

    def poke(self) -> None:
        """Look for changed menus in the background: an update's chat must not wait for other
        chats' menus (a group's next update, say, which may be the one telling of its new id)."""
        if changes_seen() == self._seen or (self._task is not None and not self._task.done()):
            return
        self._task = asyncio.create_task(self._follow(), name="telegram menus")

    async def _follow(self) -> None:
        while changes_seen() != self._seen:
            try:
                await self.sync()
            except Exception:  # a database hiccup: the next change looks again
                log.exception("chat menus not brought up to date")
                return

    def watch(self, every: float) -> None:
        """Compare every `every` seconds: roles changed by another process reach the menus."""
        if self._watcher is None and every > 0:
            self._watcher = asyncio.create_task(self._watch(every), name="telegram menu watch")

    async def _watch(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await self.sync(force=True)
            except Exception:
                log.exception("chat menus not compared")

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def wanted(self) -> dict[str, dict[str, str]]:
        """{scope: {language_code: commands}}: the default menus, and each chat's own."""
        wanted: dict[str, dict[str, str]] = {
            DEFAULT_SCOPE: {code: _serialised(commands) for code, commands in command_menus()}
        }
        async with self.app.db.snapshot() as session:
            for member in await people.coordinators(session):
                for identity in member.identities:
                    if identity.platform == PLATFORM and identity.reachable and _is_chat_id(identity.chat_id):
                        commands = _serialised(staff_menu(member.role, member.language))
                        wanted[str(int(identity.chat_id))] = {"": commands}
            links = await session.scalars(select(GroupLink).where(GroupLink.platform == PLATFORM))
            for link in links:
                # A topic linked on its own: the menu is the group's (Telegram has no menu per topic).
                chat = group_links.whole_group(link.chat_id)
                if _is_chat_id(chat):
                    wanted[str(int(chat))] = {
                        code: _serialised(group_menu(language)) for code, language in MENUS
                    }
        return wanted

    async def sync(self, *, force: bool = False) -> None:
        """Set the menus that differ from the record (`force`: even when this process changed nothing)."""
        if not force and changes_seen() == self._seen:
            return
        async with self._turn:
            await self._sync(force)

    async def _sync(self, force: bool) -> None:
        seen = changes_seen()
        if not force and seen == self._seen:
            return
        self._seen = seen
        wanted = await self.wanted()
        async with self.app.db.snapshot() as session:
            shown = await chat_menus.shown(session, PLATFORM)
        for scope in sorted(set(wanted) | set(shown), key=lambda scope: scope != DEFAULT_SCOPE):
            menus, before = wanted.get(scope, {}), shown.get(scope, {})
            if menus == before:
                continue
            done = dict(before)
            try:
                for code, commands in menus.items():
                    if before.get(code) != commands:
                        await self.bot.set_my_commands(
                            _parsed(commands), scope=_scope(scope), language_code=code or None
                        )
                        done[code] = commands
                for code in [code for code in before if code not in menus]:
                    # The chat falls back to the default menu in that language.
                    await self.bot.delete_my_commands(scope=_scope(scope), language_code=code or None)
                    del done[code]
            except TelegramError as exc:  # one chat gone must not keep the others' menus from being set
                log.warning("a chat's own menu not brought up to date: %s", exc)
                if scope not in wanted:
                    done = {}  # a chat no longer ours: nothing more to do for it, whatever happened
            async with self.app.db.transaction() as session:
                await chat_menus.record(session, PLATFORM, scope, done, now=self.app.clock.now())


def _scope(scope: str):
    return BotCommandScopeDefault() if scope == DEFAULT_SCOPE else BotCommandScopeChat(int(scope))


def _is_chat_id(value: str) -> bool:
    return value.lstrip("-").isdigit()
