"""Graceful shutdown, with real signals sent to a real child process."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from bot.ops.shutdown import GracefulShutdown

# A runner in miniature: one send in flight when the signal comes; how long it takes is argv[1],
# the grace period argv[2]. It prints what happens so the test can follow.
CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from bot.ops.shutdown import GracefulShutdown

    send_seconds, grace = float(sys.argv[1]), float(sys.argv[2])

    async def main():
        async with GracefulShutdown(grace) as shutdown:
            sending = asyncio.Event()

            async def in_flight_send():
                sending.set()
                await asyncio.sleep(send_seconds)
                print("send acknowledged", flush=True)

            send = asyncio.create_task(in_flight_send())
            await sending.wait()
            print("ready", flush=True)
            await shutdown.wait()
            print("stopping", flush=True)

            async def finish_sends():
                try:
                    await send
                except asyncio.CancelledError:
                    print("send cancelled; its lease will expire", flush=True)
                    raise

            clean = await shutdown.stop(finish_sends)
            print("clean" if clean else "grace period over", flush=True)

    asyncio.run(main())
    """
)


class Child:
    def __init__(self, send_seconds: float, grace: float):
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(send_seconds), str(grace)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []

    def expect(self, line: str) -> None:
        while True:
            got = self.process.stdout.readline()
            assert got, f"child ended before printing {line!r}: {self.lines}"
            self.lines.append(got.strip())
            if got.strip() == line:
                return

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def finish(self) -> tuple[int, list[str]]:
        out, _err = self.process.communicate(timeout=30)
        return self.process.returncode, self.lines + out.splitlines()


@pytest.fixture
def children():
    started: list[Child] = []

    def start(send_seconds: float, grace: float) -> Child:
        child = Child(send_seconds, grace)
        started.append(child)
        return child

    yield start
    for child in started:
        if child.process.poll() is None:
            child.process.kill()
            child.process.wait()


def test_sigterm_lets_the_send_in_flight_finish_then_exits_cleanly(children):
    child = children(send_seconds=0.5, grace=30)
    child.expect("ready")
    child.signal(signal.SIGTERM)
    child.expect("stopping")
    code, lines = child.finish()
    assert code == 0
    assert lines[-2:] == ["send acknowledged", "clean"]


def test_ctrl_c_is_handled_like_sigterm(children):
    child = children(send_seconds=0.2, grace=30)
    child.expect("ready")
    child.signal(signal.SIGINT)
    code, lines = child.finish()
    assert (code, lines[-1]) == (0, "clean")


def test_a_send_that_outlasts_the_grace_period_is_cancelled(children):
    child = children(send_seconds=600, grace=0.3)
    child.expect("ready")
    child.signal(signal.SIGTERM)
    code, lines = child.finish()
    assert code == 0
    assert "send acknowledged" not in lines
    assert lines[-2:] == ["send cancelled; its lease will expire", "grace period over"]


def test_a_second_sigterm_exits_at_once(children):
    child = children(send_seconds=600, grace=600)
    child.expect("ready")
    child.signal(signal.SIGTERM)
    child.expect("stopping")
    child.signal(signal.SIGTERM)
    code, lines = child.finish()
    assert code == 128 + signal.SIGTERM
    assert lines[-1] == "stopping"


async def test_a_failing_stop_step_does_not_keep_the_next_from_running():
    shutdown = GracefulShutdown(5, signals=())
    ran = []

    async def broken():
        raise RuntimeError("poller already closed")

    async def release():
        ran.append("release")

    assert await shutdown.stop(broken, release) is False
    assert ran == ["release"]
