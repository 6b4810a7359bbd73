"""Getting people in: /start with an invite code, /dangky with a coordinator's approval, /moi to
create invites in chat, /choduyet to see requests waiting."""

from __future__ import annotations

import datetime as dt

from bot.core import registration
from bot.core.context import UNREGISTERED, Answer, Context
from bot.core.flows import Flow, Step
from bot.core.handlers import guesses, phone
from bot.core.handlers.access import describe_member, how_to_register, role_label
from bot.core.handlers.agency_choice import agency_by_id, agency_choices, search_agencies
from bot.core.handlers.guide import command_lines
from bot.core.messages import Reply
from bot.core.parsing import invite_token
from bot.i18n import _, format_day, use_language
from bot.render.text import shorten
from storage import people
from storage.agencies import resolve_current_agency
from storage.models.people import ADMIN, COORDINATOR, FOCAL, PENDING, Member
from storage.models.plan import Agency
from storage.text import fold

REGISTER = "dangky"
INVITE = "moi"
NO_AGENCY = 0


def _newcomer(ctx: Context, name: str | None = None) -> registration.Newcomer:
    incoming = ctx.incoming
    return registration.Newcomer(
        platform=incoming.platform,
        user_id=incoming.user_id,
        chat_id=incoming.chat_id,
        name=(name or incoming.user_name or incoming.user_id).strip()[:200],
        language=ctx.language,
    )


# ---------------------------------------------------------------- /start


async def start(ctx: Context, args: str) -> list[Reply]:
    token = invite_token(args)
    if not token:
        if ctx.role == UNREGISTERED:
            return how_to_register(ctx)
        return [
            Reply(
                _("Welcome back, {name}. You are registered as {what}.").format(
                    name=ctx.member.name, what=describe_member(ctx.member)
                )
                + "\n\n"
                + command_lines(ctx)
            )
        ]
    refused = await guesses.refused_for_guessing(ctx)
    if refused is not None:
        return refused
    try:
        result = await registration.register_with_invite(ctx.session, token, _newcomer(ctx), now=ctx.now)
    except registration.AlreadyRegistered as already:
        return [
            Reply(
                _(
                    "You are already registered as {what}; the invite was not used. If your role should "
                    "change, ask a coordinator."
                ).format(what=describe_member(already.member))
            )
        ]
    except registration.InviteRefused as wrong:
        await guesses.wrong_guess(ctx)
        return [Reply(_refusal_text(wrong))]
    except registration.FocalPointConflict:
        return [Reply(_taken_at_the_same_moment())]
    ctx.member = result.member
    return _welcome(ctx, result) + await phone.offer(ctx)


def _taken_at_the_same_moment() -> str:
    return _(
        "Another focal point for this agency was registered at this very moment, so nothing was saved. "
        "Send the same again to take over from them, or ask a coordinator."
    )


def _refusal_text(refused: registration.InviteRefused) -> str:
    ask = _("Ask the coordinator who invited you for a new invite.")
    if refused.reason == registration.EXPIRED:
        text = _("This invite expired on {day}.").format(day=format_day(refused.invite.expires_at.date()))
    elif refused.reason == registration.USED:
        text = _("This invite has already been used.")
    elif refused.reason == registration.REVOKED:
        text = _("This invite was withdrawn.")
    else:
        text = _("This invite code is not valid. Check that you copied all of it.")
    return f"{text} {ask}"


def _welcome(ctx: Context, result: registration.Registration) -> list[Reply]:
    member = result.member
    lines = [
        _("Welcome, {name}! You are now registered as {what}.").format(
            name=member.name, what=describe_member(member)
        )
    ]
    if result.replaced:
        names = ", ".join(previous.name for previous in result.replaced)
        lines.append(
            _("You take over from {names}; the updates they sent stay in your agency's history.").format(
                names=names
            )
        )
    if member.role == FOCAL:
        lines.append(_("Send /nhiemvu to see your agency's tasks and /capnhat to report progress."))
    else:
        lines.append(_("Send /tonghop for the summary of the cycle and /trogiup for everything else."))
    replies = [Reply("\n".join(lines))]
    replies.extend(tell_replaced(ctx, result))
    return replies


def tell_replaced(ctx: Context, result: registration.Registration) -> list[Reply]:
    """Tell the focal points a registration (or a role change) retired who took over."""
    replies = []
    for previous in result.replaced:
        identity = ctx.address_of(previous)
        if identity is None:
            continue
        replies.append(ctx.to_identity(identity, Reply(handed_over_text(previous, result.member))))
    return replies


