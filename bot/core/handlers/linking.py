"""/lienket: link your account on another platform with a one-time code; /kenh: where reminders go."""

from __future__ import annotations

from bot.core import linking
from bot.core.context import UNREGISTERED, Context
from bot.core.handlers import guesses
from bot.core.handlers.access import describe_member, how_to_register
from bot.core.messages import Reply
from bot.i18n import N_, _, use_language

PLATFORM_LABELS = {
    "telegram": N_("Telegram"),
    "zalo": N_("Zalo"),
    "zalo_oa": N_("Zalo (Official Account)"),
    "console": N_("console"),
}


def platform_label(platform: str) -> str:
    return _(PLATFORM_LABELS.get(platform, platform))


async def link(ctx: Context, args: str) -> list[Reply]:
    if args.strip():
        return await _redeem(ctx, args)
    if ctx.role == UNREGISTERED:
        return how_to_register(ctx) + [
            Reply(
                _(
                    "Already registered on another platform? Send /lienket there: you get a code to send "
                    "here, and this account joins the same registration."
                )
            )
        ]
    code = await linking.issue_code(ctx.session, ctx.member, platform=ctx.platform, now=ctx.now)
    minutes = int(linking.CODE_LIFETIME.total_seconds() // 60)
    text = "\n".join(
        [
            _("Your link code, valid for {minutes} minutes and only once: {code}").format(
                minutes=minutes, code=code
            ),
            _("From your account on the other platform (Telegram or Zalo), send to this bot:"),
            f"/lienket {code}",
            _("Do not give the code to anyone: whoever sends it acts as you."),
        ]
    )
    return [Reply(text)]


async def _redeem(ctx: Context, args: str) -> list[Reply]:
    refused = await guesses.refused_for_guessing(ctx)
    if refused is not None:
        return refused
    incoming = ctx.incoming
    account = linking.Account(
        platform=incoming.platform,
        external_id=incoming.user_id,
        chat_id=incoming.chat_id,
        display_name=incoming.user_name or None,
    )
    result = await linking.redeem_code(ctx.session, args, account, now=ctx.now)
    outcome = result.outcome
    if outcome is linking.Outcome.INVALID:
        await guesses.wrong_guess(ctx)
        return [
            Reply(
                _(
                    "This link code is not valid: it may have expired or been used. Send /lienket on the "
                    "account you are already registered with to get a new one."
                )
            )
        ]
    if outcome is linking.Outcome.SAME_PLATFORM:
        return [
            Reply(
                _(
                    "This code must be sent from your account on another platform, not from {platform}. "
                    "It is still valid."
                ).format(platform=platform_label(incoming.platform))
            )
        ]
    if outcome is linking.Outcome.TAKEN:
        return [
            Reply(
                _(
                    "This {platform} account is registered to someone else, so it cannot be linked. "
                    "Ask a coordinator if that is a mistake."
                ).format(platform=platform_label(incoming.platform))
            )
        ]
    member = result.member
    # From now on this chat speaks for the member, in their language.
    ctx.member = member
    ctx.language = member.language
    with use_language(member.language):
        return _linked(ctx, result)


def _linked(ctx: Context, result: linking.LinkResult) -> list[Reply]:
    incoming, member = ctx.incoming, result.member
    if result.outcome is linking.Outcome.ALREADY_LINKED:
        return [Reply(_("This account is already linked to your registration."))]
    replies = [
        Reply(
            _(
                "Linked. This {platform} account now belongs to {name}, {what}. Reminders come on "
                "{preferred} first; send /kenh to change that."
            ).format(
                platform=platform_label(incoming.platform),
                name=member.name,
                what=describe_member(member),
                preferred=platform_label(member.preferred_platform or incoming.platform),
            )
        )
    ]
    if result.origin is not None:
        notice = Reply(
            _(
                "Your {platform} account was just linked to your registration. If this was not you, "
                "tell a coordinator at once."
            ).format(platform=platform_label(incoming.platform))
        )
        replies.append(ctx.to_identity(result.origin, notice))
    return replies


async def channel(ctx: Context, args: str) -> list[Reply]:
    member = ctx.member
    identities = linking.channels(member)
    if args.strip():
        wanted = _platform_named(args, identities)
        if wanted is not None:
            return _chosen(ctx, wanted)
    current = platform_label(member.preferred_platform) if member.preferred_platform else "—"
    lines = [_("Reminders come on {platform} first, then on your other accounts.").format(platform=current)]
    if len(identities) < 2:
        lines.append(_("You have one account here. To add another, send /lienket."))
        return [Reply("\n".join(lines))]
    lines.append(_("Where should reminders come first?"))
    buttons = [
        [await ctx.button(platform_label(identity.platform), "set_channel", platform=identity.platform)]
        for identity in identities
    ]
    return [Reply("\n".join(lines), buttons=buttons)]


async def set_channel_action(ctx: Context, payload: dict) -> list[Reply]:
    return _chosen(ctx, str(payload.get("platform", "")))


def _chosen(ctx: Context, platform: str) -> list[Reply]:
    if not linking.set_preferred(ctx.member, platform):
        return [
            Reply(
                _("You have no {platform} account linked. Send /lienket to link one.").format(
                    platform=platform
                )
            )
        ]
    return [
        Reply(_("Reminders will now come on {platform} first.").format(platform=platform_label(platform)))
    ]


def _platform_named(text: str, identities) -> str | None:
    from storage.text import fold

    word = fold(text).replace(" ", "")
    for identity in identities:
        if word in (
            identity.platform.replace("_", ""),
            fold(platform_label(identity.platform)).replace(" ", ""),
        ):
            return identity.platform
    if word == "zalo":  # "zalo" names the OA too when that is the only Zalo account
        zalos = [i.platform for i in identities if i.platform.startswith("zalo")]
        return zalos[0] if len(zalos) == 1 else None
    return None
