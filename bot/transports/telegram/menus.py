"""Each Telegram chat's own command menu, kept in step with who is in it.

Telegram shows a chat the most specific menu set for it: a coordinator's or admin's private chat
gets their commands in their language (BotCommandScopeChat), a group linked to an agency gets what
can be done there in both languages, and every other chat the default menu (newcomers and focal
points, bot.transports.telegram.commands). The keeper compares what each chat should show with
what it last set and sends only the difference: at start-up, and after an update that changed a
member, an identity or a group link (a registration, an approval, a hand-over, a language chosen,
a group linked or unlinked). A change made by another process (the command line) is applied at
the next start-up or the next such update.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.i18n import _, use_language
from bot.transports.telegram.commands import MENUS, command_word, staff_menu
from storage import group_links, people
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


@dataclass(frozen=True)
class Wanted:
    """A chat's own menus: (language_code, commands) pairs; language_code "" is its default."""

    menus: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


class MenuKeeper:
    def __init__(self, app, bot: Bot):
        self.app = app
        self.bot = bot
        self._shown: dict[int, Wanted] = {}
        self._seen = -1
        self._turn = asyncio.Lock()
        self._task: asyncio.Task | None = None

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

    async def close(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def wanted(self) -> dict[int, Wanted]:
        wanted: dict[int, Wanted] = {}
        async with self.app.db.snapshot() as session:
            for member in await people.coordinators(session):
                for identity in member.identities:
                    if identity.platform == PLATFORM and identity.reachable and _is_chat_id(identity.chat_id):
                        commands = tuple(staff_menu(member.role, member.language))
                        wanted[int(identity.chat_id)] = Wanted((("", commands),))
            links = await session.scalars(select(GroupLink).where(GroupLink.platform == PLATFORM))
            for link in links:
                # A topic linked on its own: the menu is the group's (Telegram has no menu per topic).
                chat = group_links.whole_group(link.chat_id)
                if _is_chat_id(chat):
                    wanted[int(chat)] = Wanted(
                        tuple((code, tuple(group_menu(language))) for code, language in MENUS)
                    )
        return wanted

    async def sync(self, *, force: bool = False) -> None:
        """Set the menus that changed since the last look (every one when `force`)."""
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
        for chat_id, menus in wanted.items():
            shown = self._shown.get(chat_id)
            if shown == menus:
                continue
            try:
                if shown is not None:
                    await self._clear(chat_id, shown, keep=menus)
                for code, commands in menus.menus:
                    await self.bot.set_my_commands(
                        [BotCommand(word, description) for word, description in commands],
                        scope=BotCommandScopeChat(chat_id),
                        language_code=code or None,
                    )
            except TelegramError as exc:  # one chat gone must not keep the others' menus from being set
                log.warning("a chat's own menu not set: %s", exc)
                continue
            self._shown[chat_id] = menus
        for chat_id in [chat for chat in self._shown if chat not in wanted]:
            try:
                await self._clear(chat_id, self._shown[chat_id])
            except TelegramError as exc:
                log.warning("a chat's own menu not removed: %s", exc)
            # Whether it worked or the chat is gone, there is nothing more to do for it.
            del self._shown[chat_id]

    async def _clear(self, chat_id: int, shown: Wanted, keep: Wanted | None = None) -> None:
        """Remove the menus of `shown` that `keep` does not set again: the chat falls back to the default."""
        keep_codes = {code for code, _commands in keep.menus} if keep else set()
        for code, _commands in shown.menus:
            if code not in keep_codes:
                await self.bot.delete_my_commands(
                    scope=BotCommandScopeChat(chat_id), language_code=code or None
                )


def _is_chat_id(value: str) -> bool:
    return value.lstrip("-").isdigit()
