"""Whatever people type or tap, in whatever order, the core answers without failing.

A seeded stream of commands, numbers, statuses, odd characters, over-long text, stale buttons and
edits from a focal point, a coordinator and a stranger. A handler that raised would be answered with
the apology, so any apology here is a bug."""

from __future__ import annotations

import random

from tests.bot.core.chat import ChatUser

PIECES = [
    "/capnhat",
    "/nhiemvu",
    "/tonghop",
    "/chuabaocao",
    "/nhacnho",
    "/moi",
    "/dangky",
    "/start",
    "/lich",
    "/huy",
    "/ngonngu",
    "/choduyet",
    "/lienket",
    "/kenh",
    "/trogiup",
    "/xuat",
    "xuat pdf 31/2",
    "ky truoc",
    "1",
    "2",
    "3",
    "9",
    "0",
    "-1",
    "999",
    "IV.3",
    "II.2",
    "I.1",
    "hoàn thành",
    "xong",
    "đang",
    "vướng mắc",
    "chua trien khai",
    "60%",
    "150%",
    "%",
    "du lich",
    "tttt",
    "so ngoai vu",
    "",
    " ",
    "https://example.gov.vn/a.pdf",
    "\x00",
    "💥",
    "x" * 1200,
    "'; drop table member;--",
    "/start " + "A" * 300,
    "cap nhat",
    "huy",
    "en",
    "vi",
    "@",
    "/capnhat@bot",
    "1.",
    "#3",
    "coordinator",
    "dieu phoi",
]
APOLOGIES = ("Sorry, something went wrong", "Xin lỗi, đã có lỗi")


async def test_a_stream_of_random_input_never_breaks_the_core(db, core, plan, focal, coordinator):
    rng = random.Random(20200424)
    users = [focal, coordinator, ChatUser(core, "stranger")]
    broken = []
    for _ in range(400):
        user = rng.choice(users)
        text = " ".join(rng.choice(PIECES) for _ in range(rng.randint(1, 4)))
        buttons = [button for reply in user.last for row in reply.buttons for button in row]
        roll = rng.random()
        if roll < 0.15 and buttons:
            replies = await user.press(rng.choice(buttons).data)
        elif roll < 0.2 and user.sent_message_ids:
            replies = await user.edit(rng.choice(user.sent_message_ids), text)
        else:
            replies = await user.send(text)
        if any(reply.text.startswith(APOLOGIES) for reply in replies):
            broken.append((user.user_id, text))

    assert broken == []
