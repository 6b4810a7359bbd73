"""The command menus a platform was last told to show, so that a restart sends only what changed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime

# The scope every chat without a menu of its own falls back to.
DEFAULT_SCOPE = "default"


class ChatMenu(Base):
    """One menu as set on a platform: for a scope (a chat id, or DEFAULT_SCOPE) and a language
    code ("" for the scope's menu whatever the app's language). `commands` is the list the bot
    layer sent, serialised by it (JSON); storage compares it, never reads it."""

    __tablename__ = "chat_menu"

    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    language_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    commands: Mapped[str] = mapped_column(Text)
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