def handed_over_text(previous: Member, successor: Member) -> str:
    """What a focal point retired by a hand-over reads, in their language."""
    with use_language(previous.language):
        return _(
            "{name} is now the focal point for {agency}. Your updates are kept in the agency's history. "
            "Thank you for your work!"
        ).format(name=successor.name, agency=successor.agency.name if successor.agency else "")


# ---------------------------------------------------------------- /dangky


async def register(ctx: Context, args: str) -> list[Reply]:
    if ctx.role != UNREGISTERED:
        return [Reply(_("You are already registered as {what}.").format(what=describe_member(ctx.member)))]
    if ctx.member is not None and ctx.member.status == PENDING and not args:
        hint = _("To ask for another agency instead, send /dangky followed by its name.")
        return [Reply(how_to_register(ctx)[0].text + "\n" + hint)]
    if args:
        return await _agency_answer(ctx, args)
    await ctx.goto(REGISTER, "agency")
    return [
        Reply(_("Which agency do you work for? Type its name, for example “Sở Du lịch” (accents optional)."))
    ]


async def _agency_answer(ctx: Context, query: str) -> list[Reply]:
    await ctx.goto(REGISTER, "agency")
    exact = await resolve_current_agency(ctx.session, query) if query.strip() else None
    if exact is not None:
        return await _chosen_agency(ctx, exact)
    matches = await search_agencies(ctx, query)
    if not matches:
        return [
            Reply(
                _(
                    "No agency matches “{query}”. Type another part of its name, for example “du lich” or “tttt”."
                ).format(query=shorten(query, 60))
            )
        ]
    text = _("Which one is yours? Choose it, or type the name again.")
    return [Reply(text, buttons=await agency_choices(ctx, matches))]


async def _on_register_agency(ctx: Context, answer: Answer) -> list[Reply]:
    if not answer.by_button:
        return await _agency_answer(ctx, answer.text)
    agency = await agency_by_id(ctx, answer.value)
    if agency is None:
        return await _agency_answer(ctx, "")
    return await _chosen_agency(ctx, agency)


async def _chosen_agency(ctx: Context, agency: Agency) -> list[Reply]:
    if ctx.incoming.user_name.strip():
        return await _submit_request(ctx, agency, None)
    await ctx.goto(REGISTER, "name", agency_id=agency.id)
    return [Reply(_("What is your full name, as your colleagues know it?"))]


async def _on_register_name(ctx: Context, answer: Answer) -> list[Reply]:
    name = " ".join(answer.text.split())
    if not name or len(name) > 200:
        return [Reply(_("Please type your full name (at most 200 characters)."))]
    agency = await agency_by_id(ctx, ctx.flow_data.get("agency_id"))
    if agency is None:
        return await _agency_answer(ctx, "")
    return await _submit_request(ctx, agency, name)


async def _submit_request(ctx: Context, agency: Agency, name: str | None) -> list[Reply]:
    await ctx.end_flow()
    try:
        member = await registration.request_registration(
            ctx.session,
            agency,
            _newcomer(ctx, name),
            now=ctx.now,
            pending_per_agency=ctx.app.config.chat.pending_requests_per_agency,
        )
    except registration.AlreadyPending:
        return [
            Reply(
                _(
                    "Your request to join as focal point for {agency} is already waiting for a coordinator; "
                    "asking again does not speed it up. You will get a message here when it is decided."
                ).format(agency=agency.name)
            )
        ]
    except registration.TooManyRequests as limited:
        if limited.reason == registration.PERSON:
            text = _(
                "You have sent {count} registration requests today, the most we accept. Please wait for a "
                "coordinator to decide, or try again tomorrow."
            ).format(count=limited.count)
        elif limited.reason == registration.CHAT:
            text = _(
                "{count} registration requests have been sent from this chat today, the most we accept from "
                "one chat. Please wait for a coordinator to decide them, or ask a coordinator for an invite."
            ).format(count=limited.count)
        else:
            text = _(
                "{agency} already has {count} registration requests waiting for a coordinator. Please ask "
                "a coordinator at Sở TTTT to decide them first."
            ).format(agency=agency.name, count=limited.count)
        return [Reply(text)]
    ctx.member = member
    approvers = await people.coordinators(ctx.session)
    requests = []
    for approver in approvers:
        identity = ctx.address_of(approver)
        if identity is None:
            continue
        with use_language(approver.language):
            requests.append(ctx.to_identity(identity, await _approval_request(ctx, identity, member, agency)))
    if requests:
        text = _(
            "Thank you. Your request to join as focal point for {agency} was sent to the coordinators. "
            "You will get a message here when it is decided."
        ).format(agency=agency.name)
    else:
        text = _(
            "Thank you. Your request to join as focal point for {agency} is recorded, but no coordinator is "
            "registered yet to approve it. Please contact {department}."
        ).format(agency=agency.name, department=ctx.app.config.organisation.short_name)
    return [Reply(text), *requests, *await phone.offer(ctx)]


