"""Abuse through the chat: a focal point retired mid-flow, numbers typed in the wrong chat, floods of
requests and code guesses, and unreadable characters in what people type. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select, update

from bot.app import App
from bot.core import registration
from bot.core.messages import Incoming
from bot.core.service import Core
from storage import linking, people
from storage.models.people import ACTIVE, FOCAL, PENDING, Member, ProgressUpdate
from tests.bot.core.chat import ChatUser
from tests.factories import make_member


class GroupMember(ChatUser):
    """A person writing in a group chat: replies go to the group, the person is themselves."""

    def __init__(self, core, user_id: str, group_id: str, **kwargs):
        super().__init__(core, user_id, **kwargs)
        self.group_id = group_id

    def _incoming(self, **fields) -> Incoming:
        return dataclasses.replace(super()._incoming(**fields), chat_id=self.group_id)


async def _count(db, model, *conditions) -> int:
    async with db.snapshot() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*conditions))


async def _invite(db, clock, agency, *, role=FOCAL) -> str:
    async with db.transaction() as session:
        issued = await registration.issue_invite(
            session, role=role, agency=agency, now=clock.now(), valid_for=dt.timedelta(days=7)
        )
    return issued.token


# ---------------------------------------------------------------- 3: every step re-checks who you are


STOPPED = (
    "Your /capnhat was stopped: your role or agency has changed since you started it, so nothing from it "
    "was saved."
)


@pytest.mark.parametrize("how", ["typed", "tapped", "numbered"])
async def test_a_focal_point_retired_mid_flow_cannot_file_the_update(db, core, clock, plan, focal, how):
    await focal.say("/capnhat")
    await focal.say("2")
    status_question = focal.last
    token = await _invite(db, clock, plan.agencies["Sở Du lịch"])
    assert (await ChatUser(core, "hoa", name="Hoa").say(f"/start {token}")).startswith("Chào mừng")

    if how == "typed":
        text = await focal.say("done finished the signs")
    elif how == "tapped":
        focal.last = status_question
        await focal.tap("Done")
        text = focal.text()
    else:
        text = await focal.say("3")

    assert await _count(db, ProgressUpdate) == 0
    assert text.startswith(STOPPED)
    # And the flow is gone: answering again files nothing either.
    await focal.say("done")
    assert await _count(db, ProgressUpdate) == 0


async def test_a_focal_point_moved_to_another_agency_mid_flow_cannot_file_for_the_old_one(db, plan, focal):
    await focal.say("/capnhat")
    await focal.say("2")
    async with db.transaction() as session:
        await session.execute(
            update(Member).where(Member.name == "Lan").values(agency_id=plan.agencies["Sở Ngoại vụ"].id)
        )

    text = await focal.say("done")

    assert text.startswith(STOPPED)
    assert await _count(db, ProgressUpdate) == 0


async def test_a_flow_times_out_from_its_start_however_many_wrong_answers_were_given(db, focal, clock):
    await focal.say("/capnhat")
    await focal.say("2")
    for _ in range(3):
        clock.advance(minutes=9)
        await focal.say("no idea")  # not a status: asked again
    clock.advance(minutes=4)  # 31 minutes after /capnhat

    text = await focal.say("done")

    assert text.startswith("Your unfinished /capnhat timed out and was cancelled; nothing from it was saved.")
    assert await _count(db, ProgressUpdate) == 0


async def test_a_flow_answered_rightly_within_the_timeout_is_saved(db, focal, clock):
    await focal.say("/capnhat")
    clock.advance(minutes=10)
    await focal.say("2")
    clock.advance(minutes=10)
    await focal.say("done")
    await focal.say("1")  # no note
    clock.advance(minutes=9)

    await focal.say("1")  # no evidence

    assert await _count(db, ProgressUpdate) == 1


# ---------------------------------------------------------------- 4: numbers belong to their chat


@pytest.fixture
async def linked_group(db, clock, plan):
    async with db.transaction() as session:
        from storage import group_links

        await group_links.link_group(
            session,
            platform="console",
            chat_id="group-du-lich",
            agency=plan.agencies["Sở Du lịch"],
            linked_by_id=None,
            now=clock.now(),
        )
    return "group-du-lich"


async def test_a_number_typed_in_a_group_does_not_run_a_button_shown_in_private(
    db, core, coordinator, linked_group
):
    private = await coordinator.say("/xuat")
    assert "1. " in private and "DOCX" in private
    in_group = GroupMember(core, "an", linked_group)

    await in_group.send("1")

    assert not any(reply.documents for reply in in_group.last)
    assert "DOCX" not in in_group.text()
    # In the private chat the same number still does what it offered there.
    await coordinator.send("1")
    assert [d.filename.rsplit(".", 1)[-1] for r in coordinator.last for d in r.documents] == ["docx"]


async def test_a_button_of_the_private_chat_tapped_in_a_group_is_refused(db, core, coordinator, linked_group):
    await coordinator.say("/xuat")
    key = coordinator.last[0].buttons[0][0].data
    in_group = GroupMember(core, "an", linked_group, language_hint="en")

    await in_group.press(key)

    assert in_group.text().startswith("That button belongs to another chat.")
    assert not any(reply.documents for reply in in_group.last)


async def test_a_reminders_buttons_answer_numbers_only_in_the_chat_they_were_sent_to(
    db, core, clock, plan, focal, linked_group
):
    # The reminder engine sends "All our tasks" to Lan's private chat, recorded as its buttons are.
    async with db.transaction() as session:
        await people.add_callback(
            session,
            platform="console",
            user_id="lan",
            chat_id="lan",
            action="tasks_page",
            payload={"agency_id": plan.agencies["Sở Du lịch"].id, "page": 1},
            now=clock.now(),
            expires_at=clock.now() + dt.timedelta(days=1),
        )
    in_group = GroupMember(core, "lan", linked_group, language_hint="en")

    group_text = await in_group.say("1")
    private_text = await focal.say("1")

    assert "II.1" not in group_text
    assert "II.1" in private_text


# ---------------------------------------------------------------- 6: flooding


async def test_asking_six_times_sends_one_request_and_stores_one_row(db, core, plan, coordinator):
    lan = ChatUser(core, "lan", name="Lan", language_hint="en")
    requests_sent = 0
    answers = []
    for _ in range(6):
        answers.append(await lan.say("/dangky Sở Du lịch"))
        requests_sent += len(lan.to("an"))

    assert requests_sent == 1
    assert await _count(db, Member, Member.status == PENDING) == 1
    assert "was sent to the coordinators" in answers[0]
    assert all(
        a.startswith("Your request to join as focal point for Sở Du lịch is already waiting")
        for a in answers[1:]
    )


async def test_one_person_may_change_their_request_a_few_times_a_day_not_more(
    db, core, plan, coordinator, clock
):
    lan = ChatUser(core, "lan", name="Lan")
    agencies = ["Sở Du lịch", "Sở Ngoại vụ", "Sở Du lịch", "Sở Ngoại vụ"]

    answers = [await lan.say(f"/dangky {name}") for name in agencies]
    clock.advance(hours=25)
    next_day = await lan.say("/dangky Sở Ngoại vụ")

    assert [a.startswith("Cảm ơn") for a in answers] == [True, True, True, False]
    assert answers[3].startswith("Bạn đã gửi 3 yêu cầu đăng ký hôm nay")
    assert next_day.startswith("Cảm ơn")
    assert await _count(db, Member, Member.status == PENDING) == 1


async def test_an_agency_takes_only_a_few_waiting_requests(db, core, plan, coordinator):
    people_asking = [ChatUser(core, f"p{n}", name=f"Người {n}", language_hint="en") for n in range(5)]

    answers = [await person.say("/dangky Sở Du lịch") for person in people_asking]

    assert [("was sent to the coordinators" in a) for a in answers] == [True, True, True, False, False]
    assert answers[3].startswith("Sở Du lịch already has 3 registration requests waiting for a coordinator.")
    assert await _count(db, Member, Member.status == PENDING) == 3


async def test_people_sharing_one_chat_send_only_a_few_requests_a_day_between_them(
    db, core, plan, coordinator, clock
):
    # Seven people taking turns on one phone, each within their own limit, spread over three agencies
    # so that no agency's own limit is reached first.
    agencies = ["Sở Du lịch", "Sở Ngoại vụ", "Sở Thông tin và Truyền thông"]
    sharing = [
        GroupMember(core, f"p{n}", "shared-phone", name=f"Người {n}", language_hint="en") for n in range(7)
    ]
    elsewhere = ChatUser(core, "p7", name="Người 7", language_hint="en")

    answers = [await person.say(f"/dangky {agencies[n % 3]}") for n, person in enumerate(sharing)]
    other_chat = await elsewhere.say("/dangky Sở Ngoại vụ")
    clock.advance(hours=25)
    next_day = await sharing[5].say("/dangky Sở Du lịch")

    assert [("was sent to the coordinators" in a) for a in answers] == [True] * 5 + [False] * 2
    expected = (
        "5 registration requests have been sent from this chat today, the most we accept from one chat."
    )
    assert answers[5].startswith(expected)
    assert "was sent to the coordinators" in other_chat
    assert "was sent to the coordinators" in next_day
    assert await _count(db, Member, Member.status == PENDING) == 7


async def test_the_chat_limit_speaks_the_users_language(db, core, plan, coordinator):
    sharing = [GroupMember(core, f"p{n}", "shared-phone", name=f"Người {n}") for n in range(6)]

    answers = [
        await person.say(f"/dangky {('Sở Du lịch', 'Sở Ngoại vụ')[n % 2]}")
        for n, person in enumerate(sharing)
    ]

    assert answers[5].startswith("Đã có 5 yêu cầu đăng ký được gửi từ cuộc trò chuyện này hôm nay")


WAIT_VI = "Đã có quá nhiều mã sai được gửi từ đây."


@pytest.mark.parametrize("command", ["/start", "/lienket", "bắt đầu", "lien ket"])
async def test_five_wrong_codes_then_even_the_right_one_waits_ten_minutes(db, core, clock, plan, command):
    guesser = ChatUser(core, "guesser", name="Kẻ đoán")
    if "start" in command or "bắt" in command:
        right = await _invite(db, clock, plan.agencies["Sở Du lịch"])
        wrong = [f"{n:024d}" for n in range(5)]
    else:
        async with db.transaction() as session:
            owner = await make_member(session, "Chủ", role="coordinator", platform="telegram", user_id="42")
            right = await linking.issue(
                session,
                member_id=owner.id,
                platform="telegram",
                now=clock.now(),
                valid_for=dt.timedelta(hours=1),
            )
        wrong = ["ABCD-EFGH-JKM" + str(n) for n in range(5)]

    refusals = [await guesser.say(f"{command} {code}") for code in wrong]
    blocked = await guesser.say(f"{command} {right}")
    clock.advance(minutes=10, seconds=1)
    allowed = await guesser.say(f"{command} {right}")

    assert not any(r.startswith(WAIT_VI) for r in refusals)
    assert blocked.startswith(WAIT_VI + " Để an toàn cho mọi người, không mã nào được nhận trong 10 phút nữa")
    assert not allowed.startswith(WAIT_VI)
    assert "Chào mừng" in allowed or "liên kết" in allowed


async def test_the_guess_limit_is_in_english_for_an_english_speaker(db, core, clock, plan):
    guesser = ChatUser(core, "guesser", language_hint="en")
    for n in range(5):
        await guesser.say(f"/start {n:024d}")

    text = await guesser.say("/start " + "x" * 24)

    assert text.startswith(
        "Too many wrong codes were sent from here. For everyone's safety no code is accepted for"
    )


async def test_the_guess_limit_holds_across_instances_sharing_the_database(db, app, clock, plan):
    # Two bot processes on one database: guesses spread over both count together.
    first, second = Core(app), Core(App(config=app.config, db=app.db, clock=clock))
    guesser_here, guesser_there = ChatUser(first, "guesser"), ChatUser(second, "guesser")

    for n in range(5):
        await (guesser_here if n % 2 else guesser_there).say(f"/start {n:024d}")
    text = await guesser_here.say("/start " + "y" * 24)

    assert text.startswith(WAIT_VI)


async def test_guesses_from_many_accounts_in_one_chat_are_counted_for_the_chat(
    db, core, clock, plan, linked_group
):
    for n in range(5):
        await GroupMember(core, f"sock{n}", linked_group).say(f"/start {n:024d}")

    text = await GroupMember(core, "sock9", linked_group).say("/start " + "z" * 24)

    assert text.startswith(WAIT_VI)


# ---------------------------------------------------------------- 2: unreadable characters at input


async def test_characters_no_one_can_read_are_dropped_from_notes_and_names_as_they_arrive(
    db, core, clock, plan
):
    token = await _invite(db, clock, plan.agencies["Sở Du lịch"])
    hoa = ChatUser(core, "hoa", name="Hoa\ufffe\x1b Nguyễn\u0085")

    await hoa.say(f"/start {token}")
    await hoa.say("/capnhat 2 xong Đã\ufffe lắp\uffff 40\x01 biển\ufdd0")

    async with db.snapshot() as session:
        notes = list(await session.scalars(select(ProgressUpdate.note)))
        names = list(await session.scalars(select(Member.name).where(Member.status == ACTIVE)))
    assert notes == ["Đã lắp 40 biển"]
    assert names == ["Hoa Nguyễn"]
