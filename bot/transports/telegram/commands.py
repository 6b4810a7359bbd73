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


def command_menus() -> list[tuple[str, list[tuple[str, str]]]]:
    from bot.core.router import COMMANDS

    menus = []
    for language_code, language in MENUS:
        with use_language(language):
            entries = []
            for command in COMMANDS:
                description = _(command.help)
                entries.append((command_word(command, language), description[:1].upper() + description[1:]))
        menus.append((language_code, entries))
    return menus
