"""/coquan: the agency registry in chat, for admins; the same commands and options as
`nhacviec agencies …` (bot.agencies holds both), typed on one line:

    /coquan merge "Sở TTTT" --into "Sở KH&CN" --from 1/3/2025
"""

from __future__ import annotations

import shlex

from bot import agencies as service
from bot.core.context import Context
from bot.core.messages import Reply
from bot.i18n import _

# Options each action takes, and whether they hold several values.
_OPTIONS = {
    "--short": ("short", False),
    "--alias": ("alias", True),
    "--into": ("into", False),
    "--from": ("from", False),
    "--members": ("members", True),
}
# Positional arguments of each action, in order; the last one may take several values when starred.
_POSITIONAL = {
    "add": ("name",),
    "rename": ("old", "new"),
    "merge": ("*names",),
    "alias": ("name", "*aliases"),
    "dissolve": ("name",),
    "show": ("name",),
    "group": ("name",),
    "list": (),
}
_REQUIRED = {"rename": ("from",), "merge": ("into", "from"), "dissolve": ("from",)}


def usage() -> str:
    return _(
        "Agency registry commands:\n"
        "/coquan list\n"
        "/coquan show NAME\n"
        "/coquan add NAME [--short S] [--alias A …]\n"
        "/coquan alias NAME ALIAS …\n"
        "/coquan rename OLD NEW --from DATE\n"
        "/coquan merge A [B …] --into C --from DATE\n"
        "/coquan dissolve NAME --from DATE\n"
        "/coquan group NAME --members A B …\n"
        'Put names with spaces in quotes: /coquan show "Sở Nội vụ"'
    )


def parse(text: str) -> tuple[str, dict]:
    try:
        words = shlex.split(text.replace("“", '"').replace("”", '"'))
    except ValueError as exc:
        raise service.AgencyCommandError(_("A quotation mark is not closed.")) from exc
    if not words or words[0].lower() not in service.ACTIONS:
        raise service.AgencyCommandError(usage())
    action, rest = words[0].lower(), words[1:]
    values: dict = {}
    positional: list[str] = []
    current = None
    for word in rest:
        # Phones turn "--" into a dash: accept "—from" and "–from" too.
        option = "--" + word.lstrip("-—–") if word[:1] in "-—–" and len(word) > 2 else None
        if option is not None and option in _OPTIONS:
            name, many = _OPTIONS[option]
            current = (name, many)
            if many:
                values.setdefault(name, [])
            continue
        if option is not None:
            raise service.AgencyCommandError(
                _("Unknown option {option}").format(option=word) + "\n\n" + usage()
            )
        if current is not None:
            name, many = current
            if many:
                values[name].append(word)
            else:
                values[name] = word
                current = None
            continue
        positional.append(word)
    names = _POSITIONAL[action]
    for index, name in enumerate(names):
        if name.startswith("*"):
            values[name[1:]] = positional[index:]
            positional = positional[:index]
            break
        if index >= len(positional):
            raise service.AgencyCommandError(usage())
        values[name] = positional[index]
    else:
        if len(positional) > len(names):
            raise service.AgencyCommandError(usage())
    for name in _REQUIRED.get(action, ()):
        if not values.get(name):
            raise service.AgencyCommandError(
                _("This command needs --{option}.").format(option=name) + "\n\n" + usage()
            )
    return action, values


async def registry_command(ctx: Context, args: str) -> list[Reply]:
    try:
        action, values = parse(args)
        if action == "list":
            rows = await service.registry_rows(ctx.session)
            lines = [_("Agencies ({n}):").format(n=len(rows))]
            for row in rows:
                line = row["name"] + (f" ({row['short_name']})" if row["short_name"] else "")
                if row["status"] != "active":
                    line += f" — {service.status_label(row['status'])}"
                    if row["successor"]:
                        line += f" → {row['successor']}"
                lines.append(line)
            return [Reply("\n".join(lines))]
        outcome = await service.run(
            ctx.session, action, values, today=ctx.today, grace_days=ctx.app.config.plan.grace_days
        )
    except service.AgencyCommandError as exc:
        return [Reply(str(exc))]
    return [Reply("\n".join(outcome.lines)), *outcome.notices]
