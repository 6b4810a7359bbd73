"""The quick start as a new user meets it, in real `nhacviec` processes on a real SQLite file: the
console's clock moved with --now and :now brings the reminders, the overdue notice and the
coordinators' digest to the people they are for; files the bot sends land in a folder; :file sends
evidence; Ctrl-C and `| head` end quietly."""

from __future__ import annotations

import os
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

CLI = ["-c", "import sys; from bot.cli import main; sys.exit(main())"]
PROMPT = re.compile(r"^(\S+)> (.*)$")


def _env(database: Path, user: str = "an") -> dict:
    env = {**os.environ, "NHACVIEC_DATABASE_URL": f"sqlite+aiosqlite:///{database}", "NHACVIEC_CONFIG": ""}
    env["LOGNAME"] = env["USER"] = user
    for secret in ("TELEGRAM_BOT_TOKEN", "ZALO_BOT_TOKEN", "ZALO_OA_ACCESS_TOKEN", "ZALO_OA_APP_ID"):
        env.pop(secret, None)
    return env


def nhacviec(database: Path, *args: str, script: str = "", user: str = "an") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *CLI, *args],
        input=script,
        capture_output=True,
        text=True,
        cwd=database.parent,
        env=_env(database, user),
        timeout=120,
    )


class Transcript:
    """The banner, then each typed line (as the console echoes it) with what was printed after it."""

    def __init__(self, text: str):
        self.banner = ""
        self.blocks: list[tuple[str, str]] = []
        for line in text.splitlines():
            if PROMPT.match(line):
                self.blocks.append((line, ""))
            elif self.blocks:
                said, printed = self.blocks[-1]
                self.blocks[-1] = (said, printed + line + "\n")
            else:
                self.banner += line + "\n"

    def __getitem__(self, said: str) -> str:
        return next(printed.strip() for line, printed in self.blocks if line == said)


def _codes(banner: str) -> list[str]:
    return re.findall(r"^\s*/start (\S+)$", banner, flags=re.MULTILINE)


def _messages_to(printed: str, name: str) -> list[str]:
    """The messages printed for `name` ("→ name:" blocks) in one reply block."""
    parts = re.split(r"^→ (\S+):\n", printed, flags=re.MULTILINE)
    return [text.strip() for who, text in zip(parts[1::2], parts[2::2], strict=True) if who == name]


@pytest.fixture
def database(tmp_path, reference_plan) -> Path:
    path = tmp_path / "nhacviec.db"
    imported = nhacviec(path, "plan", "import", str(reference_plan))
    assert imported.returncode == 0, imported.stderr[-2000:]
    return path


def test_the_readme_walkthrough_shows_every_reminder_arriving_and_leaves_the_report_in_a_folder(database):
    first = nhacviec(database, "run", script=":quit\n")
    banner = Transcript(first.stdout).banner
    coordinator_code, focal_code = _codes(banner)
    walkthrough = "\n".join(
        [
            f"/start {coordinator_code}",
            ":as lan",
            f"/start {focal_code}",
            ":now 2020-06-12 08:00",
            ":now 2020-06-17 08:00",
            ":now +2d",
            ":now 2020-06-01 08:00",
            ":now 2020-06-22 08:00",
            ":as an",
            "/xuat docx",
            ":quit",
        ]
    )

    second = nhacviec(database, "run", script=walkthrough)

    blocks = Transcript(second.stdout)
    assert first.returncode == 0 and second.returncode == 0, second.stderr[-2000:]
    assert "t.me" not in first.stdout
    assert (
        "Kế hoạch 87/KH-UBND đã kết thúc: hạn cuối là Thứ Năm, 31/12/2020, nên không còn lời nhắc nào "
        "đến hạn. Để xem lời nhắc được gửi, hãy đưa đồng hồ về lịch của kế hoạch: :now 2020-06-12 08:00"
    ) in banner
    # The second run prints no new invite, and says how to make one.
    assert _codes(Transcript(second.stdout).banner) == []
    assert "nhacviec invite create --role coordinator" in blocks.banner
    week_before = blocks["lan> :now 2020-06-12 08:00"]
    assert week_before.startswith("(đồng hồ: Thứ Sáu, 12/6/2020, 08:00)")
    [reminder] = _messages_to(week_before, "lan")
    assert reminder.startswith("⏰ Nhắc việc: Sở Thông tin và Truyền thông")
    assert "[87/KH-UBND · 20/6 · T-7]" in reminder
    [reminder] = _messages_to(blocks["lan> :now 2020-06-17 08:00"], "lan")
    assert "[87/KH-UBND · 20/6 · T-3]" in reminder
    day_before = blocks["lan> :now +2d"]
    assert day_before.startswith("(đồng hồ: Thứ Sáu, 19/6/2020, 08:00)")
    assert "[87/KH-UBND · 20/6 · T-1]" in _messages_to(day_before, "lan")[0]
    assert blocks["lan> :now 2020-06-01 08:00"] == "Đồng hồ chỉ đi tới: bây giờ đã là 19/06/2020 08:00."
    after = blocks["lan> :now 2020-06-22 08:00"]
    [overdue] = _messages_to(after, "lan")
    assert "QUÁ HẠN: chưa nhận được báo cáo hạn Thứ Bảy, 20/6/2020." in overdue
    [digest] = _messages_to(after, "an")
    assert digest.startswith("📋 Tổng hợp tình hình báo cáo")
    assert "• Sở Thông tin và Truyền thông\n" in digest
    saved = re.search(r"→ (\S+\.docx)\]", blocks["an> /xuat docx"])
    expected = database.parent / "exports"
    assert saved is not None and Path(saved[1]).parent == expected
    assert Path(saved[1]).read_bytes().startswith(b"PK")


