"""The command menu Telegram shows next to the text box, built from the core's command table.

Vietnamese users (and anyone whose app language has no menu of its own) see the Vietnamese
command words; English users see the English aliases. Both work everywhere: the menu only
chooses which word to suggest.
"""

from __future__ import annotations

import re

from bot.i18n import _, use_language

_TELEGRAM_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
# (language_code given to setMyCommands, language of the menu); "" is the default menu.
MENUS = (("", "vi"), ("vi", "vi"), ("en", "en"))


def command_word(command, language: str) -> str:
    """The word to suggest: the command's own name in Vietnamese, its English alias in English."""
    if language == "vi" or command.name == "start":
        return command.name
    for alias in command.aliases:
        if _TELEGRAM_COMMAND.fullmatch(alias):
            return alias
    return command.name


def menu(language: str, roles: tuple[str, ...]) -> list[tuple[str, str]]:
    """The commands listed for any of `roles`, as (word, description) in `language`."""
    from bot.core.router import COMMANDS

    with use_language(language):
        entries = []
        for command in COMMANDS:
            if not any(command.listed_for(role) for role in roles):
                continue
            description = _(command.help)
            entries.append((command_word(command, language), description[:1].upper() + description[1:]))
    return entries


def command_menus() -> list[tuple[str, list[tuple[str, str]]]]:
    """The default menus (every chat without one of its own): what newcomers and focal points can
    do. Coordinators and admins get their own menu in their chat (`staff_menu`)."""
    from bot.core.router import UNREGISTERED
    from storage.models.people import FOCAL

    return [(language_code, menu(language, (UNREGISTERED, FOCAL))) for language_code, language in MENUS]


def staff_menu(role: str, language: str) -> list[tuple[str, str]]:
    """A coordinator's or admin's menu, set for their private chat (BotCommandScopeChat)."""
    return menu(language, (role,))
