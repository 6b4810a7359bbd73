"""Days given on the command line, read as the chat reads them (bot.core.parsing.parse_day): `20/6`
(in the plan's year), `20/6/2020` or `2020-06-20`, in every option that takes a day."""

from __future__ import annotations

import datetime as dt

from bot.cli import CommandError
from bot.core.parsing import parse_day
from bot.i18n import _


def day_option(value: str | None, option: str, *, year: int) -> dt.date | None:
    """The day `value` names, `D/M` falling in `year`; None when the option was not given."""
    if value is None:
        return None
    day = parse_day(value, year)
    if day is None:
        raise CommandError(
            _("{option} {value!r} is not a day: write 20/6, 20/6/2020 or 2020-06-20").format(
                option=option, value=value
            )
        )
    return day
