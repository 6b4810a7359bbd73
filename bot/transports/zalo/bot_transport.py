"""The Transport for the Zalo Bot Platform: a core Reply in, Zalo messages out, errors as DeliveryError."""

from __future__ import annotations

import logging
import zoneinfo

from bot.core.messages import Reply
from bot.i18n import use_language
from bot.transports.base import DeliveryError, Recipient
from bot.transports.zalo.client import ZaloApiError, ZaloBotClient, ZaloNetworkError
from bot.transports.zalo.files import SharedFiles
from bot.transports.zalo.render import PhotoPart, TextPart, render_reply

log = logging.getLogger(__name__)

# When the platform asks us to slow down without saying for how long.
DEFAULT_RETRY_AFTER = 5.0


def delivery_error(exc: ZaloApiError | ZaloNetworkError, *, partial: bool = False) -> DeliveryError:
    """What an API failure means for the sender. `partial`: earlier parts of the reply got through,
    so sending it all again would repeat them."""
    if isinstance(exc, ZaloNetworkError):
        return DeliveryError(f"zalo: {exc}", permanent=False, outcome_unknown=exc.maybe_delivered or partial)
    code, description = exc.error_code, exc.description.lower()
    message = f"zalo: {exc.error_code} {exc.description}"
    if code == 429:
        return DeliveryError(
            message,
            permanent=False,
            retry_after=exc.retry_after or DEFAULT_RETRY_AFTER,
            outcome_unknown=partial,
        )
    # The user blocked the bot, or never wrote to it (a bot may only answer people who did). The
    # published error table lists 403 as an internal error, so a 403 is permanent only when its
    # description says the user blocked the bot.
    if (code == 403 and "block" in description) or (code == 400 and "not found" in description):
        return DeliveryError(message, permanent=True, outcome_unknown=partial)
    if code in (401, 404):
        # A revoked or mistyped bot token fails every message alike: it is no fault of the member.
        log.error("the Zalo bot token was rejected (%s): check ZALO_BOT_TOKEN", code)
    return DeliveryError(message, permanent=False, outcome_unknown=partial)


class ZaloBotTransport:
    platform = "zalo"
    max_text_length = 2000

    def __init__(
        self,
        client: ZaloBotClient,
        *,
        tz: zoneinfo.ZoneInfo,
        files: SharedFiles | None = None,
    ):
        self.client = client
        self._tz = tz
        self._files = files

    async def send(self, recipient: Recipient, reply: Reply) -> str:
        with use_language(recipient.language):
            parts = await render_reply(reply, limit=self.max_text_length, tz=self._tz, files=self._files)
        first_id = ""
        for index, part in enumerate(parts):
            try:
                if isinstance(part, TextPart):
                    result = await self.client.send_message(recipient.chat_id, part.text, bold=part.bold)
                elif isinstance(part, PhotoPart):
                    result = await self.client.send_photo(recipient.chat_id, part.url, part.caption)
                else:  # render_reply only makes FileParts for transports that can upload
                    raise TypeError(f"cannot send {part!r} on the Zalo Bot Platform")
            except (ZaloApiError, ZaloNetworkError) as exc:
                raise delivery_error(exc, partial=index > 0) from exc
            first_id = first_id or str((result or {}).get("message_id", ""))
        return first_id

    async def typing(self, chat_id: str) -> None:
        """Show "typing…" while the core works; a failure here must not hold up the answer."""
        try:
            await self.client.send_chat_action(chat_id, "typing")
        except (ZaloApiError, ZaloNetworkError) as exc:
            log.debug("typing indicator not shown: %s", exc)
