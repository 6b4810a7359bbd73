"""The suite's own waits end: a child process or a LibreOffice print that never finishes fails its
test, and leaves nothing running, instead of holding the whole run (CI once ran out of time so)."""

from __future__ import annotations

import asyncio
import os
import sys
import time

import docx
import pytest

from tests.office import print_to_pdf
from tests.processes import finished


async def python(code: str) -> asyncio.subprocess.Process:
    pipe = asyncio.subprocess.PIPE
    return await asyncio.create_subprocess_exec(sys.executable, "-c", code, stdout=pipe, stderr=pipe)


async def test_a_process_that_never_ends_fails_the_test_and_is_killed():
    process = await python("import time; print('started', flush=True); time.sleep(600)")
    began = time.monotonic()

    with pytest.raises(AssertionError, match=r"did not end within 0.5 s: b'started\\n'"):
        await finished(process, within=0.5)

    assert time.monotonic() - began < 10
    assert process.returncode is not None  # killed, not left behind


async def test_a_process_that_ends_gives_what_it_printed():
    process = await python("import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)")

    assert await finished(process) == (b"out\n", b"err\n")
    assert process.returncode == 3


def test_a_print_whose_office_suite_hangs_fails_without_waiting_for_its_children(tmp_path, monkeypatch):
    # As LibreOffice's `soffice` does, the launcher starts a child that holds the output pipes; here
    # the child hangs. Killing the launcher alone would leave the pipes open for the child's 30 s.
    launcher = tmp_path / "bin" / "soffice"
    launcher.parent.mkdir()
    launcher.write_text("#!/bin/sh\nsleep 30 &\nwait\n")
    launcher.chmod(0o755)
    monkeypatch.setenv("PATH", f"{launcher.parent}{os.pathsep}{os.environ['PATH']}")
    document = docx.Document()
    document.add_paragraph("Báo cáo")
    source = tmp_path / "bao-cao.docx"
    document.save(source)
    began = time.monotonic()

    with pytest.raises(RuntimeError, match=r"LibreOffice did not print bao-cao.docx within 0.5 s"):
        print_to_pdf(source, timeout=0.5)

    assert time.monotonic() - began < 10
