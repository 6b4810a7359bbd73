import datetime as dt

from sqlalchemy import select

from bot.config import Config, RateConfig
from scheduler.ratelimit import ON_TIME, PlatformLimiter, RateLimits, RateSpec, SharedBucket, pacing_rate
from storage.models.reminders import RateBudget
from tests.recording_transport import RecordingTransport
from tests.scheduler.conftest import build_crowd, hanoi, make_engine, manual_sleep


def most_in_any_second(times: list[dt.datetime]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times if end - dt.timedelta(seconds=1) < t <= end) for end in times)


def telegram_config(per_second: float) -> Config:
    config = Config()
    config.reminders.rates["telegram"] = RateConfig(per_second=per_second, per_chat_per_second=1)
    return config


async def test_sends_stay_within_the_platforms_rate_as_the_transport_sees_them(db, clock):
    await build_crowd(db, 30, platform="telegram")
    telegram = RecordingTransport(clock, platform="telegram", enforce_per_second=10)
    engine = make_engine(db, clock, [telegram], telegram_config(10))
    await engine.plan()
    clock.set(hanoi(2020, 6, 12, 8))
    await engine.send()
    times = [m.at for m in telegram.sent]
    expected = (30, 10, 0)
    assert (len(times), most_in_any_second(times), telegram.rejected) == expected
    # Evenly spaced, not bunched, a little under the rate (so that a send let go up to ON_TIME after
    # its slot still keeps the second within it): 29 intervals at the bucket's pace, about 2.96 s.
    expected_span = dt.timedelta(seconds=29 / pacing_rate(10))
    assert max(times) - min(times) == expected_span


async def test_a_chat_gets_at_most_one_message_a_second(db, clock):
    limiter = PlatformLimiter(RateSpec(per_chat_per_second=1), clock, manual_sleep(clock))
    sent = []
    for chat in ("a", "a", "b", "a"):
        await limiter.acquire(chat)
        sent.append((chat, clock.now()))
    start = sent[0][1]
    expected = [("a", 0.0), ("a", 1.0), ("b", 1.0), ("a", 2.0)]
    assert [(chat, (at - start).total_seconds()) for chat, at in sent] == expected


async def test_a_chats_next_message_is_spaced_from_when_the_platform_took_the_last_one(db, clock):
    # A loaded machine let the first message go 0.7 s after its slot: the platform got it then, so
    # the chat's next one waits a full second from that arrival, not from the slot.
    limiter = PlatformLimiter(RateSpec(per_chat_per_second=1), clock, manual_sleep(clock))
    await limiter.acquire("a")
    start = clock.now()
    clock.advance(dt.timedelta(seconds=0.7))
    limiter.answered("a")
    await limiter.acquire("a")
    await limiter.acquire("b")
    expected = 1.7
    assert (clock.now() - start).total_seconds() == expected


async def test_two_instances_draw_on_one_budget(db, clock):
    # Two processes' limiters over the same database row, taking turns.
    first = PlatformLimiter(
        RateSpec(per_second=4), clock, manual_sleep(clock), bucket=SharedBucket(db, "send:telegram", 4)
    )
    second = PlatformLimiter(
        RateSpec(per_second=4), clock, manual_sleep(clock), bucket=SharedBucket(db, "send:telegram", 4)
    )
    times = []
    for limiter in (first, second) * 6:
        await limiter.acquire(f"chat-{len(times)}")
        times.append(clock.now())
    assert most_in_any_second(times) == 4


async def test_at_a_high_rate_sends_a_few_milliseconds_apart_share_one_reservation(db, clock):
    # 1,000 a second: the slots within ON_TIME of each other are taken together, and sends coming
    # one after another a millisecond apart use them without writing to the shared row again.
    limiter = PlatformLimiter(
        RateSpec(per_second=1000),
        clock,
        manual_sleep(clock),
        bucket=SharedBucket(db, "send:telegram", pacing_rate(1000)),
    )
    started = clock.now()
    for number in range(10):
        await limiter.acquire(f"chat-{number}")
        clock.set(clock.now() + dt.timedelta(milliseconds=1))
    async with db.snapshot() as session:
        reserved_at = await session.scalar(select(RateBudget.updated_at))
    expected = started
    assert reserved_at == expected


async def test_a_platforms_slow_down_answer_pauses_every_instance(db, clock):
    bucket = SharedBucket(db, "send:telegram", 10)
    other_instance = PlatformLimiter(
        RateSpec(per_second=10), clock, manual_sleep(clock), bucket=SharedBucket(db, "send:telegram", 10)
    )
    await bucket.pause(5, clock.now())
    start = clock.now()
    await other_instance.acquire("chat")
    assert clock.now() - start >= dt.timedelta(seconds=5)


async def test_two_instances_woken_a_little_late_still_stay_within_the_rate_in_every_second(db, clock):
    # A busy event loop wakes a sender after its slot; each instance keeps its own schedule, so a
    # late send must not land on top of the other's and make one more than the rate in a second.
    def waking_late(every: int):
        calls = 0

        async def sleep_until(when: dt.datetime) -> None:
            nonlocal calls
            calls += 1
            late = ON_TIME if calls % every == 0 else dt.timedelta(0)
            clock.set(max(clock.now(), when + late))

        return sleep_until

    specs = {"telegram": RateSpec(per_second=10)}
    first = RateLimits(db, specs, clock, waking_late(2)).for_platform("telegram")
    second = RateLimits(db, specs, clock, waking_late(3)).for_platform("telegram")
    times = []
    for limiter in (first, second) * 20:
        await limiter.acquire(f"chat-{len(times)}")
        times.append(clock.now())
    assert (len(times), most_in_any_second(times)) == (40, 10)
