"""/trogiup: what the person asking can do, and nothing they cannot."""

from __future__ import annotations

from bot.core.context import UNREGISTERED, Context
from bot.core.handlers.access import describe_member, how_to_register
from bot.core.messages import Reply
from bot.i18n import _


def command_lines(ctx: Context) -> str:
    from bot.core.router import COMMANDS

    lines = []
    for command in COMMANDS:
        if not command.listed_for(ctx.role):
            continue
        if command.name == "capnhat" and ctx.member is not None and ctx.member.agency_id is None:
            continue  # reporting needs an agency; a coordinator without one has nothing to report
        alias = command.aliases[0]
        usage = _(command.usage) if command.usage.strip() else ""
        lines.append(f"/{command.name}{usage} (/{alias}) — {_(command.help)}")
    return "\n".join(lines)


async def show_help(ctx: Context, args: str) -> list[Reply]:
    if ctx.role == UNREGISTERED:
        return how_to_register(ctx) + [Reply(command_lines(ctx))]
    intro = _("You are registered as {what}.").format(what=describe_member(ctx.member))
    tips = _(
        "Commands also work without the slash and without accents (“cap nhat”). Where a list of "
        "choices is shown, you can answer with its number."
    )
    return [Reply(f"{intro}\n\n{command_lines(ctx)}\n\n{tips}")]
