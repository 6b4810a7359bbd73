"""`nhacviec agencies merge` tells each moved focal point on Telegram, over real HTTP to the Bot API
emulator, in the focal point's own language."""

from __future__ import annotations

from bot.app import App
from bot.cli import build_parser
from bot.cli.agencies import _change
from storage.models.people import Member
from tests.bot.telegram.conftest import telegram_config
from tests.factories import make_agency, make_member, make_plan


async def test_a_merge_from_the_command_line_tells_the_moved_focal_point_on_telegram_in_his_language(
    telegram, sqlite_db, clock, capsys
):
    telegram.user(5002, "Nam", language_code="en")
    async with sqlite_db.transaction() as session:
        built = await make_plan(session)
        tttt = built.agencies["Sở Thông tin và Truyền thông"]
        # One focal point per agency; the command line writes Vietnamese, he reads English.
        await make_member(session, "Nam", agency=tttt, platform="telegram", user_id="5002", language="en")
    app = App(config=telegram_config(telegram), db=sqlite_db, clock=clock)
    args = build_parser().parse_args(
        ["agencies", "merge", "Sở TTTT", "--into", "Sở Khoa học và Công nghệ", "--from", "1/6/2020"]
    )

    code = await _change(app, args)

    (to_nam,) = await telegram.wait_for_messages(5002, 1)
    assert code == 0
    assert "Focal points moved (each told in chat): Nam" in capsys.readouterr().out.replace(
        "Đầu mối đã được chuyển (mỗi người đã được báo qua tin nhắn)",
        "Focal points moved (each told in chat)",
    )
    assert to_nam.text.startswith("Sở Thông tin và Truyền thông now goes on as Sở Khoa học và Công nghệ")


async def test_a_merge_into_an_agency_that_has_its_focal_point_tells_the_other_one_he_is_retired(
    telegram, sqlite_db, clock, capsys
):
    telegram.user(5002, "Nam", language_code="en")
    telegram.user(5003, "Hoa")
    async with sqlite_db.transaction() as session:
        built = await make_plan(session)
        tttt = built.agencies["Sở Thông tin và Truyền thông"]
        khcn = await make_agency(session, "Sở Khoa học và Công nghệ")
        nam = await make_member(
            session, "Nam", agency=tttt, platform="telegram", user_id="5002", language="en"
        )
        hoa = await make_member(session, "Hoa", agency=khcn, platform="telegram", user_id="5003")
    app = App(config=telegram_config(telegram), db=sqlite_db, clock=clock)
    args = build_parser().parse_args(
        ["agencies", "merge", "Sở TTTT", "--into", "Sở Khoa học và Công nghệ", "--from", "1/6/2020"]
    )

    code = await _change(app, args)

    (to_nam,) = await telegram.wait_for_messages(5002, 1)
    out = capsys.readouterr().out
    async with sqlite_db.snapshot() as session:
        members = [await session.get(Member, nam.id), await session.get(Member, hoa.id)]
        statuses = {m.name: (m.status, m.agency_id) for m in members}
    assert code == 0
    # The command line speaks the deployment's language (Vietnamese here).
    assert (
        "Không còn là đầu mối, vì đơn vị kế thừa giữ đầu mối của mình (mỗi người đã được báo qua tin nhắn): Nam"
        in out
    )
    assert "Đầu mối đã được chuyển" not in out
    assert to_nam.text.startswith(
        "Sở Thông tin và Truyền thông now goes on as Sở Khoa học và Công nghệ (from "
    )
    assert (
        "Sở Khoa học và Công nghệ keeps its focal point, Hoa, so you are no longer a focal point"
        in to_nam.text
    )
    assert statuses == {"Nam": ("retired", khcn.id), "Hoa": ("active", khcn.id)}
    # Hoa stays where she was: nothing to tell her.
    assert telegram.sent_to(5003) == []
