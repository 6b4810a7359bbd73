"""A chat reply the platform refuses for a while (429, 5xx, a timeout) still reaches the person:
retried while they wait, else parked in the database and sent, in order, once the platform answers
again, else given up with the person told. Over real HTTP against the Zalo Bot and Official Account emulators."""

from __future__ import annotations

import asyncio

import pytest

from bot.transports.zalo.runner import ZaloRunner
from tests.bot.delivery import Waits, count_parked, parked
from tests.bot.zalo.apps import make_app, polling_runner, start_official_account
from tests.emulators.faults import Fault

ENGLISH = "From now on I will write to you in English."
VIETNAMESE = "Từ nay tôi sẽ nhắn cho bạn bằng tiếng Việt."


# -- Zalo Bot Platform -----------------------------------------------------------------------------


@pytest.fixture
async def zalo_bot(db, clock, zalo_bot_api):
    runner = polling_runner(db, clock, zalo_bot_api)
    runner.courier.sleep = Waits()
    await runner.start()
    yield runner
    await runner.stop()


async def parked_count_reaches(db, count: int) -> None:
    for _ in range(2000):  # up to 20 s: a busy machine, not a hang
        if await count_parked(db) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{await count_parked(db)} replies parked, not {count}")


async def answered(runner, api=None) -> None:
    """Every update sent so far has been taken by the runner (from the Bot API emulator `api`, when it
    polls) and handled: its replies sent or parked."""
    for _ in range(2000):  # up to 20 s: a busy machine, not a hang
        # An update a poll has taken is on its way to the runner until the runner accepts it.
        polled = api is None or (not api.pending_updates and runner.queue.accepted >= api.handed_out)
        if polled and not runner.queue.in_flight:
            break
        await asyncio.sleep(0.01)
    await runner.queue.drain()


@pytest.mark.parametrize(
    "fault",
    [
        Fault("rate_limit", retry_after=0),  # as published: a 429 says nothing of when to come back
        Fault("server_error", status=502),
        Fault("server_error", status=503),
        Fault("bad_gateway_html"),
        Fault("timeout"),
    ],
    ids=["429", "502", "503", "502-html", "timeout"],
)
async def test_a_reply_zalo_refuses_once_still_reaches_the_person(zalo_bot_api, zalo_bot, fault):
    zalo_bot_api.faults.add("sendMessage", fault)

    await zalo_bot_api.user_sends("u-1", "/ngonngu en")

    (reply,) = await zalo_bot_api.wait_for_messages("u-1", 1)
    assert reply.text == ENGLISH
    assert len(zalo_bot.courier.sleep.asked) == 1


async def test_a_zalo_429_is_waited_out_on_our_own_schedule(zalo_bot_api, zalo_bot):
    zalo_bot_api.faults.add("sendMessage", Fault("rate_limit", retry_after=0), times=3)

    await zalo_bot_api.user_sends("u-1", "/ngonngu en")

    (reply,) = await zalo_bot_api.wait_for_messages("u-1", 1)
    assert reply.text == ENGLISH
    # The published API gives no retry_after: the transport's own pause, never less than our delays.
    expected = [5.0, 5.0, 8.0]
    assert zalo_bot.courier.sleep.asked == expected


async def test_a_reply_refused_past_the_retries_is_parked_and_sent_in_order_when_zalo_recovers(
    db, clock, zalo_bot_api, zalo_bot
):
    zalo_bot_api.faults.add("sendMessage", Fault("server_error", status=503), times=4)
    await zalo_bot_api.user_sends("u-1", "/ngonngu en")
    await answered(zalo_bot, zalo_bot_api)
    assert zalo_bot_api.texts_to("u-1") == []
    assert await parked(db) == [("zalo", "u-1", 0)]

    # Zalo works again, but the second answer must not overtake the first.
    await zalo_bot_api.user_sends("u-1", "/ngonngu vi")
    await parked_count_reaches(db, 2)
    assert zalo_bot_api.texts_to("u-1") == []

    clock.advance(seconds=31)
    assert await zalo_bot.courier.flush() == 2

    first, second = zalo_bot_api.texts_to("u-1")
    assert first.endswith(ENGLISH) and "late" in first.splitlines()[0]
    assert second.endswith(VIETNAMESE) and "muộn" in second.splitlines()[0]
    assert await count_parked(db) == 0


async def test_a_parked_reply_waits_longer_each_time_zalo_still_refuses_it(db, clock, zalo_bot_api, zalo_bot):
    # Four refusals while the person waits, one more when it is first tried again.
    zalo_bot_api.faults.add("sendMessage", Fault("server_error"), times=5)
    await zalo_bot_api.user_sends("u-1", "/ngonngu en")
    await answered(zalo_bot, zalo_bot_api)

    clock.advance(seconds=31)
    assert await zalo_bot.courier.flush() == 0
    assert await parked(db) == [("zalo", "u-1", 1)]
    clock.advance(seconds=59)  # the second wait is a minute
    assert await zalo_bot.courier.flush() == 0
    assert await parked(db) == [("zalo", "u-1", 1)]
    clock.advance(seconds=2)
    assert await zalo_bot.courier.flush() == 1

    assert zalo_bot_api.texts_to("u-1")[0].endswith(ENGLISH)


