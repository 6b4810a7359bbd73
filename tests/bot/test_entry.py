"""The installed program (`nhacviec`, bot/entry.py) runs as `python -OO`: without the libraries'
docstrings, which nothing reads and which took 7–8 MB of a running bot. What it does is unchanged:
every report format is written, and the chat answers."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

REPO = Path(__file__).resolve().parents[2]
NHACVIEC = Path(sys.executable).with_name("nhacviec")
SAMPLE = REPO / "storage" / "samples" / "ke-hoach-mau.txt"

pytestmark = pytest.mark.skipif(not NHACVIEC.is_file(), reason="the nhacviec script is not installed")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONOPTIMIZE", "NHACVIEC_CONFIG")}
    return {**env, **extra}


def _nhacviec(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    database = f"sqlite+aiosqlite:///{tmp_path / 'nhacviec.db'}"
    return subprocess.run(
        [str(NHACVIEC), "--db", database, "--lang", "en", *args],
        capture_output=True,
        text=True,
        env=_env(**env),
        cwd=tmp_path,
        timeout=120,
    )


def _command_line(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def _started_as(env: dict[str, str], tmp_path: Path) -> list[str]:
    """The command line of a started console chat, once it has answered /help."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    process = subprocess.Popen(
        [str(NHACVIEC), "--db", database, "--lang", "en", "chat", "--as", "tester"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        process.stdin.write("/help\n")
        process.stdin.flush()
        answer = process.stdout.readline() + process.stdout.readline()
        assert "You are not registered yet" in answer, process.stderr.read()
        return _command_line(process.pid)
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_program_starts_again_as_python_OO_under_the_same_process_id(tmp_path):
    command = _started_as(_env(), tmp_path)

    assert command[:3] == [sys.executable, "-OO", str(NHACVIEC)]
    assert command[3:7] == ["--db", f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}", "--lang", "en"]


def test_a_python_optimize_setting_in_the_environment_is_left_as_it_is(tmp_path):
    # PYTHONOPTIMIZE=0: docstrings and asserts kept (a developer's debugger); started once, as is.
    command = _started_as(_env(PYTHONOPTIMIZE="0"), tmp_path)

    assert "-OO" not in command
    assert command[1] == str(NHACVIEC)


def test_without_docstrings_every_report_format_is_still_written(tmp_path):
    imported = _nhacviec(tmp_path, "plan", "import", str(SAMPLE))
    assert imported.returncode == 0, imported.stderr

    for form in ("docx", "xlsx", "csv", "md", "json"):
        written = _nhacviec(tmp_path, "report", "--format", form, "-o", f"report.{form}")
        assert written.returncode == 0, written.stderr
        assert "30 tasks" in written.stdout

    with zipfile.ZipFile(tmp_path / "report.docx") as document:
        body = document.read("word/document.xml").decode()
        # The chart drawn by matplotlib, which reads docstrings of its own when it can.
        assert any(name.startswith("word/media/") for name in document.namelist())
    assert "KH-UBND" in body
    sheet = load_workbook(tmp_path / "report.xlsx", read_only=True).worksheets[0]
    assert sum(1 for _ in sheet.iter_rows()) > 30


def test_help_is_printed_without_docstrings(tmp_path):
    shown = _nhacviec(tmp_path, "--help")

    assert shown.returncode == 0
    assert "run the bot on every platform" in shown.stdout
    refused = _nhacviec(tmp_path, "no-such-command")
    assert refused.returncode == 2 and "no-such-command" in refused.stderr
