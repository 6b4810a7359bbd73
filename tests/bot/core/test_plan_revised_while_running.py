"""The core keeps the plan's tasks between messages; a plan imported again while the bot runs
(`nhacviec plan import` in another process) is what the next message sees."""

from __future__ import annotations

import datetime as dt

from bot.core import registration
from storage.agencies import resolve_agency
from storage.models.people import FOCAL
from storage.plans.importer import import_plan_file
from tests.bot.core.chat import ChatUser
from tests.conftest import SAMPLE_PLAN

OLD_WORDING = "Số hóa hồ sơ cán bộ, công chức của các cơ quan cấp tỉnh"
NEW_WORDING = "Số hóa toàn bộ hồ sơ cán bộ, công chức và viên chức của tỉnh"
REMOVED_TASK = "4\tĐưa nội dung kỹ năng số vào chương trình bồi dưỡng"


def _revised(tmp_path):
    """The sample plan with task II.1 reworded and task II.4 dropped."""
    lines = SAMPLE_PLAN.read_text(encoding="utf-8").replace(OLD_WORDING, NEW_WORDING).splitlines()
    kept = [line for line in lines if not line.startswith(REMOVED_TASK)]
    assert len(kept) == len(lines) - 1
    path = tmp_path / SAMPLE_PLAN.name
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


async def _focal_point_of_so_noi_vu(db, core, clock) -> ChatUser:
    async with db.transaction() as session:
        await import_plan_file(session, SAMPLE_PLAN)
        agency = await resolve_agency(session, "Sở Nội vụ")
        issued = await registration.issue_invite(
            session, role=FOCAL, agency=agency, now=clock.now(), valid_for=dt.timedelta(days=7)
        )
    chat = ChatUser(core, "hoa", language_hint="en")
    await chat.say(f"/start {issued.token}")
    return chat


async def test_a_task_reworded_by_a_new_import_shows_its_new_wording_at_the_next_message(
    db, core, clock, tmp_path
):
    hoa = await _focal_point_of_so_noi_vu(db, core, clock)
    before = await hoa.say("/nhiemvu")

    async with db.transaction() as session:
        await import_plan_file(session, _revised(tmp_path))
    after = await hoa.say("/nhiemvu")

    assert OLD_WORDING in before and NEW_WORDING not in before
    assert NEW_WORDING in after and OLD_WORDING not in after


async def test_a_task_dropped_by_a_new_import_can_no_longer_be_updated_by_its_number(
    db, core, clock, tmp_path
):
    hoa = await _focal_point_of_so_noi_vu(db, core, clock)
    await hoa.say("/nhiemvu")

    async with db.transaction() as session:
        await import_plan_file(session, _revised(tmp_path))
    reply = await hoa.say("/capnhat 4 xong Đã đưa vào chương trình")

    expected = "Your agency has no task 4."
    assert reply.startswith(expected)
