"""Waiting on a child process in a test without ever waiting for ever."""

from __future__ import annotations

import asyncio


async def finished(process: asyncio.subprocess.Process, within: float = 180) -> tuple[bytes, bytes | None]:
    """What the process printed, once it has ended. One that has not ended within `within` seconds
    is killed and fails the test, with what it printed so far, rather than holding the run."""
    # Shielded, the reading goes on past the timeout: cancelling it would lose what was read.
    reading = asyncio.ensure_future(process.communicate())
    try:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can drop the test's own cancellation.
        async with asyncio.timeout(within):
            return await asyncio.shield(reading)
    except TimeoutError:
        process.kill()
        out, err = await reading
        raise AssertionError(
            f"the process did not end within {within} s: {out[-2000:]!r} {(err or b'')[-2000:]!r}"
        ) from None
