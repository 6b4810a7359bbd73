"""/sodienthoai, and the question after registering: a mobile number for Zalo notifications (ZNS),
given with consent, seen, changed or withdrawn by its owner. The rules are in bot.core.phone."""

from __future__ import annotations

from bot.core import phone as phones
from bot.core.context import Answer, Context
from bot.core.flows import Flow, Step
from bot.core.messages import ContactRequest, Reply
from bot.i18n import _, format_day
from storage.models.people import ACTIVE, PENDING
from storage.text import fold

PHONE = "sodienthoai"
YES, NO = "yes", "no"
# Typed answers, folded: people type without diacritics ("co", "khong", "bo qua").
YES_WORDS = frozenset({"co", "dong y", "ok", "yes", "y", "agree", "co dong y"})
NO_WORDS = frozenset({"khong", "k", "ko", "bo qua", "thoi", "no", "n", "skip", "khong dong y"})
WITHDRAW_WORDS = frozenset({"xoa", "rut", "rut lai", "huy dong y", "withdraw", "delete", "remove"})


def _may_have_a_number(ctx: Context) -> bool:
    # A pending member (waiting for approval after /dangky) may already say yes.
    return ctx.member is not None and ctx.member.status in (ACTIVE, PENDING)


async def offer(ctx: Context) -> list[Reply]:
    """Ask a newly registered (or waiting) member for their number, where ZNS is in use and only in
    their private chat; nothing when there is no reason to ask."""
    if (
        ctx.incoming.is_group
        or not phones.zns_configured(ctx.app.config)
        or not _may_have_a_number(ctx)
        or phones.has_consented_number(ctx.member)
    ):
        return []
    return await _ask_consent(ctx)


async def _ask_consent(ctx: Context) -> list[Reply]:
    await ctx.goto(PHONE, "consent")
    text = _(
        "One more, optional question. When a reminder cannot reach you in chat, it can come as a Zalo "
        "notification (ZNS) to your mobile number. Do you agree to give your number for that? It is used "
        "only to send you these reminders, never shown to other members, and you can change or delete it "
        "at any time with /sodienthoai."
    )
    buttons = [[await ctx.choice(_("✓ Agree"), YES), await ctx.choice(_("Skip"), NO)]]
    return [Reply(text, buttons=buttons)]


async def _ask_number(ctx: Context) -> list[Reply]:
    await ctx.goto(PHONE, "number")
    text = _("Type your mobile number, for example 0912 345 678 (or +84 912 345 678). Type “bo qua” to skip.")
    request = ContactRequest(share=_("📱 Share my number"), skip=_("Skip"))
    return [Reply(text, contact_request=request)]


async def _declined(ctx: Context) -> list[Reply]:
    await ctx.end_flow()
    text = _(
        "All right, no number is kept. Reminders reach you in chat only. You can give a number later with "
        "/sodienthoai."
    )
    return [Reply(text, close_keyboard=True)]


async def _on_consent(ctx: Context, answer: Answer) -> list[Reply]:
    if not _may_have_a_number(ctx):
        await ctx.end_flow()
        return []
    choice = answer.value if answer.by_button else None
    folded = fold(answer.text)
    if choice == YES or folded in YES_WORDS:
        return await _ask_number(ctx)
    if choice == NO or folded in NO_WORDS:
        return await _declined(ctx)
    if answer.contact is not None or phones.normalise_phone(answer.text) is not None:
        # Someone who gives their number straight away has read the question and agrees.
        return await _on_number(ctx, answer)
    return [Reply(_("Please answer “co” (yes) or “khong” (no)."))] + await _ask_consent(ctx)


async def _on_number(ctx: Context, answer: Answer) -> list[Reply]:
    if not _may_have_a_number(ctx):
        await ctx.end_flow()
        return []
    if answer.contact is not None:
        if not answer.contact.own:
            return [
                Reply(_("That is someone else's contact. Share your own number with the button, or type it."))
            ]
        typed = answer.contact.phone
    else:
        typed = answer.text
        if fold(typed) in NO_WORDS:
            return await _declined(ctx)
    number = phones.normalise_phone(typed)
    if number is None:
        return [
            Reply(
                _(
                    "“{typed}” is not a Vietnamese mobile number. Type ten digits beginning with 0, for "
                    "example 0912 345 678, or type “bo qua” to skip."
                ).format(typed=typed[:40])
            )
        ]
    phones.record(ctx.member, number, now=ctx.now)
    await ctx.end_flow()
    text = _(
        "Thank you. Your number {number} is kept, with your consent of {day}, for Zalo notifications "
        "when chat cannot reach you. Send /sodienthoai to change or delete it."
    ).format(number=phones.shown(number), day=format_day(ctx.today))
    return [Reply(text, close_keyboard=True)]


# ---------------------------------------------------------------- /sodienthoai


async def phone_command(ctx: Context, args: str) -> list[Reply]:
    if args and fold(args) in WITHDRAW_WORDS:
        return await _withdraw(ctx)
    member = ctx.member
    if phones.has_consented_number(member):
        text = _("Your number for Zalo notifications is {number}, given with your consent on {day}.").format(
            number=phones.shown(member.phone), day=format_day(ctx.local(member.phone_consent_at).date())
        )
        buttons = [
            [await ctx.button(_("Change the number"), "phone_change")],
            [await ctx.button(_("Delete it and withdraw my consent"), "phone_withdraw")],
        ]
        return [Reply(text, buttons=buttons)]
    if not phones.zns_configured(ctx.app.config):
        return [
            Reply(
                _(
                    "This deployment sends no Zalo notifications by phone number, so it keeps no number "
                    "of yours."
                )
            )
        ]
    return await _ask_consent(ctx)


async def change_action(ctx: Context, payload: dict) -> list[Reply]:
    return await _ask_consent(ctx)


async def withdraw_action(ctx: Context, payload: dict) -> list[Reply]:
    return await _withdraw(ctx)


async def _withdraw(ctx: Context) -> list[Reply]:
    await ctx.end_flow()
    if not phones.withdraw(ctx.member):
        return [Reply(_("No number of yours is kept; there is nothing to delete."))]
    return [
        Reply(
            _(
                "Your number is deleted and your consent withdrawn: no Zalo notification will be sent to "
                "it. Reminders reach you in chat."
            ),
            close_keyboard=True,
        )
    ]


PHONE_FLOW = Flow(
    name=PHONE,
    command="/sodienthoai",
    steps={
        "consent": Step(_on_consent),
        "number": Step(_on_number, free_text=True),
    },
)
