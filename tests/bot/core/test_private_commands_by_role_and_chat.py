"""/vaitro, /sodienthoai and /web for every role, typed in a private chat and in a group chat (as
Telegram and Zalo deliver a group message to the core: `is_group`, the group's chat id).

What each person sees is written out here. A group must never show a member's phone number or a
sign-in link, whoever asks."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from bot.core.messages import Incoming
from bot.core.router import COMMANDS
from storage.models.people import RETIRED, Member
from tests.bot.core.chat import ChatUser
from tests.bot.core.test_roles import _users
from tests.factories import make_member

ROLES = ("unregistered", "pending", "focal", "coordinator", "admin", "retired")
NUMBER = "84912345678"
SHOWN = "0912 345 678"
GROUP = "group-5001"


class GroupUser(ChatUser):
    """The same person, writing in a group chat the bot is in."""

    def _incoming(self, **fields) -> Incoming:
        return Incoming(
            platform=self.platform,
            chat_id=GROUP,
            user_id=self.user_id,
            user_name=self.name,
            language_hint=self.language_hint,
            is_group=True,
            **fields,
        )


@pytest.fixture
async def people_by_role(db, app, core, plan):
    """One person per role, each with a phone number given with consent (where they have a member
    row), ZNS configured: the case in which /sodienthoai has a number to show."""
    app.config.zalo.zns_template_id = "tpl-nhac-han"
    await _users(db, core, plan)
    async with db.transaction() as session:
        await make_member(session, "Cu", user_id="retired", status=RETIRED, language="en")
        await session.execute(
            update(Member).values(phone=NUMBER, phone_consent_at=dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.UTC))
        )
    return ROLES


def _texts(replies) -> str:
    return "\n".join(reply.text for reply in replies)


NOT_REGISTERED = "You are not registered yet.\n• If you have an invite link, open it;"
WAITING = "Your request to join as focal point for Sở Ngoại vụ is waiting for a coordinator's approval."
FOR_ADMINS = "/vaitro is for administrators only.\nSend /trogiup to see what you can do."
YOUR_NUMBER = (
    f"Your number for Zalo notifications is {SHOWN}, given with your consent on Sunday, 1 March 2026."
)
WHOSE_ROLE = "Whose role do you want to change? Type part of their name."
LINK = "Open this link within 10 minutes to sign in to the dashboard; it works once:\nhttp://"
LINK_IN_PRIVATE = "For your safety the sign-in link is only sent in a private chat: write /web to me there."
ENDED = "Your registration as focal point has ended (handed over to someone else or ended by a coordinator)"
# Who is not (or no longer) a member gets the same answer to each of the three, anywhere: a retired
# member is told their registration ended and how to come back.
OUTSIDERS = {"unregistered": NOT_REGISTERED, "pending": WAITING, "retired": ENDED}

PRIVATE = {
    "/sodienthoai": OUTSIDERS | {"focal": YOUR_NUMBER, "coordinator": YOUR_NUMBER, "admin": YOUR_NUMBER},
    "/vaitro": OUTSIDERS | {"focal": FOR_ADMINS, "coordinator": FOR_ADMINS, "admin": WHOSE_ROLE},
    "/web": OUTSIDERS | {"focal": LINK, "coordinator": LINK, "admin": LINK},
}
# In a group: the same refusals; a member's own number and a sign-in link are for a private chat.
NUMBER_IN_PRIVATE = "Your phone number is only shown in a private chat: write /sodienthoai to me there."
ROLES_IN_PRIVATE = (
    "Roles are changed in a private chat, not in front of the group: write /vaitro to me there."
)
GROUP_SAYS = {
    "/sodienthoai": OUTSIDERS | dict.fromkeys(("focal", "coordinator", "admin"), NUMBER_IN_PRIVATE),
    "/vaitro": OUTSIDERS | {"focal": FOR_ADMINS, "coordinator": FOR_ADMINS, "admin": ROLES_IN_PRIVATE},
    "/web": OUTSIDERS | {"focal": LINK_IN_PRIVATE, "coordinator": LINK_IN_PRIVATE, "admin": LINK_IN_PRIVATE},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("command", sorted(PRIVATE))
async def test_in_a_private_chat_each_role_gets_its_answer(db, core, people_by_role, role, command):
    user = ChatUser(core, role, language_hint="en")

    replies = await user.send(command)

    assert len(replies) == 1 and replies[0].to_chat_id is None
    assert replies[0].text.startswith(PRIVATE[command][role])


GROUP_CASES = [(command, role) for command in sorted(PRIVATE) for role in ROLES]


@pytest.mark.parametrize(("command", "role"), GROUP_CASES)
async def test_in_a_group_no_number_or_link_is_shown_and_the_reply_says_where_to_go(
    db, core, people_by_role, role, command
):
    user = GroupUser(core, role, language_hint="en")

    replies = await user.send(command)

    seen = _texts(replies)
    assert SHOWN not in seen and NUMBER not in seen
    assert "/login/" not in seen
    # Nothing is sent elsewhere either (a private message would be a reply with another chat id).
    assert all(reply.to_chat_id in (None, GROUP) for reply in replies)
    assert len(replies) == 1 and replies[0].text.startswith(GROUP_SAYS[command][role])


async def test_a_retired_member_is_admitted_to_no_command_a_stranger_is_not(db, core, people_by_role):
    """The role matrix (test_roles.py) has no retired member: here every command is typed by one and
    by a stranger, and a command refused to the stranger is refused to the retired member too."""
    retired = ChatUser(core, "retired", language_hint="en")
    stranger = ChatUser(core, "unregistered", language_hint="en")
    admitted_beyond_strangers = []
    for command in COMMANDS:
        typed = f"/{command.name} NOT-A-CODE" if command.name == "start" else f"/{command.name}"
        theirs = _texts(await retired.send(typed))
        strangers = _texts(await stranger.send(typed))
        await retired.send("/huy")
        await stranger.send("/huy")
        if strangers.startswith(NOT_REGISTERED) and not theirs.startswith(ENDED):
            admitted_beyond_strangers.append((command.name, theirs))
        assert SHOWN not in theirs, command.name

    assert admitted_beyond_strangers == []