async def _approval_request(ctx: Context, identity, member: Member, agency: Agency) -> Reply:
    current = await people.active_focal_points(ctx.session, agency.id)
    text = _("{name} asks to join as focal point for {agency}.").format(name=member.name, agency=agency.name)
    if current:
        names = ", ".join(m.name for m in current)
        text += "\n" + _("Approving hands the agency over from {names}.").format(names=names)
    buttons = [
        [
            await ctx.button_for(identity, _("✓ Approve"), "approve", member_id=member.id),
            await ctx.button_for(identity, _("✗ Reject"), "reject", member_id=member.id),
        ]
    ]
    return Reply(text, buttons=buttons)


REGISTER_FLOW = Flow(
    name=REGISTER,
    command="/dangky",
    steps={
        "agency": Step(_on_register_agency, free_text=True),
        "name": Step(_on_register_name, free_text=True),
    },
)


# ---------------------------------------------------------------- approval


async def approve(ctx: Context, payload: dict) -> list[Reply]:
    try:
        result = await registration.approve(ctx.session, payload.get("member_id"), ctx.member, now=ctx.now)
    except registration.NotPending as stale:
        return [Reply(_already_decided(stale.member))]
    except registration.FocalPointConflict:
        return [
            Reply(
                _(
                    "The agency got another focal point at this very moment, so the request was not approved "
                    "yet. Tap Approve again to hand the agency over."
                )
            )
        ]
    member = result.member
    replies = [
        Reply(_("Approved: {name} is now {what}.").format(name=member.name, what=describe_member(member)))
    ]
    identity = ctx.address_of(member)
    if identity is not None:
        with use_language(member.language):
            text = _(
                "Your registration is approved: you are now {what}. Send /nhiemvu to see your tasks "
                "and /capnhat to report progress."
            ).format(what=describe_member(member))
        replies.append(ctx.to_identity(identity, Reply(text)))
    replies.extend(tell_replaced(ctx, result))
    return replies


async def reject(ctx: Context, payload: dict) -> list[Reply]:
    try:
        member = await registration.reject(ctx.session, payload.get("member_id"), ctx.member, now=ctx.now)
    except registration.NotPending as stale:
        return [Reply(_already_decided(stale.member))]
    agency = member.agency.name if member.agency else ""
    replies = [Reply(_("Rejected the request of {name} ({agency}).").format(name=member.name, agency=agency))]
    identity = ctx.address_of(member)
    if identity is not None:
        with use_language(member.language):
            text = _(
                "Your request to join as focal point for {agency} was not approved. If you think this is a "
                "mistake, please contact {department}."
            ).format(agency=agency, department=ctx.app.config.organisation.short_name)
        replies.append(ctx.to_identity(identity, Reply(text)))
    return replies


def _already_decided(member: Member | None) -> str:
    if member is None:
        return _("That request no longer exists.")
    return _("The request of {name} was already decided.").format(name=member.name)


async def pending(ctx: Context, args: str) -> list[Reply]:
    waiting = await people.pending_members(ctx.session)
    if not waiting:
        return [Reply(_("No registration request is waiting."))]
    lines = [_("Waiting for approval:")]
    buttons = []
    for member in waiting:
        agency = member.agency.name if member.agency else "—"
        day = format_day(ctx.local(member.created_at).date())
        # Bullets, not numbers: where buttons become numbered choices, theirs is the only numbering.
        lines.append(f"• {member.name} — {agency} ({day})")
        current = await people.active_focal_points(ctx.session, member.agency_id) if member.agency_id else []
        if current:
            lines.append(
                "  "
                + _("Approving hands {agency} over from {names}, its focal point now.").format(
                    agency=agency, names=", ".join(person.name for person in current)
                )
            )
        buttons.append(
            [
                await ctx.button(_("✓ {name}").format(name=member.name), "approve", member_id=member.id),
                await ctx.button(_("✗ {name}").format(name=member.name), "reject", member_id=member.id),
            ]
        )
    return [Reply("\n".join(lines), buttons=buttons)]


# ---------------------------------------------------------------- /moi


async def invite(ctx: Context, args: str) -> list[Reply]:
    role_words = {"dieu phoi": COORDINATOR, "dieu phoi vien": COORDINATOR, "coordinator": COORDINATOR}
    if args and fold(args) in role_words:
        return await _issue(ctx, COORDINATOR, None)
    if args:
        await ctx.goto(INVITE, "agency", role=FOCAL)
        return await _invite_agency_answer(ctx, args)
    await ctx.goto(INVITE, "role")
    roles = [FOCAL, COORDINATOR] + ([ADMIN] if ctx.member.role == ADMIN else [])
    buttons = [[await ctx.choice(role_label(role).capitalize(), role)] for role in roles]
    return [Reply(_("Who is the invite for?"), buttons=buttons)]


