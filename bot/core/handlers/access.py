"""What people are told when they may not do something, and how they can get in."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.messages import Reply
from bot.i18n import N_, _
from storage.models.people import ADMIN, COORDINATOR, FOCAL, PENDING, REJECTED, RETIRED, Member

ROLE_LABELS = {FOCAL: N_("focal point"), COORDINATOR: N_("coordinator"), ADMIN: N_("administrator")}


def role_label(role: str) -> str:
    return _(ROLE_LABELS[role])


def describe_member(member: Member) -> str:
    """'focal point for Sở Du lịch', 'coordinator'."""
    if member.agency is not None:
        return _("{role} for {agency}").format(role=role_label(member.role), agency=member.agency.name)
    return role_label(member.role)


def how_to_register(ctx: Context) -> list[Reply]:
    """The only thing someone who is not a member is told, whatever they asked."""
    if ctx.member is not None and ctx.member.status == PENDING:
        agency = ctx.member.agency.name if ctx.member.agency else "—"
        return [
            Reply(
                _(
                    "Your request to join as focal point for {agency} is waiting for a coordinator's "
                    "approval. You will get a message here as soon as it is decided."
                ).format(agency=agency)
            )
        ]
    if ctx.member is not None and ctx.member.status in (RETIRED, REJECTED):
        # Someone who was a member, or asked to be, would not recognise "not registered yet".
        agency = ctx.member.agency.name if ctx.member.agency else "—"
        if ctx.member.status == RETIRED:
            text = _(
                "Your registration as {what} has ended (handed over to someone else or ended by a "
                "coordinator), so you no longer see or report its tasks. Your earlier updates are kept."
            ).format(what=describe_member(ctx.member))
        else:
            text = _("Your request to join as focal point for {agency} was not approved.").format(
                agency=agency
            )
        again = _(
            "If you should be reporting, open a new invite link or send /dangky to ask to join again; a "
            "coordinator at {department} decides."
        ).format(department=ctx.app.config.organisation.short_name)
        return [Reply(text + "\n" + again)]
    return [
        Reply(
            _(
                "You are not registered yet.\n"
                "• If you have an invite link, open it; or send /start followed by the invite code.\n"
                "• Otherwise send /dangky to ask to join as your agency's focal point; a coordinator "
                "at {department} will approve it."
            ).format(department=ctx.app.config.organisation.short_name)
        )
    ]


def not_allowed(ctx: Context, command: str, *, admins_only: bool = False) -> list[Reply]:
    if admins_only:
        text = _("/{command} is for administrators only.").format(command=command)
    elif ctx.is_staff:
        text = _("/{command} is for focal points of an agency.").format(command=command)
    else:
        text = _("/{command} is for coordinators only.").format(command=command)
    return [Reply(text + "\n" + _("Send /trogiup to see what you can do."))]


def needs_agency(ctx: Context) -> list[Reply]:
    return [
        Reply(
            _(
                "You are not attached to an agency, so there are no tasks of yours to show or update. "
                "Use /nhiemvu followed by an agency's name to look at its tasks."
            )
        )
    ]


def no_plan() -> list[Reply]:
    return [
        Reply(
            _(
                "No plan has been imported yet. An administrator can load one with `nhacviec plan import FILE`."
            )
        )
    ]
