"""The contract between the sender tick and whatever carries a message to a person."""

from __future__ import annotations

# `Reminder.last_error` of a reminder that ended `unreachable` because every channel the member has was
# closed for now (a Zalo OA reply window): the member stays reachable, and the digest names them.
CHANNELS_CLOSED = "every channel closed for now"


class DeliveryError(Exception):
    """A message did not get through.

    `permanent`: retrying cannot help (bot blocked, chat not found); the member is marked unreachable.
    `retry_after`: the platform asked us to slow down for this many seconds (rate limit).
    `outcome_unknown`: the request may have reached the platform (timeout after sending); the sender
    applies its documented policy for that case instead of guessing.
    `channel_only`: with `permanent`, only this channel is closed, and for now (a Zalo Official Account
    may write to someone only within a window after their last message): try the member's other
    channels, and do not mark the member unreachable.
    `reply_window`: with `channel_only`, the channel is closed because the platform's window for
    writing to this person has passed. Unlike other channel-only refusals (Telegram refusing one
    malformed message, which a retry may get past), waiting cannot help before the deadline, so when
    every channel says so the reminder ends and the coordinators' digest names the member.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
        channel_only: bool = False,
        reply_window: bool = False,
    ):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown
        self.channel_only = channel_only
        self.reply_window = reply_window

    def __repr__(self) -> str:
        return (
            f"DeliveryError({str(self)!r}, permanent={self.permanent}, "
            f"retry_after={self.retry_after}, outcome_unknown={self.outcome_unknown}, "
            f"channel_only={self.channel_only}, reply_window={self.reply_window})"
        )
