"""Faults an emulator can be told to answer with, one request at a time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """What the next matching request gets instead of a normal answer.

    kind: "rate_limit", "blocked", "server_error", "bad_gateway_html", "timeout", "unauthorized",
    "expired_token" (emulator-specific kinds are documented on each emulator).
    `deliver`: for "timeout", act on the request (record the message) before stalling, as happens
    when the platform accepted a message but its answer never reached us.
    """

    kind: str
    retry_after: int = 3
    status: int = 500
    deliver: bool = False


class FaultPlan:
    def __init__(self) -> None:
        self._planned: dict[str, list[list]] = defaultdict(list)  # [requests to let through, fault]

    def add(self, method: str, fault: Fault, times: int = 1, *, after: int = 0) -> None:
        """`method` is the API method or path the fault applies to, or "*" for any; the first `after`
        matching requests are answered normally."""
        self._planned[method].extend([after, fault] for _ in range(times))

    def take(self, method: str) -> Fault | None:
        for key in (method, "*"):
            if self._planned[key]:
                entry = self._planned[key][0]
                if entry[0] > 0:
                    entry[0] -= 1
                    return None
                return self._planned[key].pop(0)[1]
        return None

    def clear(self) -> None:
        self._planned.clear()