async def _on_invite_role(ctx: Context, answer: Answer) -> list[Reply]:
    role = answer.value if answer.by_button else None
    if role not in (FOCAL, COORDINATOR, ADMIN) or not registration.can_invite(ctx.member, role):
        return await invite(ctx, "")
    await ctx.goto(INVITE, "agency", role=role)
    if role == FOCAL:
        return [Reply(_("For which agency? Type its name."))]
    buttons = [[await ctx.choice(_("No agency"), NO_AGENCY)]]
    return [
        Reply(
            _("Does the {role} belong to an agency? Type its name, or choose “No agency”.").format(
                role=role_label(role)
            ),
            buttons=buttons,
        )
    ]


async def _invite_agency_answer(ctx: Context, query: str) -> list[Reply]:
    matches = await search_agencies(ctx, query)
    if not matches:
        return [
            Reply(
                _("No agency matches “{query}”. Type another part of its name.").format(
                    query=shorten(query, 60)
                )
            )
        ]
    if len(matches) == 1:
        return await _issue(ctx, ctx.flow_data.get("role", FOCAL), matches[0])
    return [Reply(_("Which agency?"), buttons=await agency_choices(ctx, matches))]


async def _on_invite_agency(ctx: Context, answer: Answer) -> list[Reply]:
    role = ctx.flow_data.get("role", FOCAL)
    if answer.by_button:
        if answer.value == NO_AGENCY and role != FOCAL:
            return await _issue(ctx, role, None)
        agency = await agency_by_id(ctx, answer.value)
        if agency is not None:
            return await _issue(ctx, role, agency)
    return await _invite_agency_answer(ctx, answer.text)


async def _issue(ctx: Context, role: str, agency: Agency | None) -> list[Reply]:
    if not registration.can_invite(ctx.member, role):
        await ctx.end_flow()
        return [Reply(_("You may not invite a {role}.").format(role=role_label(role)))]
    valid_for = dt.timedelta(days=ctx.app.config.chat.invite_days)
    issued = await registration.issue_invite(
        ctx.session, role=role, agency=agency, now=ctx.now, valid_for=valid_for, created_by=ctx.member
    )
    await ctx.end_flow()
    who = (
        _("{role} for {agency}").format(role=role_label(role), agency=agency.name)
        if agency
        else role_label(role)
    )
    lines = [
        _("Invite for a {who}, valid until {day}, for one person:").format(
            who=who, day=format_day(ctx.local(issued.invite.expires_at).date())
        )
    ]
    if ctx.app.config.secrets.telegram_bot_token is not None:
        # A deep link only to a bot that exists: without a token there is no bot to open.
        lines.append(registration.deep_link(ctx.app.config.telegram.bot_username, issued.token))
        lines.append(_("Or, in any chat with the bot, send: /start {token}").format(token=issued.token))
    else:
        lines.append(_("In any chat with the bot, send: /start {token}").format(token=issued.token))
    lines.append(_("Send it only to that person: whoever uses it first is registered."))
    text = "\n".join(lines)
    return [Reply(text)]


async def issue_invite_action(ctx: Context, payload: dict) -> list[Reply]:
    """An invite for the role and agency a form chose (the web dashboard's "new invite")."""
    role = payload.get("role")
    if role not in (FOCAL, COORDINATOR, ADMIN):
        return [Reply(_("Choose the role of the person you invite."))]
    agency = await agency_by_id(ctx, payload.get("agency_id")) if payload.get("agency_id") else None
    if role == FOCAL and agency is None:
        return [Reply(_("Choose the agency the focal point will report for."))]
    return await _issue(ctx, role, agency if role == FOCAL else None)


async def revoke_invite_action(ctx: Context, payload: dict) -> list[Reply]:
    try:
        invite_id = int(payload.get("invite_id"))
    except (TypeError, ValueError):
        invite_id = 0
    invite = await people.revoke_invite(ctx.session, invite_id, now=ctx.now)
    if invite is None:
        return [Reply(_("That invite no longer exists."))]
    return [Reply(_("Invite #{number} revoked: it can no longer be used.").format(number=invite.id))]


INVITE_FLOW = Flow(
    name=INVITE,
    command="/moi",
    steps={
        "role": Step(_on_invite_role),
        "agency": Step(_on_invite_agency, free_text=True),
    },
)
