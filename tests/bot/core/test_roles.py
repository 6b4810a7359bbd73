"""Every command and every button action against every role: who is let in, who is turned away.

The expected tables are written out here, not read from the router, so that a change of who may do
what shows up as a failing test. A command or action added to the router without a row here fails
too."""

from __future__ import annotations

import datetime as dt

from bot.core.router import ACTIONS, COMMANDS
from storage import people
from storage.models.people import PENDING
from tests.bot.core.chat import ChatUser
from tests.factories import make_member

ROLES = ("unregistered", "pending", "focal", "coordinator", "admin")
EVERYONE = set(ROLES)
MEMBERS = {"focal", "coordinator", "admin"}
STAFF = {"coordinator", "admin"}
ADMINS = {"admin"}

# Who may use each command.
COMMAND_MATRIX = {
    "start": EVERYONE,
    "dangky": EVERYONE,
    "trogiup": EVERYONE,
    "nhiemvu": MEMBERS,
    "capnhat": MEMBERS,
    "lich": MEMBERS,
    "lichsu": MEMBERS,  # a focal point for their own agency's tasks (tests/bot/core/test_history.py)
    "kehoach": MEMBERS,
    "tonghop": STAFF,
    "donvi": STAFF,
    "chuabaocao": STAFF,
    "nhacnho": STAFF,
    "xuat": STAFF,
    "moi": STAFF,
    "choduyet": STAFF,
    "ngonngu": EVERYONE,
    "huy": EVERYONE,
    "lienket": EVERYONE,
    "kenh": MEMBERS,
    "coquan": ADMINS,
    "sodienthoai": MEMBERS,
    "vaitro": ADMINS,
    "web": MEMBERS,
}

# Who may use each button action (a key issued to them, as if their role had changed since).
ACTION_MATRIX = {
    "answer": EVERYONE,
    "lang": EVERYONE,
    "approve": STAFF,
    "reject": STAFF,
    "page": STAFF,
    "agency_tasks": STAFF,
    "summary_agencies": STAFF,
    "agency_overview": STAFF,
    "export": STAFF,
    "tasks_page": MEMBERS,
    "update_task": MEMBERS,
    "update_in_plan": MEMBERS,
    "set_channel": MEMBERS,
    "plan_close": STAFF,
    "plan_reopen": STAFF,
    "plans_more": MEMBERS,
    "phone_change": MEMBERS,
    "phone_withdraw": MEMBERS,
    "plan_pick": STAFF,
    # Run by the web dashboard's forms through Core.act (tests/bot/web).
    "issue_invite": STAFF,
    "revoke_invite": STAFF,
}

NOT_REGISTERED = "You are not registered yet."
WAITING = (
    "Your request to join as focal point for Sở Ngoại vụ is waiting for a coordinator's approval. "
    "You will get a message here as soon as it is decided."
)
FOR_COORDINATORS = "is for coordinators only."
FOR_FOCAL_POINTS = "is for focal points of an agency."
FOR_ADMINS = "is for administrators only."
NOT_ANY_MORE = "You may not do that any more."
FAILURE = "Sorry, something went wrong"


async def _users(db, core, plan) -> dict[str, ChatUser]:
    async with db.transaction() as session:
        await make_member(
            session,
            "Pending",
            agency=plan.agencies["Sở Ngoại vụ"],
            user_id="pending",
            status=PENDING,
            language="en",
        )
        await make_member(session, "Lan", agency=plan.agencies["Sở Du lịch"], user_id="focal", language="en")
        await make_member(session, "An", role="coordinator", user_id="coordinator", language="en")
        await make_member(session, "Quan", role="admin", user_id="admin", language="en")
    return {role: ChatUser(core, role, language_hint="en") for role in ROLES}


def _refused(replies) -> bool:
    texts = [reply.text for reply in replies if reply.to_chat_id is None]
    if len(texts) == 1 and (texts[0].startswith(NOT_REGISTERED) or texts[0] == WAITING):
        return True
    return any(
        FOR_COORDINATORS in t or FOR_FOCAL_POINTS in t or FOR_ADMINS in t or t.startswith(NOT_ANY_MORE)
        for t in texts
    )


async def test_every_command_admits_exactly_the_roles_it_is_for(db, core, plan):
    users = await _users(db, core, plan)
    observed: dict[str, set[str]] = {}
    failures = []
    for command in COMMANDS:
        observed[command.name] = set()
        # /start with a code, so that an unregistered user's /start is not mistaken for a refusal.
        typed = f"/{command.name} NOT-A-CODE" if command.name == "start" else f"/{command.name}"
        for role, user in users.items():
            replies = await user.send(typed)
            if any(FAILURE in reply.text for reply in replies):
                failures.append((command.name, role))
            if not _refused(replies):
                observed[command.name].add(role)
            await user.send("/huy")  # leave whatever flow the command started

    assert failures == []
    assert observed == COMMAND_MATRIX


async def test_every_button_action_admits_exactly_the_roles_it_is_for(db, core, clock, plan):
    users = await _users(db, core, plan)
    observed: dict[str, set[str]] = {action: set() for action in ACTIONS}
    for action in ACTIONS:
        for role, user in users.items():
            async with db.transaction() as session:
                key = await people.add_callback(
                    session,
                    platform="console",
                    user_id=user.user_id,
                    action=action,
                    # A language button for English keeps the replies readable by this test.
                    payload={"language": "en"} if action == "lang" else {},
                    now=clock.now(),
                    expires_at=clock.now() + dt.timedelta(days=1),
                )
            replies = await user.press(key)
            assert not any(FAILURE in reply.text for reply in replies), (action, role)
            if not _refused(replies):
                observed[action].add(role)

    assert observed == ACTION_MATRIX


async def test_an_unregistered_user_learns_how_to_register_and_nothing_else(db, core, plan, focal):
    await focal.say("/capnhat 1 done Broadcast 12 programmes")
    stranger = ChatUser(core, "stranger", language_hint="en")

    for typed in (
        "/nhiemvu",
        "/tonghop",
        "/chuabaocao",
        "/capnhat 1 done",
        "1",
        "hello",
        "nhiem vu so du lich",
    ):
        text = await stranger.say(typed)
        assert text.startswith(NOT_REGISTERED), typed
        assert "Broadcast" not in text and "Sở Du lịch" not in text, typed


async def test_a_focal_point_sees_only_their_own_agencys_tasks(db, core, plan, focal):
    other = await focal.say("/nhiemvu Sở Ngoại vụ")

    assert other.startswith("Tasks of Sở Du lịch")
    assert "Sở Ngoại vụ" not in other


async def test_a_coordinator_sees_any_agencys_tasks(db, core, plan, coordinator):
    text = await coordinator.say("/nhiemvu ngoai vu")

    assert text.startswith("Tasks of Sở Ngoại vụ")
