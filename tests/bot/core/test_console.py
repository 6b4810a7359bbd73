"""The console chat end to end: a scripted session registers a focal point by invite, lists tasks,
reports by the guided flow and by one line, and a coordinator reads it all in /tonghop and
/chuabaocao — once in-process with a moved clock, once as a real `nhacviec chat` subprocess."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import sys
from pathlib import Path

from bot.core import registration
from bot.core.messages import Button, Reply
from bot.render.text import with_numbered_choices
from bot.transports.base import Recipient
from bot.transports.console import ConsoleTransport, run_chat
from storage.db import Database
from storage.models.people import COORDINATOR, FOCAL
from tests.factories import make_plan

REPO = Path(__file__).resolve().parents[3]


async def _invites(db, now, agency) -> tuple[str, str]:
    async with db.transaction() as session:
        coordinator = await registration.issue_invite(
            session, role=COORDINATOR, agency=None, now=now, valid_for=dt.timedelta(days=7)
        )
        focal = await registration.issue_invite(
            session, role=FOCAL, agency=agency, now=now, valid_for=dt.timedelta(days=7)
        )
    return coordinator.token, focal.token


class Transcript:
    """Each input line (as the console echoes it) with the reply block printed after it."""

    def __init__(self, text: str):
        self.blocks: list[tuple[str, str]] = []
        for line in text.splitlines():
            if line.startswith(("an> ", "lan> ")):
                self.blocks.append((line, ""))
            elif self.blocks:
                said, reply = self.blocks[-1]
                self.blocks[-1] = (said, reply + line + "\n")

    def __getitem__(self, said: str) -> str:
        """The reply to the first time `said` was typed."""
        return self.after(said, 0)

    def after(self, said: str, occurrence: int) -> str:
        return [reply.strip() for line, reply in self.blocks if line == said][occurrence]


def _script(coordinator_token: str, focal_token: str) -> str:
    return "\n".join(
        [
            f"/start {coordinator_token}",
            ":as lan",
            f"/start {focal_token}",
            "/nhiemvu",
            "/capnhat",
            "2",
            "3",
            "Đã lắp đặt 40 biển chỉ dẫn tại 4 quận",
            "1",
            "/capnhat 1 hoàn thành Đã phát sóng 12 chương trình",
            f"/start {focal_token}",
            ":as an",
            "/tonghop",
            "/chuabaocao",
            ":quit",
        ]
    )


async def test_a_scripted_console_session_from_invite_to_summary(db, app, plan):
    coordinator_token, focal_token = await _invites(db, app.clock.now(), plan.agencies["Sở Du lịch"])
    out = io.StringIO()

    code = await run_chat(
        app, user="an", stdin=io.StringIO(_script(coordinator_token, focal_token)), stdout=out
    )

    blocks = Transcript(out.getvalue())
    assert code == 0
    assert blocks[f"an> /start {coordinator_token}"].startswith(
        "Chào mừng an! Bạn đã đăng ký là điều phối viên."
    )
    assert blocks[f"lan> /start {focal_token}"].startswith(
        "Chào mừng lan! Bạn đã đăng ký là đầu mối của Sở Du lịch."
    )
    tasks = blocks["lan> /nhiemvu"]
    assert tasks.startswith("Nhiệm vụ của Sở Du lịch — hạn báo cáo Thứ Bảy, 20/6/2020")
    assert (
        "2. [II.2] Lắp đặt biển chỉ dẫn du lịch tại các quận (Cả năm)\n   · chưa báo cáo · chưa đến hạn"
        in tasks
    )
    assert "1. II.1 · Quảng bá du lịch Thủ đô trên kênh quốc tế" in blocks["lan> /capnhat"]
    assert blocks["lan> 2"].endswith("1. Chưa thực hiện\n2. Đang thực hiện\n3. Hoàn thành\n4. Gặp vướng mắc")
    assert blocks["lan> 1"].startswith(
        "Đã lưu: nhiệm vụ II.2 — hoàn thành.\nCập nhật này tính cho kỳ báo cáo hạn Thứ Bảy, 20/6/2020."
    )
    assert blocks["lan> /capnhat 1 hoàn thành Đã phát sóng 12 chương trình"].startswith(
        "Đã lưu: nhiệm vụ II.1 — hoàn thành."
    )
    assert blocks.after(f"lan> /start {focal_token}", 1).startswith(
        "Bạn đã đăng ký là đầu mối của Sở Du lịch; lời mời chưa được dùng."
    )
    summary = blocks["an> /tonghop"]
    assert "Đơn vị đã báo cáo: 1/3" in summary
    assert (
        "Nhiệm vụ: 8 · tiến độ bình quân 25%\nTheo báo cáo: chưa báo cáo 6, hoàn thành 2\nThời hạn: chưa đến hạn 6, đúng hạn 2"
        in summary
    )
    assert "✓ Sở Du lịch — hoàn thành 2/3 nhiệm vụ · bình quân 67% · đã báo cáo 1/6/2020" in summary
    missing = blocks["an> /chuabaocao"]
    assert missing.startswith("Chưa báo cáo kỳ hạn Thứ Bảy, 20/6/2020: 2/3 đơn vị")
    assert "• Sở Du lịch: II.3" in missing


async def test_the_console_prints_buttons_as_numbered_choices_and_messages_for_others_by_name():
    out = io.StringIO()
    transport = ConsoleTransport(out)
    reply = Reply("Chọn ngôn ngữ:", buttons=[[Button("Tiếng Việt", "k1"), Button("English", "k2")]])

    await transport.send(Recipient("console", "lan"), reply)

    assert out.getvalue() == "→ lan:\nChọn ngôn ngữ:\n\n1. Tiếng Việt\n2. English\n\n"
    assert with_numbered_choices(Reply("Hết", buttons=[])) == "Hết"


async def test_nhacviec_chat_works_with_piped_input_in_a_real_process(tmp_path, sqlite_template):
    path = tmp_path / "chat.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite+aiosqlite:///{path}"
    # The process reads the wall clock: give the plan a deadline a month from now.
    deadline = dt.date.today() + dt.timedelta(days=30)
    db = Database(url)
    async with db.transaction() as session:
        built = await make_plan(session, year=deadline.year, deadlines=(deadline.isoformat(),))
    coordinator_token, focal_token = await _invites(db, dt.datetime.now(dt.UTC), built.agencies["Sở Du lịch"])
    await db.dispose()
    env = {**os.environ, "NHACVIEC_DATABASE_URL": url, "NHACVIEC_CONFIG": ""}
    for secret in ("TELEGRAM_BOT_TOKEN", "ZALO_BOT_TOKEN", "ZALO_OA_ACCESS_TOKEN"):
        env.pop(secret, None)

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from bot.cli import main; sys.exit(main())",
        "chat",
        "--as",
        "an",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )
    stdout, stderr = await asyncio.wait_for(
        process.communicate(_script(coordinator_token, focal_token).encode()), timeout=60
    )

    blocks = Transcript(stdout.decode())
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert "Bạn đã đăng ký là đầu mối của Sở Du lịch." in blocks[f"lan> /start {focal_token}"]
    assert blocks["lan> 1"].startswith("Đã lưu: nhiệm vụ II.2 — hoàn thành.")
    assert "Đơn vị đã báo cáo: 1/3" in blocks["an> /tonghop"]
    assert "• Sở Du lịch: II.3" in blocks["an> /chuabaocao"]


async def test_nhacviec_run_without_a_token_loads_a_plan_prints_invites_and_chats(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'quickstart.db'}"
    env = {**os.environ, "NHACVIEC_DATABASE_URL": url, "NHACVIEC_CONFIG": "", "LOGNAME": "tester"}
    for secret in ("TELEGRAM_BOT_TOKEN", "ZALO_BOT_TOKEN", "ZALO_OA_ACCESS_TOKEN"):
        env.pop(secret, None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from bot.cli import main; sys.exit(main())",
        "run",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )
    banner = []
    while not banner or ":quit" not in banner[-1]:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        assert line, (banner, (await process.stderr.read()).decode()[-2000:])
        banner.append(line.decode())
    codes = [line.split("/start ")[1].strip() for line in banner if "/start " in line]
    script = "\n".join(
        [
            f"/start {codes[0]}",
            ":as lan",
            f"/start {codes[1]}",
            "/nhiemvu",
            ":as tester",
            "/tonghop",
            ":quit",
            "",
        ]
    )
    rest, stderr = await asyncio.wait_for(process.communicate(script.encode()), timeout=60)

    blocks = Transcript(rest.decode().replace("tester> ", "an> "))
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert banner[0].startswith("Đã nạp Kế hoạch ")
    assert len(codes) == 2
    assert blocks[f"an> /start {codes[0]}"].startswith("Chào mừng tester! Bạn đã đăng ký là điều phối viên.")
    assert blocks["lan> /nhiemvu"].startswith("Nhiệm vụ của ")
    assert blocks["an> /tonghop"].startswith("Tổng hợp Kế hoạch ")
