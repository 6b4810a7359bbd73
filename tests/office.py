"""LibreOffice, as the tests use it to print a Word file to PDF the way a coordinator's office
suite would."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def print_to_pdf(docx_path: Path, timeout: float = 180) -> Path:
    """The Word file printed to PDF beside it; RuntimeError if LibreOffice fails or takes too long.

    `soffice` is a script that starts `soffice.bin`, which holds the output pipes. Killing the script
    alone (what subprocess.run does on a timeout) leaves the pipes open, and reading them to the end
    then waits for ever: the conversion runs in a process group of its own, killed whole.
    """
    folder = docx_path.parent
    # A profile of its own, so that a LibreOffice already running elsewhere does not get the job.
    profile = f"-env:UserInstallation=file://{folder / '.lo-profile'}"
    process = subprocess.Popen(
        [soffice(), profile, "--headless", "--convert-to", "pdf", "--outdir", str(folder), str(docx_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "HOME": str(folder)},
        start_new_session=True,
    )
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise RuntimeError(f"LibreOffice did not print {docx_path.name} within {timeout} s") from None
    target = docx_path.with_suffix(".pdf")
    if process.returncode != 0 or not target.exists():
        raise RuntimeError(err.decode(errors="replace"))
    return target
