"""How the Official Account reaches a member, and what it costs: one policy, one function.

What Zalo documents for OA API v3 (see docs/zalo.md, "What an Official Account pays for"):
- a message that answers a follower's message (it carries that message's id) within 48 hours is a
  free reply, at most 8 of them per message;
- any other message to a follower is a consultation message, drawn from the OA's monthly quota, and
  allowed only within 7 days of the follower's last interaction;
- outside those 7 days only a ZNS (Zalo Notification Service) template message reaches a person, by
  phone number, billed per message.

So a reminder goes, in this order: as a reply to the member's latest message while the free window
lasts and replies remain; else as a consultation message while the 7 days last and the monthly quota
(`[zalo] oa_monthly_consultation_quota`) has room; else by the member's other channel; else by ZNS
when a template is configured and the member gave a phone number; else it is not delivered, and the
coordinators' digest says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.i18n import N_

REPLY = "reply"
CONSULTATION = "consultation"
OTHER_CHANNEL = "other_channel"
ZNS = "zns"
UNDELIVERED = "undelivered"

FREE_REPLY_WINDOW = dt.timedelta(hours=48)
REPLIES_PER_MESSAGE = 8
INTERACTION_WINDOW = dt.timedelta(days=7)

# Why the OA could not write itself, and why ZNS could not either: codes kept in the reminder's
# last_error (in brackets) and shown to coordinators in their digest.
NO_RECENT_MESSAGE = "no-message-in-7-days"
QUOTA_SPENT = "consultation-quota-spent"
NO_ZNS = "zns-not-configured"
NO_PHONE = "no-phone-number"
REASONS = {
    NO_RECENT_MESSAGE: N_("has not written to the Zalo OA for 7 days"),
    QUOTA_SPENT: N_("the Zalo OA's monthly message quota is used up"),
    NO_ZNS: N_("no ZNS template is configured"),
    NO_PHONE: N_("no phone number for ZNS"),
}


@dataclass(frozen=True)
class OAFacts:
    """What the route depends on, read just before sending."""

    last_message_id: str | None
    last_message_at: dt.datetime | None
    replies_used: int  # free replies already spent on that message
    consultations_used: int  # this month (local time)
    consultation_quota: int
    other_channel: bool  # the member has another channel not tried yet for this reminder
    zns_template: bool  # `[zalo] zns_template_id` is set
    phone: bool  # the member's phone number, given with consent


@dataclass(frozen=True)
class Route:
    kind: str
    reasons: tuple[str, ...] = ()  # for OTHER_CHANNEL, ZNS and UNDELIVERED: why not the OA itself

    def describe(self) -> str:
        return f"{self.kind} [{','.join(self.reasons)}]" if self.reasons else self.kind


def choose_route(
    facts: OAFacts,
    now: dt.datetime,
    *,
    free_window: dt.timedelta = FREE_REPLY_WINDOW,
    replies_per_message: int = REPLIES_PER_MESSAGE,
) -> Route:
    """The cheapest way that is allowed to reach the member now."""
    since = now - facts.last_message_at if facts.last_message_at is not None else None
    if (
        since is not None
        and facts.last_message_id
        and since <= free_window
        and facts.replies_used < replies_per_message
    ):
        return Route(REPLY)
    recent = since is not None and since <= INTERACTION_WINDOW
    if recent and facts.consultations_used < facts.consultation_quota:
        return Route(CONSULTATION)
    why_not_oa = (QUOTA_SPENT,) if recent else (NO_RECENT_MESSAGE,)
    if facts.other_channel:
        return Route(OTHER_CHANNEL, why_not_oa)
    if facts.zns_template and facts.phone:
        return Route(ZNS, why_not_oa)
    return Route(UNDELIVERED, why_not_oa + ((NO_PHONE,) if facts.zns_template else (NO_ZNS,)))


def reasons_in(error: str) -> tuple[str, ...]:
    """The reason codes a route wrote into an error text ("… undelivered [a,b]")."""
    start, end = error.rfind("["), error.rfind("]")
    if start < 0 or end < start:
        return ()
    return tuple(code for code in error[start + 1 : end].split(",") if code in REASONS)
