"""Guided flows: named steps, each a handler of the user's answer. Where a user is lives in the
database (ConversationState), so a restart mid-flow keeps their place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.context import Answer, Context
from bot.core.messages import Reply

StepHandler = Callable[[Context, Answer], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Step:
    handler: StepHandler
    # The step takes free text (a note, a name, a search): a number typed there is text unless it
    # picks one of the choices shown, and command words without "/" are not commands.
    free_text: bool = False


@dataclass(frozen=True)
class Flow:
    name: str
    command: str  # the command that starts it, to name the flow in messages ("/capnhat")
    steps: dict[str, Step]