def test_chat_starts_at_the_moment_given_and_a_local_file_is_taken_as_evidence(database, tmp_path):
    made = nhacviec(database, "--lang", "en", "invite", "create", "--agency", "so du lich")
    code = re.search(r"/start (\S+)", made.stdout)[1]
    photo = tmp_path / "bien-chi-dan.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not much of a photo")
    script = "\n".join(
        [
            f"/start {code}",
            ":now 12/6/2020",
            ":now soon",
            "/capnhat",
            "2",
            "2",
            "Đã lắp 20 biển",
            ":file /no/such/file.pdf",
            f":file {photo}",
            ":quit",
        ]
    )

    chat = nhacviec(
        database, "chat", "--as", "lan", "--now", "2020-06-11 09:00", "--files", "out", script=script
    )

    blocks = Transcript(chat.stdout)
    assert chat.returncode == 0, chat.stderr[-2000:]
    assert "[87/KH-UBND · 20/6 · T-7]" in _messages_to(blocks["lan> :now 12/6/2020"], "lan")[0]
    assert blocks["lan> :now soon"].startswith("“soon” không phải là một thời điểm.")
    assert blocks["lan> :file /no/such/file.pdf"].startswith("Không có tệp “/no/such/file.pdf”.")
    assert blocks[f"lan> :file {photo}"].startswith("Đã lưu: nhiệm vụ IV.2 — đang thực hiện.")
    with sqlite3.connect(database) as connection:
        stored = connection.execute("SELECT note, evidence FROM progress_update").fetchall()
    assert stored == [("Đã lắp 20 biển", f"console:{photo}")]


def test_a_reminder_due_at_the_starting_moment_arrives_before_the_first_line(database):
    made = nhacviec(database, "invite", "create", "--agency", "Sở Du lịch")
    code = re.search(r"/start (\S+)", made.stdout)[1]
    nhacviec(database, "chat", "--as", "lan", "--now", "2020-06-11 09:00", script=f"/start {code}\n")

    chat = nhacviec(database, "chat", "--as", "lan", "--now", "2020-06-12 08:00", script=":quit\n")

    assert chat.returncode == 0, chat.stderr[-2000:]
    [reminder] = _messages_to(Transcript(chat.stdout).banner, "lan")
    assert reminder.startswith("⏰ Nhắc việc: Sở Du lịch")


def test_a_moment_that_is_no_moment_is_refused_on_the_command_line(database):
    chat = nhacviec(database, "chat", "--now", "tomorrow", script=":quit\n")

    assert chat.returncode == 1
    assert "--now 'tomorrow': hãy viết ngày và giờ, ví dụ \"2020-06-12 08:00\"" in chat.stderr


def test_ctrl_c_ends_the_console_at_once_without_a_traceback(database):
    process = subprocess.Popen(
        [sys.executable, *CLI, "run"],
        stdin=subprocess.PIPE,  # left open: nobody presses Enter
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=database.parent,
        env=_env(database),
    )
    try:
        for line in process.stdout:
            if ":quit" in line:
                break
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=20)
    finally:
        process.kill()
        process.stdin.close()

    assert returncode == 0
    assert "Traceback" not in process.stderr.read()


def test_a_reader_that_leaves_early_ends_the_command_quietly(database):
    # JSON rows: far more than a pipe holds, so the writer is still writing when `head` leaves.
    command = [sys.executable, *CLI, "reminders", "preview", "--from", "1/6", "--to", "31/12", "--json"]
    pipeline = subprocess.run(
        f"{shlex.join(command)} | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=database.parent,
        env=_env(database),
        timeout=120,
    )

    assert pipeline.stdout == "[\n"
    assert pipeline.stderr == ""


def test_the_console_names_itself_in_vietnamese_and_sends_group_linking_to_the_group(database):
    made = nhacviec(database, "invite", "create", "--agency", "Sở Du lịch")
    code = re.search(r"/start (\S+)", made.stdout)[1]

    chat = nhacviec(
        database, "chat", "--as", "lan", script=f"/start {code}\n/kenh\n/lienketnhom Sở Du lịch\n:quit\n"
    )

    blocks = Transcript(chat.stdout)
    assert blocks["lan> /kenh"].startswith("Lời nhắc được gửi qua cửa sổ dòng lệnh trước")
    assert blocks["lan> /lienketnhom Sở Du lịch"].startswith(
        "/lienketnhom dùng trong nhóm Telegram: thêm bot vào nhóm của đơn vị"
    )
