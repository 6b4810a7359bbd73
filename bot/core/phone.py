"""A member's phone number for Zalo Notification Service (ZNS) messages, kept only with their consent.

ZNS reaches people by phone number when no chat can (bot.transports.zalo.oa_routes); a number is
stored only together with the moment its owner agreed, and withdrawing the consent deletes the
number. The chat flow (bot.core.handlers.phone) and the CLI (`nhacviec members phone`) both record
numbers through here.
"""

from __future__ import annotations

import datetime as dt
import re

from storage.models.people import Member

# Separators people type inside a number: "0912 345 678", "0912.345.678", "(+84) 912-345-678".
_SEPARATORS = re.compile(r"[\s.()-]")
# Vietnamese mobile numbers since the 2018 renumbering: 03x, 05x, 07x, 08x, 09x and 8 more digits.
_MOBILE = re.compile(r"84[35789]\d{8}")


def normalise_phone(text: str) -> str | None:
    """A Vietnamese mobile number as ZNS wants it ("84912345678"), from 0912345678, +84912345678 or
    84912345678; None when it is not one."""
    digits = _SEPARATORS.sub("", text or "")
    if digits.startswith("+"):
        digits = digits[1:]
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    return digits if _MOBILE.fullmatch(digits) else None


def shown(number: str) -> str:
    """The number as people write it at home: "0912 345 678"."""
    local = "0" + number[2:] if number.startswith("84") else number
    return f"{local[:4]} {local[4:7]} {local[7:]}"


def zns_configured(config) -> bool:
    """Whether this deployment sends ZNS messages at all: without a template a number serves nothing."""
    return bool(config.zalo.zns_template_id)


def has_consented_number(member: Member) -> bool:
    return bool(member.phone) and member.phone_consent_at is not None


def record(member: Member, number: str, *, now: dt.datetime) -> None:
    """Store `number` (already normalised) as given with the member's consent at `now`."""
    if normalise_phone(number) != number:
        raise ValueError(f"{number!r} is not a normalised Vietnamese mobile number")
    member.phone = number
    member.phone_consent_at = now


def withdraw(member: Member) -> bool:
    """Forget the number and the consent; True when there was something to forget."""
    had = member.phone is not None or member.phone_consent_at is not None
    member.phone = None
    member.phone_consent_at = None
    return had
