"""/vaitro: an administrator changes a member's role (focal point, coordinator, administrator),
after confirming; the member is told, and Telegram menus follow. The rules are in
bot.core.registration (change_role), which the CLI (`nhacviec members role`) uses too."""

from __future__ import annotations

from bot.core import registration
from bot.core.context import Answer, Context
from bot.core.flows import Flow, Step
from bot.core.handlers.access import describe_member, role_label
from bot.core.handlers.onboarding import tell_replaced
from bot.core.messages import Reply
from bot.i18n import _, use_language
from bot.render.text import shorten
from storage import people
from storage.models.people import ACTIVE, ADMIN, COORDINATOR, FOCAL, Member
from storage.text import fold

ROLE = "vaitro"
YES, NO = "yes", "no"
# At most this many people offered as buttons for a name typed; more: type more of the name.
MAX_MATCHES = 8
# Typed role names, folded, Vietnamese and English.
ROLE_WORDS = {
    "dau moi": FOCAL,
    "focal": FOCAL,
    "focal point": FOCAL,
    "dieu phoi": COORDINATOR,
    "dieu phoi vien": COORDINATOR,
    "coordinator": COORDINATOR,
    "quan tri": ADMIN,
    "quan tri vien": ADMIN,
    "admin": ADMIN,
    "administrator": ADMIN,
}
YES_WORDS = frozenset({"co", "dong y", "ok", "yes", "y"})
NO_WORDS = frozenset({"khong", "k", "ko", "no", "n", "thoi"})


async def role_command(ctx: Context, args: str) -> list[Reply]:
    await ctx.goto(ROLE, "who")
    if args.strip():
        return await _find(ctx, args)
    return [Reply(_("Whose role do you want to change? Type part of their name."))]


async def _find(ctx: Context, query: str) -> list[Reply]:
    wanted = fold(query)
    found = [
        member
        for member in await people.list_members(ctx.session)
        if member.status == ACTIVE and wanted and wanted in fold(member.name)
    ]
    if not found:
        return [
            Reply(
                _("No registered member is called “{query}”. Type another part of the name.").format(
                    query=shorten(query, 60)
                )
            )
        ]
    if len(found) == 1:
        return await _ask_role(ctx, found[0])
    if len(found) > MAX_MATCHES:
        return [
            Reply(
                _("{count} members match “{query}”. Type more of the name.").format(
                    count=len(found), query=shorten(query, 60)
                )
            )
        ]
    buttons = [
        [await ctx.choice(f"{member.name} — {describe_member(member)}", member.id)] for member in found
    ]
    return [Reply(_("Which one?"), buttons=buttons)]


async def _on_who(ctx: Context, answer: Answer) -> list[Reply]:
    if answer.by_button:
        member = await people.get_member(ctx.session, answer.value)
        if member is not None and member.status == ACTIVE:
            return await _ask_role(ctx, member)
    return await _find(ctx, answer.text)


async def _ask_role(ctx: Context, member: Member) -> list[Reply]:
    await ctx.goto(ROLE, "role", member_id=member.id)
    roles = [role for role in (FOCAL, COORDINATOR, ADMIN) if role != member.role]
    buttons = [[await ctx.choice(role_label(role).capitalize(), role)] for role in roles]
    text = _("{name} is {what}. Which role should they have?").format(
        name=member.name, what=describe_member(member)
    )
    return [Reply(text, buttons=buttons)]


async def _flow_member(ctx: Context) -> Member | None:
    return await people.get_member(ctx.session, ctx.flow_data.get("member_id"))


async def _on_role(ctx: Context, answer: Answer) -> list[Reply]:
    member = await _flow_member(ctx)
    role = answer.value if answer.by_button else ROLE_WORDS.get(fold(answer.text))
    if member is None:
        return await role_command(ctx, "")
    if role not in (FOCAL, COORDINATOR, ADMIN):
        return await _ask_role(ctx, member)
    try:
        await registration.check_role_change(ctx.session, member, role, by=ctx.member)
    except registration.RoleRefused as refused:
        await ctx.end_flow()
        return [Reply(_refusal(refused, member, role))]
    await ctx.goto(ROLE, "confirm", role=role)
    lines = [
        _("Change {name} ({what}) to {role}?").format(
            name=member.name, what=describe_member(member), role=role_label(role)
        )
    ]
    if role == FOCAL:
        current = [
            m for m in await people.active_focal_points(ctx.session, member.agency_id) if m.id != member.id
        ]
        if current:
            lines.append(
                _("This hands {agency} over from {names}, its focal point now.").format(
                    agency=member.agency.name, names=", ".join(m.name for m in current)
                )
            )
    elif member.role == FOCAL:
        lines.append(
            _("{agency} will have no focal point until someone registers for it.").format(
                agency=member.agency.name if member.agency else "—"
            )
        )
    buttons = [[await ctx.choice(_("✓ Yes, change it"), YES), await ctx.choice(_("✗ No"), NO)]]
    return [Reply("\n".join(lines), buttons=buttons)]


async def _on_confirm(ctx: Context, answer: Answer) -> list[Reply]:
    choice = answer.value if answer.by_button else None
    folded = fold(answer.text)
    if choice == NO or folded in NO_WORDS:
        await ctx.end_flow()
        return [Reply(_("Nothing was changed."))]
    if choice != YES and folded not in YES_WORDS:
        return [Reply(_("Please answer “co” (yes) or “khong” (no)."))]
    member_id, role = ctx.flow_data.get("member_id"), ctx.flow_data.get("role")
    await ctx.end_flow()
    try:
        change = await registration.change_role(ctx.session, member_id, role, by=ctx.member, now=ctx.now)
    except registration.RoleRefused as refused:
        return [Reply(_refusal(refused, refused.member, role))]
    except registration.FocalPointConflict:
        return [Reply(_("The agency got another focal point at this very moment; nothing was changed."))]
    member = change.member
    replies = [Reply(_("Done: {name} is now {what}.").format(name=member.name, what=describe_member(member)))]
    identity = ctx.address_of(member)
    if identity is not None and member.id != ctx.member.id:
        with use_language(member.language):
            text = _(
                "{admin} changed your role from {before} to {after}. Send /trogiup to see what you can do now."
            ).format(admin=ctx.member.name, before=role_label(change.before), after=describe_member(member))
        replies.append(ctx.to_identity(identity, Reply(text)))
    replies.extend(tell_replaced(ctx, change))
    return replies


def _refusal(refused: registration.RoleRefused, member: Member | None, role: str | None) -> str:
    name = member.name if member is not None else "—"
    if refused.reason == registration.LAST_ADMIN:
        return _(
            "{name} is the only administrator: make someone else an administrator first, so that someone "
            "can still manage the bot."
        ).format(name=name)
    if refused.reason == registration.NO_AGENCY:
        return _(
            "{name} belongs to no agency, so cannot be an agency's focal point. Send them a focal point "
            "invite with /moi instead."
        ).format(name=name)
    if refused.reason == registration.SAME_ROLE:
        return _("{name} is already {role}.").format(name=name, role=role_label(role))
    if refused.reason == registration.NOT_ACTIVE:
        return _("{name} is no longer a registered member.").format(name=name)
    return _("Only an administrator can change roles.")


ROLE_FLOW = Flow(
    name=ROLE,
    command="/vaitro",
    steps={
        "who": Step(_on_who, free_text=True),
        "role": Step(_on_role),
        "confirm": Step(_on_confirm),
    },
)
