"""Graceful shutdown on SIGTERM and SIGINT.

The first signal asks the runner to stop: it stops taking new work (polling, new ticks) and lets
what is in flight finish, all within `[ops] shutdown_grace_seconds`. Sends that cannot finish in
time are cancelled; their rows stay claimed until the lease runs out and another tick (here after a
restart, or on another instance) sends them, so nothing is lost. A second signal exits at once,
for the operator who cannot wait: the outbox's leases cover that case in the same way.

A runner uses it like this:

    async with GracefulShutdown(app.config.ops.shutdown_grace_seconds) as shutdown:
        engine = await start_reminder_engine(app, transports)
        await updater.start_polling()
        await shutdown.wait()
        await shutdown.stop(updater.stop, engine.stop, application.stop)

systemd's TimeoutStopSec must be longer than the grace period, or it sends SIGKILL first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class GracefulShutdown:
    def __init__(
        self,
        grace_seconds: float = 20.0,
        *,
        signals: tuple[signal.Signals, ...] = SIGNALS,
        hard_exit: Callable[[int], object] = os._exit,
    ):
        self.grace_seconds = grace_seconds
        self.signals = signals
        self._hard_exit = hard_exit
        self._requested = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.signal_received: int | None = None

    @property
    def requested(self) -> bool:
        return self._requested.is_set()

    def install(self) -> None:
        self._loop = asyncio.get_running_loop()
        for sig in self.signals:
            self._loop.add_signal_handler(sig, self._on_signal, sig)

    def uninstall(self) -> None:
        if self._loop is None:
            return
        for sig in self.signals:
            self._loop.remove_signal_handler(sig)
        self._loop = None

    async def __aenter__(self) -> GracefulShutdown:
        self.install()
        return self

    async def __aexit__(self, *exc_info) -> None:
        self.uninstall()

    def request(self, signum: int | None = None) -> None:
        """Ask for a stop without a signal (the console's quit, a fatal error in a runner)."""
        if not self._requested.is_set():
            self.signal_received = signum
            self._requested.set()

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self._requested.is_set():
            log.warning("%s again: exiting now; claimed reminders are sent again once their lease ends", name)
            _flush_logs()
            self._hard_exit(128 + signum)
            return
        log.info("%s: stopping; in-flight sends get up to %gs to finish", name, self.grace_seconds)
        self.request(signum)

    async def wait(self) -> None:
        await self._requested.wait()

    async def stop(self, *steps: Callable[[], Awaitable[object]]) -> bool:
        """Run the stop steps in order within one grace period; True if they all finished in time.

        A step that fails is logged and the next one still runs: stopping the poller must not keep
        the reminder engine from releasing its work.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace_seconds
        finished = True
        for step in steps:
            remaining = deadline - loop.time()
            name = getattr(step, "__qualname__", repr(step))
            try:
                async with asyncio.timeout(max(remaining, 0)):
                    await step()
            except TimeoutError:
                log.warning("shutdown: %s did not finish within the grace period; cancelled", name)
                finished = False
            except Exception:
                log.exception("shutdown: %s failed", name)
                finished = False
        if finished:
            log.info("stopped cleanly")
        return finished


def _flush_logs() -> None:
    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:  # exiting anyway; a broken handler must not stop the exit
            pass
    sys.stderr.flush()
