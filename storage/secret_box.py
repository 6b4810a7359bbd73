"""Secrets kept in the database (the OA token pair), encrypted with a key only the environment holds.

Fernet (AES-CBC with an HMAC, from `cryptography`) seals each value; MultiFernet takes several keys so
that a key can be rotated: the first key seals, every key opens, and `nhacviec db rotate-key` (or the
next write) re-seals old values under the first. A sealed value is stored as "fernet:" + token, so
a value written before encryption was introduced is recognised and sealed at the next start.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"
ENV_NAME = "NHACVIEC_SECRET_KEY"


class SecretKeyError(ValueError):
    """NHACVIEC_SECRET_KEY is missing or not a Fernet key, or no key given opens a stored value."""


class SecretBox:
    def __init__(self, keys: list[str]):
        if not keys:
            raise SecretKeyError(f"{ENV_NAME} is empty")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except (ValueError, TypeError) as exc:
            raise SecretKeyError(
                f"{ENV_NAME} must be Fernet keys (32 url-safe base64-encoded bytes each), comma-separated; "
                "make one with: nhacviec db new-key"
            ) from exc

    @classmethod
    def from_setting(cls, value: str | None) -> SecretBox | None:
        """The box for NHACVIEC_SECRET_KEY's value ("new,old,…"), None when it is not set."""
        keys = [part.strip() for part in (value or "").split(",") if part.strip()]
        return cls(keys) if keys else None

    @staticmethod
    def sealed(stored: str) -> bool:
        return stored.startswith(PREFIX)

    def seal(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        """The plain value; a value from before encryption (no prefix) is returned as it is."""
        if not self.sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                f"no key in {ENV_NAME} opens a stored secret: was the key replaced instead of rotated?"
            ) from exc

    def reseal(self, stored: str) -> str:
        """`stored` sealed under the first key (plain values sealed for the first time)."""
        if not self.sealed(stored):
            return self.seal(stored)
        try:
            return PREFIX + self._fernet.rotate(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(f"no key in {ENV_NAME} opens a stored secret") from exc


def new_key() -> str:
    return Fernet.generate_key().decode()
