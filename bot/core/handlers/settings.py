"""/ngonngu, /huy, and answers to flow questions given by button or number."""

from __future__ import annotations

from bot.core.context import Answer, Context
from bot.core.messages import Reply
from bot.i18n import _, use_language
from storage.text import fold

LANGUAGE_WORDS = {
    "vi": "vi",
    "viet": "vi",
    "tieng viet": "vi",
    "vietnamese": "vi",
    "en": "en",
    "anh": "en",
    "tieng anh": "en",
    "english": "en",
}


async def language(ctx: Context, args: str) -> list[Reply]:
    chosen = LANGUAGE_WORDS.get(fold(args)) if args else None
    if chosen is not None:
        return await _set_language(ctx, chosen)
    prompt = _("Choose your language:") if not args else _("I do not know that language. Choose one:")
    buttons = [
        [
            await ctx.button("Tiếng Việt", "lang", language="vi"),
            await ctx.button("English", "lang", language="en"),
        ]
    ]
    return [Reply(prompt, buttons=buttons)]


async def set_language_action(ctx: Context, payload: dict) -> list[Reply]:
    return await _set_language(ctx, payload.get("language", "vi"))


async def _set_language(ctx: Context, language: str) -> list[Reply]:
    if ctx.member is not None and ctx.role != "unregistered":
        ctx.member.language = language
    else:
        await ctx.remember_language(language)
    ctx.language = language
    with use_language(language):
        return [Reply(_("From now on I will write to you in English."))]


async def cancel(ctx: Context, args: str) -> list[Reply]:
    if not ctx.flow:
        return [Reply(_("There is nothing to cancel."))]
    await ctx.end_flow()
    return [Reply(_("Cancelled. Nothing from it was saved."))]


async def answer_flow(ctx: Context, payload: dict) -> list[Reply]:
    """A tapped choice: it counts only if it answers the question the user is on now."""
    from bot.core.router import FLOWS

    flow = FLOWS.get(ctx.flow)
    if flow is None or payload.get("flow") != ctx.flow or payload.get("step") != ctx.step:
        return [Reply(_("That question is no longer open. Send /trogiup to see what you can do."))]
    answer = Answer(value=payload.get("value"), by_button=True, message_id=ctx.incoming.message_id)
    return await flow.steps[ctx.step].handler(ctx, answer)
