"""Zalo Bot Platform updates as the core's Incoming."""

from __future__ import annotations

from bot.core.messages import Attachment, Incoming

PLATFORM = "zalo"


def unwrap(payload: object) -> dict | None:
    """The update in a webhook body or a getUpdates result (`{"ok": true, "result": …}` or bare)."""
    if not isinstance(payload, dict):
        return None
    if payload.get("ok") is True and isinstance(payload.get("result"), dict):
        payload = payload["result"]
    return payload if isinstance(payload.get("message"), dict) and payload.get("event_name") else None


def _scalar(value) -> str:
    # Ids, names and text are strings (ids sometimes numbers); anything else counts as absent.
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def incoming_from_update(update: dict) -> Incoming | None:
    """A message the core can act on; None for stickers and what Zalo cannot show us."""
    event = str(update.get("event_name", ""))
    message = update.get("message") or {}
    sender = message.get("from") or {}
    chat = message.get("chat") or {}
    if not (isinstance(sender, dict) and isinstance(chat, dict)):
        return None  # a malformed update: nothing in it can be trusted to name a chat
    user_id, chat_id = _scalar(sender.get("id")), _scalar(chat.get("id"))
    if not user_id or not chat_id or sender.get("is_bot"):
        return None
    message_id = _scalar(message.get("message_id")) or None
    attachment = None
    if event == "message.text.received":
        text = _scalar(message.get("text"))
    elif event == "message.image.received" and isinstance(
        message.get("photo_url") or message.get("photo"), str
    ):
        # The published Message object names the picture's URL `photo`; some payloads say `photo_url`.
        text = _scalar(message.get("caption"))
        url = message.get("photo_url") or message.get("photo")
        attachment = Attachment(file_id=str(url), mime_type="image/*")
    else:
        return None
    return Incoming(
        platform=PLATFORM,
        chat_id=chat_id,
        user_id=user_id,
        user_name=_scalar(sender.get("display_name")) or _scalar(sender.get("name")),
        text=text,
        message_id=message_id,
        # Zalo updates have no update id; the message id is unique and what a re-delivery repeats.
        update_key=message_id,
        # The Bot API has no edit event and takes pictures, not files, from people.
        can_edit=False,
        can_send_files=False,
        is_group=_scalar(chat.get("chat_type")).upper() == "GROUP",
        attachment=attachment,
    )
