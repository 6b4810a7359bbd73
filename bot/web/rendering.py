"""Jinja2 templates of the dashboard, autoescaped, translated with the project's gettext.

Templates call `_()` and `ngettext()` like the Python code does (translate, then `.format`), so
`make messages` extracts their strings into the same catalogs. Rendering is synchronous and runs in
the request's `use_language` block, which sets the language those calls read.
"""

from __future__ import annotations

import datetime as dt

from bot.i18n import _, format_day, format_number, format_short_day, ngettext


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


class Templates:
    def __init__(self) -> None:
        # Here, not at the top: the pages import this module's helpers, and Jinja2 (2 MB) waits for
        # the first page rendered (bot.web.server.Dashboard.templates).
        from jinja2 import Environment, PackageLoader, select_autoescape

        self.env = Environment(
            loader=PackageLoader("bot.web", "templates"),
            autoescape=select_autoescape(["html"], default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(_=_, ngettext=ngettext)
        self.env.filters.update(
            day=format_day,
            short_day=format_short_day,
            number=format_number,
            percent=_percent,
        )

    def render(self, name: str, **values) -> str:
        return self.env.get_template(name).render(**values)


def local_time(moment: dt.datetime | None, tz: dt.tzinfo) -> str:
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    return f"{local.hour:02d}:{local.minute:02d} {format_short_day(local.date())}"
