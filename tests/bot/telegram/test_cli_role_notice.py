"""`nhacviec members role` tells the member whose role changed, and a focal point the change retired,
on Telegram (real HTTP to the Bot API emulator), each in their own language, as /vaitro does."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from bot.cli import build_parser
from bot.cli.members import _role
from storage.models.people import ADMIN, COORDINATOR, Member
from tests.bot.telegram.conftest import telegram_config
from tests.factories import make_member, make_plan


async def test_a_role_changed_on_the_command_line_is_told_to_the_member_in_chat(
    telegram, sqlite_db, clock, capsys
):
    telegram.user(1001, "Hà", language_code="en")
    async with sqlite_db.transaction() as session:
        ha = await make_member(
            session, "Hà", role=COORDINATOR, platform="telegram", user_id="1001", language="en"
        )
    app = App(config=telegram_config(telegram), db=sqlite_db, clock=clock)

    code = await _role(app, build_parser().parse_args(["members", "role", str(ha.id), ADMIN]))

    (to_ha,) = await telegram.wait_for_messages(1001, 1)
    assert code == 0
    assert "Hà:" in capsys.readouterr().out
    assert to_ha.text.startswith("An administrator changed your role from coordinator to administrator")


async def test_making_someone_a_focal_point_tells_the_one_it_retires(telegram, sqlite_db, clock):
    telegram.user(1001, "Hà")
    telegram.user(5002, "Lan")
    async with sqlite_db.transaction() as session:
        built = await make_plan(session)
        dulich = built.agencies["Sở Du lịch"]
        lan = await make_member(session, "Lan", agency=dulich, platform="telegram", user_id="5002")
        ha = await make_member(
            session, "Hà", role=COORDINATOR, agency=dulich, platform="telegram", user_id="1001"
        )
    app = App(config=telegram_config(telegram), db=sqlite_db, clock=clock)

    code = await _role(app, build_parser().parse_args(["members", "role", str(ha.id), "focal"]))

    (to_lan,) = await telegram.wait_for_messages(5002, 1)
    (to_ha,) = await telegram.wait_for_messages(1001, 1)
    async with sqlite_db.snapshot() as session:
        status = await session.scalar(select(Member.status).where(Member.id == lan.id))
    assert code == 0
    assert status == "retired"
    assert to_lan.text.startswith("Hà nay là đầu mối của Sở Du lịch")
    assert to_ha.text.startswith("Quản trị viên đã đổi vai trò của bạn từ điều phối viên")
