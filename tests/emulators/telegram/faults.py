"""Failures the emulator can be told to produce, shaped like Telegram's own.

A fault applies to the next N matching calls (`count`) or to a share of them (`rate`, drawn from
a seeded generator so a failing run can be replayed). By default only the methods that deliver
something to a chat are affected, so polling keeps working while sends fail.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

SENDING_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "editMessageText",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
    }
)

# kind -> (HTTP status, description); "timeout" and "bad_gateway" are answered differently.
ERRORS = {
    "retry_after": (429, "Too Many Requests: retry after {retry_after}"),
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "deactivated": (403, "Forbidden: user is deactivated"),
    "kicked": (403, "Forbidden: bot was kicked from the group chat"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "unauthorized": (401, "Unauthorized"),
    "bad_request": (400, "Bad Request: {detail}"),
    "server_error": (500, "Internal Server Error"),
    "bad_gateway": (502, ""),
    "timeout": (504, "Gateway Timeout"),
}


@dataclass
class Fault:
    kind: str
    count: int | None = None
    rate: float | None = None
    methods: frozenset[str] = SENDING_METHODS
    chat_id: int | None = None
    retry_after: int = 5
    detail: str = "something is wrong"
    # For "timeout": how long the answer is held back (longer than the client waits), and whether
    # the call is carried out first, which is Telegram's "timed out, but the message went out".
    delay: float = 1.0
    process: bool = False
    seed: int = 0
    hits: int = 0
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ERRORS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(ERRORS)}")
        if (self.count is None) == (self.rate is None):
            raise ValueError("give exactly one of count or rate")
        self._random = random.Random(self.seed)

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.hits >= self.count

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.exhausted or method not in self.methods:
            return False
        if self.chat_id is not None and chat_id != self.chat_id:
            return False
        if self.rate is not None and self._random.random() >= self.rate:
            return False
        self.hits += 1
        return True

    def response(self) -> tuple[int, dict | None]:
        status, template = ERRORS[self.kind]
        if self.kind == "bad_gateway":
            return status, None  # an HTML page from the front proxy, not JSON
        body: dict = {
            "ok": False,
            "error_code": status,
            "description": template.format(retry_after=self.retry_after, detail=self.detail),
        }
        if self.kind == "retry_after":
            body["parameters"] = {"retry_after": self.retry_after}
        return status, body


@dataclass
class InjectedFault:
    """A record of one call that was made to fail."""

    method: str
    kind: str
    chat_id: int | None
    at: float


class Faults:
    """The emulator's fault plan: the first matching fault, in the order added, applies."""

    def __init__(self) -> None:
        self._plan: list[Fault] = []
        self.injected: list[InjectedFault] = []

    def next(self, count: int, kind: str, **options) -> Fault:
        fault = Fault(kind=kind, count=count, **_normalise(options))
        self._plan.append(fault)
        return fault

    def rate(self, rate: float, kind: str, **options) -> Fault:
        fault = Fault(kind=kind, rate=rate, **_normalise(options))
        self._plan.append(fault)
        return fault

    def clear(self) -> None:
        self._plan.clear()

    def pick(self, method: str, chat_id: int | None) -> Fault | None:
        self._plan = [f for f in self._plan if not f.exhausted]
        for fault in self._plan:
            if fault.matches(method, chat_id):
                return fault
        return None


def _normalise(options: dict) -> dict:
    if "methods" in options and options["methods"] is not None:
        methods = options["methods"]
        options["methods"] = frozenset([methods] if isinstance(methods, str) else methods)
    return options
