"""/sodienthoai, /vaitro and /web typed in an agency's linked Telegram group, by each role, through
the real bot and the Telegram emulator: the group never sees a phone number or a sign-in link."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from storage.models.people import ADMIN, COORDINATOR, PENDING, RETIRED, Member
from tests.bot.telegram.test_groups import linked_group
from tests.factories import make_member

NUMBER = "84912345678"
SHOWN = "0912 345 678"
ONLY_THE_AGENCY = "In this group only the focal points of Sở Du lịch and the coordinators can use the bot."
LINK_IN_PRIVATE = "For your safety the sign-in link is only sent in a private chat: write /web to me there."
FOR_ADMINS = "/vaitro is for administrators only."
# Telegram user ids: Hà (1, coordinator) and Lan (2, Sở Du lịch's focal point) come with the group.
USERS = {
    "focal": 2,
    "coordinator": 1,
    "admin": 4,
    "other_agency": 3,
    "pending": 5,
    "retired": 6,
    "stranger": 7,
}
NUMBER_IN_PRIVATE = "Your phone number is only shown in a private chat: write /sodienthoai to me there."
ROLES_IN_PRIVATE = (
    "Roles are changed in a private chat, not in front of the group: write /vaitro to me there."
)
GROUP_SAYS = {
    "/sodienthoai": dict.fromkeys(("focal", "coordinator", "admin"), NUMBER_IN_PRIVATE),
    "/vaitro": {"focal": FOR_ADMINS, "coordinator": FOR_ADMINS, "admin": ROLES_IN_PRIVATE},
    "/web": {"focal": LINK_IN_PRIVATE, "coordinator": LINK_IN_PRIVATE, "admin": LINK_IN_PRIVATE},
}
for _says in GROUP_SAYS.values():
    _says.update(dict.fromkeys(("other_agency", "pending", "retired", "stranger"), ONLY_THE_AGENCY))


@pytest.mark.parametrize(
    ("command", "role"), [pytest.param(c, r, id=f"{c[1:]}-{r}") for c in GROUP_SAYS for r in USERS]
)
async def test_a_private_command_in_a_linked_group_shows_no_number_or_link(
    telegram, start_bot, sqlite_db, command, role
):
    await start_bot()
    built, group, *_ = await linked_group(telegram, sqlite_db)
    async with sqlite_db.transaction() as session:
        await make_member(session, "Quân", role=ADMIN, platform="telegram", user_id="4", language="en")
        await make_member(
            session,
            "Phương",
            agency=built.agencies["Sở Ngoại vụ"],
            platform="telegram",
            user_id="5",
            status=PENDING,
            language="en",
        )
        await make_member(
            session,
            "Cúc",
            role=COORDINATOR,
            platform="telegram",
            user_id="6",
            status=RETIRED,
            language="en",
        )
    async with sqlite_db.transaction() as session:
        await session.execute(
            update(Member).values(phone=NUMBER, phone_consent_at=dt.datetime(2020, 5, 1, 1, 0, tzinfo=dt.UTC))
        )
    user = telegram.user(USERS[role], role.capitalize(), language_code="en")

    await telegram.send_text(user, f"{command}@{telegram.username}", chat=group)

    (reply,) = await telegram.next_messages(group.id, after=1)
    assert SHOWN not in reply.text and NUMBER not in reply.text and "/login/" not in reply.text
    assert reply.text.startswith(GROUP_SAYS[command][role])
