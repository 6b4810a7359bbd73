"""A PTB Update as the core's Incoming: messages, edited messages and button taps, in private
chats and groups. Everything Telegram-specific about reading an update stays here."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import Chat, Message, Update

from bot.core.messages import Attachment, Incoming, SharedContact
from bot.transports.telegram.render import CallbackData

PLATFORM = "telegram"
# Update types the bot asks Telegram for; anything else is not worth the traffic.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]

_ADDRESSED_COMMAND = re.compile(r"^(/[A-Za-z0-9_]+)@([A-Za-z0-9_]+)(?=\s|$)")


def strip_bot_mention(text: str, bot_username: str) -> str | None:
    """'/tonghop@nhacviec_bot 2' → '/tonghop 2'. None when the command names another bot, as
    happens in a group with several bots, where it is not ours to answer."""
    match = _ADDRESSED_COMMAND.match(text)
    if not match:
        return text
    if match.group(2).lower() != bot_username.lower().lstrip("@"):
        return None
    return match.group(1) + text[match.end() :]


def _attachment(message: Message) -> Attachment | None:
    if message.document:
        document = message.document
        return Attachment(document.file_id, document.file_name, document.mime_type, document.file_size)
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return Attachment(largest.file_id, None, "image/jpeg", largest.file_size)
    return None


_GROUP_TYPES = (Chat.GROUP, Chat.SUPERGROUP)


def _is_group(chat: Chat) -> bool:
    return chat.type in _GROUP_TYPES


def chat_address(message: Message) -> str:
    """Where the message was said: its chat, or "<chat>/<topic>" for a forum topic, so that each
    topic keeps its own conversations and answers (and may be linked to an agency of its own)."""
    return _address(message.chat.id, message.is_topic_message, message.message_thread_id)


def _address(chat_id: int, is_topic_message: bool | None, thread_id: int | None) -> str:
    # Outside forums, message_thread_id names a reply thread, which is no place of its own.
    if is_topic_message and thread_id:
        return f"{chat_id}/{thread_id}"
    return str(chat_id)


def split_address(address: str | int) -> tuple[int, int | None]:
    """(chat id, topic id or None) of a chat address made by `chat_address`."""
    chat, _sep, topic = str(address).partition("/")
    return int(chat), int(topic) if topic else None


def to_incoming(update: Update, *, bot_username: str, callbacks: CallbackData) -> Incoming | None:
    """The core's view of the update, or None when there is nothing for the core in it (a
    sticker, a service message, another bot's command, a channel post)."""
    if (query := update.callback_query) is not None:
        message = query.message
        if message is None or query.data is None:
            return None  # a button under an inline-mode message: not something this bot sends
        return Incoming(
            platform=PLATFORM,
            chat_id=chat_address(message),
            user_id=str(query.from_user.id),
            user_name=query.from_user.full_name,
            callback_data=callbacks.decode(query.data),
            message_id=str(message.message_id),
            update_key=str(update.update_id),
            is_group=_is_group(message.chat),
            language_hint=query.from_user.language_code,
        )
    message = update.message or update.edited_message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    text = strip_bot_mention(message.text or message.caption or "", bot_username)
    if text is None:
        return None
    attachment = _attachment(message)
    contact = None
    if message.contact is not None and update.edited_message is None:
        # Telegram's contact button sends the sender's own card; a forwarded or picked card of
        # someone else carries another user_id (or none).
        contact = SharedContact(message.contact.phone_number, message.contact.user_id == message.from_user.id)
    if not text.strip() and attachment is None and contact is None:
        return None
    return Incoming(
        platform=PLATFORM,
        chat_id=chat_address(message),
        user_id=str(message.from_user.id),
        user_name=message.from_user.full_name,
        text=text,
        message_id=str(message.message_id),
        update_key=str(update.update_id),
        edited=update.edited_message is not None,
        is_group=_is_group(message.chat),
        attachment=attachment,
        contact=contact,
        language_hint=message.from_user.language_code,
    )


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A webhook update that is a plain text message, read straight from its JSON (`plain_message`)."""

    chat: int  # the chat's id: one chat's updates are handled in order (ordering.ChatOrderedUpdates)
    incoming: Incoming


# What a plain text message may hold besides its text: nothing `to_incoming` would read otherwise.
_PLAIN_MESSAGE_KEYS = frozenset(
    {
        "message_id",
        "from",
        "chat",
        "date",
        "text",
        "entities",
        "message_thread_id",
        "is_topic_message",
        "reply_to_message",
        "link_preview_options",
    }
)


def plain_message(data: dict, *, bot_username: str) -> ChatMessage | None:
    """The core's view of a webhook update, when it is a person's plain text message to us (most
    updates), read from the JSON `shape_problem` has checked; None for anything else, which goes
    through PTB's Update and `to_incoming`. Building PTB's Update was a tenth of the bot's CPU per
    such message (py-spy, under a burst); the result is the same Incoming.
    """
    if len(data) != 2 or "message" not in data:
        return None
    message = data["message"]
    if not message.keys() <= _PLAIN_MESSAGE_KEYS:
        return None
    sender, chat, text = message.get("from"), message.get("chat"), message.get("text")
    # Whatever PTB would refuse or read differently (a missing field it requires, a bot) takes its
    # road. The types of what is there shape_problem has checked; these checks ask that it be there.
    if not isinstance(sender, dict) or sender.get("is_bot") is not False or not sender.get("first_name"):
        return None
    if not isinstance(chat.get("id"), int) or not isinstance(chat.get("type"), str):
        return None
    if not isinstance(message.get("message_id"), int) or not isinstance(message.get("date"), int):
        return None
    if not isinstance(text, str) or not isinstance(sender.get("id"), int):
        return None
    text = strip_bot_mention(text, bot_username)
    if text is None or not text.strip():
        return None
    name = sender["first_name"]
    if sender.get("last_name"):
        name = f"{name} {sender['last_name']}"
    incoming = Incoming(
        platform=PLATFORM,
        chat_id=_address(chat["id"], message.get("is_topic_message"), message.get("message_thread_id")),
        user_id=str(sender["id"]),
        user_name=name,
        text=text,
        message_id=str(message["message_id"]),
        update_key=str(data["update_id"]),
        is_group=chat["type"] in _GROUP_TYPES,
        language_hint=sender.get("language_code"),
    )
    return ChatMessage(chat["id"], incoming)


# The fields this module reads, and their JSON types. python-telegram-bot builds objects from whatever
# a payload holds, so a webhook body with a list for `text` would reach the code above as a list.
_MESSAGE_FIELDS = {
    "text": str,
    "caption": str,
    "message_id": int,
    "date": int,
    "migrate_to_chat_id": int,
    # Part of the chat address replies go back to (chat_address): a string would be sent as one.
    "message_thread_id": int,
}
_CHAT_FIELDS = {"id": int, "type": str, "title": str}
_USER_FIELDS = {"id": int, "first_name": str, "last_name": str, "username": str, "language_code": str}


def shape_problem(data: dict) -> str | None:
    """What is wrong with the types in a webhook's update, or None when nothing we read is mistyped."""

    def fields(value, spec: dict, where: str) -> str | None:
        if not isinstance(value, dict):
            return f"{where} is not an object"
        for name, kind in spec.items():
            item = value.get(name)
            if item is not None and (not isinstance(item, kind) or isinstance(item, bool)):
                return f"{where}.{name} is not a {kind.__name__}"
        return None

    for key in ("message", "edited_message"):
        if key in data:
            message = data[key]
            problem = fields(message, _MESSAGE_FIELDS, key)
            if problem is None:
                problem = fields(message.get("chat"), _CHAT_FIELDS, f"{key}.chat")
            if problem is None and message.get("from") is not None:
                problem = fields(message["from"], _USER_FIELDS, f"{key}.from")
            if problem:
                return problem
    if "callback_query" in data:
        query = data["callback_query"]
        problem = fields(query, {"id": str, "data": str}, "callback_query")
        if problem is None:
            problem = fields(query.get("from"), _USER_FIELDS, "callback_query.from")
        if problem is None and query.get("message") is not None:
            problem = fields(query["message"], _MESSAGE_FIELDS, "callback_query.message")
        if problem:
            return problem
    return None
