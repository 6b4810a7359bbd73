"""Files offered to Zalo users as links, because neither Zalo API lets a bot upload a DOCX or XLSX.

A file is kept in the database under the hash of an unguessable token (256 bits) until it expires; the
runner serves `GET /zalo-files/<token>` from the same process that answers the webhook. Whoever holds
the link can fetch the file until then, which is why links are short-lived and only ever sent to the
person who asked for the file.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from scheduler.clock import Clock
from storage import zalo as repository
from storage.db import Database

FILES_PATH = "/zalo-files"


@dataclass(frozen=True)
class SharedFile:
    filename: str
    mime_type: str
    content: bytes


@dataclass(frozen=True)
class SharedLink:
    url: str
    expires_at: dt.datetime


class SharedFiles:
    def __init__(self, db: Database, clock: Clock, *, public_base_url: str, lifetime: dt.timedelta):
        self._db = db
        self._clock = clock
        self._base = public_base_url.rstrip("/") + FILES_PATH
        self._lifetime = lifetime

    async def share(self, filename: str, content: bytes, mime_type: str) -> SharedLink:
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        expires_at = now + self._lifetime
        async with self._db.transaction() as session:
            await repository.add_shared_file(session, token, filename, mime_type, content, now, expires_at)
        return SharedLink(url=f"{self._base}/{token}", expires_at=expires_at)

    async def fetch(self, token: str) -> SharedFile | None:
        """The file behind a link, or None when the token is unknown or the link has expired."""
        async with self._db.snapshot() as session:
            shared = await repository.find_shared_file(session, token, self._clock.now())
            if shared is None:
                return None
            return SharedFile(shared.filename, shared.mime_type, shared.content)
