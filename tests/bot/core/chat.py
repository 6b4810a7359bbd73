"""A chat user driving the core as a transport would: text in, reply models out, rendered as the
console renders them (buttons as numbered choices)."""

from __future__ import annotations

import itertools

from bot.core.messages import Attachment, Incoming, Reply, SharedContact
from bot.core.service import Core
from bot.render.text import with_numbered_choices

_message_ids = itertools.count(1)


class ChatUser:
    def __init__(
        self,
        core: Core,
        user_id: str,
        *,
        name: str | None = None,
        platform: str = "console",
        language_hint: str | None = None,
    ):
        self.core = core
        self.user_id = user_id
        self.name = name or user_id.capitalize()
        self.platform = platform
        self.language_hint = language_hint
        self.last: list[Reply] = []
        self.sent_message_ids: list[str] = []

    def _incoming(self, **fields) -> Incoming:
        return Incoming(
            platform=self.platform,
            chat_id=self.user_id,
            user_id=self.user_id,
            user_name=self.name,
            language_hint=self.language_hint,
            **fields,
        )

    async def send(
        self, text: str = "", *, attachment: Attachment | None = None, update_key: str | None = None
    ):
        message_id = str(next(_message_ids))
        self.sent_message_ids.append(message_id)
        self.last = await self.core.handle(
            self._incoming(text=text, message_id=message_id, attachment=attachment, update_key=update_key)
        )
        return self.last

    async def share_contact(self, phone: str, *, own: bool = True) -> list[Reply]:
        """Share a contact with the platform's button (Telegram's), one's own unless `own` is False."""
        self.last = await self.core.handle(
            self._incoming(message_id=str(next(_message_ids)), contact=SharedContact(phone, own))
        )
        return self.last

    async def edit(self, message_id: str, text: str) -> list[Reply]:
        self.last = await self.core.handle(self._incoming(text=text, message_id=message_id, edited=True))
        return self.last

    async def press(self, data: str) -> list[Reply]:
        self.last = await self.core.handle(self._incoming(callback_data=data))
        return self.last

    async def tap(self, label_part: str) -> list[Reply]:
        """Tap the button (in the last replies to this chat) whose label contains `label_part`."""
        for reply in self.last:
            if reply.to_chat_id not in (None, self.user_id):
                continue
            for row in reply.buttons:
                for button in row:
                    if label_part.lower() in button.label.lower():
                        return await self.press(button.data)
        raise AssertionError(f"no button {label_part!r} in {self.text()!r}")

    async def say(self, text: str, **kwargs) -> str:
        await self.send(text, **kwargs)
        return self.text()

    def text(self) -> str:
        """What this user sees of the last replies (not those addressed to other chats)."""
        return "\n\n".join(
            with_numbered_choices(r) for r in self.last if r.to_chat_id in (None, self.user_id)
        )

    def to(self, chat_id: str) -> list[Reply]:
        """Replies of the last exchange addressed to another chat."""
        return [r for r in self.last if r.to_chat_id == chat_id]