async def test_a_reply_still_refused_after_a_day_is_given_up_and_the_person_told(
    db, clock, zalo_bot_api, zalo_bot
):
    zalo_bot_api.faults.add("sendMessage", Fault("server_error"), times=5)
    await zalo_bot_api.user_sends("u-1", "/ngonngu en")
    await answered(zalo_bot, zalo_bot_api)

    clock.advance(hours=25)
    assert await zalo_bot.courier.flush() == 0

    (notice,) = zalo_bot_api.texts_to("u-1")
    # In the language the lost answer was written in (the person had just chosen English).
    assert notice.startswith("I could not deliver my answer to your message of 08:00 01/06")
    assert await count_parked(db) == 0
    assert zalo_bot.courier.given_up == 1


async def test_a_reply_to_someone_who_blocked_the_bot_is_neither_retried_nor_parked(
    db, zalo_bot_api, zalo_bot
):
    zalo_bot_api.faults.add("sendMessage", Fault("chat_not_found"))
    await zalo_bot_api.user_sends("u-1", "/ngonngu en")
    await answered(zalo_bot, zalo_bot_api)

    assert zalo_bot_api.texts_to("u-1") == []
    assert zalo_bot.courier.sleep.asked == []
    assert await count_parked(db) == 0


async def test_parked_replies_survive_a_restart(db, clock, zalo_bot_api):
    def runner() -> ZaloRunner:
        app = make_app(
            db,
            clock,
            {"ZALO_BOT_TOKEN": zalo_bot_api.token},
            api_base_url=zalo_bot_api.base_url,
            poll_timeout=1,
        )
        made = ZaloRunner(app, official_account=False)
        made.courier.sleep = Waits()
        return made

    first = runner()
    await first.start()
    zalo_bot_api.faults.add("sendMessage", Fault("server_error"), times=4)
    await zalo_bot_api.user_sends("u-1", "/ngonngu en")
    await answered(first, zalo_bot_api)
    await first.stop()

    # The stopped poller's last getUpdates may still be open at the emulator, and would take the
    # next update: let it end (its 1-second long poll) before the second instance polls.
    for _ in range(2000):
        if not zalo_bot_api.active_polls:
            break
        await asyncio.sleep(0.01)
    second = runner()
    await second.start()
    try:
        # A new message after the restart still queues behind the parked answer.
        await zalo_bot_api.user_sends("u-1", "/ngonngu vi")
        await parked_count_reaches(db, 2)
        assert zalo_bot_api.texts_to("u-1") == []
        clock.advance(minutes=1)
        assert await second.courier.flush() == 2
    finally:
        await second.stop()
    texts = zalo_bot_api.texts_to("u-1")
    assert [text.splitlines()[-1] for text in texts] == [ENGLISH, VIETNAMESE]


# -- Zalo Official Account -----------------------------------------------------------------------------


@pytest.fixture
async def official_account(db, clock, zalo_oa_api):
    runner = await start_official_account(db, clock, zalo_oa_api)
    runner.courier.sleep = Waits()
    yield runner
    await runner.stop()


@pytest.mark.parametrize(
    "fault", [Fault("server_error", status=502), Fault("timeout")], ids=["502", "timeout"]
)
async def test_an_oa_reply_refused_once_still_answers_the_followers_message(
    zalo_oa_api, official_account, fault
):
    zalo_oa_api.faults.add("/v3.0/oa/message/cs", fault)

    event = await zalo_oa_api.user_sends("f-1", "/ngonngu en")

    (reply,) = await zalo_oa_api.wait_for_messages("f-1", 1)
    assert reply.text == ENGLISH
    assert reply.reply_to == event["message"]["msg_id"]


async def test_an_oa_rate_limit_parks_the_reply_until_the_oa_may_call_again(
    db, clock, zalo_oa_api, official_account
):
    zalo_oa_api.faults.add("/v3.0/oa/message/cs", Fault("rate_limit"))

    event = await zalo_oa_api.user_sends("f-1", "/ngonngu en")
    await answered(official_account)
    assert zalo_oa_api.texts_to("f-1") == []
    assert await parked(db) == [("zalo_oa", "f-1", 0)]

    clock.advance(seconds=30)
    assert await official_account.courier.flush() == 0  # the OA was told to wait a minute
    clock.advance(seconds=31)
    assert await official_account.courier.flush() == 1

    (reply,) = zalo_oa_api.sent
    assert reply.text.endswith(ENGLISH)
    # Still a reply to the follower's message: free, and inside its window.
    assert reply.reply_to == event["message"]["msg_id"]
