import datetime as dt

from bot.config import Config, RateConfig
from scheduler.ratelimit import PlatformLimiter, RateSpec, SharedBucket
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
    # Evenly spaced at the rate, not bunched: 30 sends at 10 a second take 2.9 s.
    assert max(times) - min(times) == dt.timedelta(seconds=2.9)


async def test_a_chat_gets_at_most_one_message_a_second(db, clock):
    limiter = PlatformLimiter(RateSpec(per_chat_per_second=1), clock, manual_sleep(clock))
    sent = []
    for chat in ("a", "a", "b", "a"):
        await limiter.acquire(chat)
        sent.append((chat, clock.now()))
    start = sent[0][1]
    expected = [("a", 0.0), ("a", 1.0), ("b", 1.0), ("a", 2.0)]
    assert [(chat, (at - start).total_seconds()) for chat, at in sent] == expected


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


async def test_a_platforms_slow_down_answer_pauses_every_instance(db, clock):
    bucket = SharedBucket(db, "send:telegram", 10)
    other_instance = PlatformLimiter(
        RateSpec(per_second=10), clock, manual_sleep(clock), bucket=SharedBucket(db, "send:telegram", 10)
    )
    await bucket.pause(5, clock.now())
    start = clock.now()
    await other_instance.acquire("chat")
    assert clock.now() - start >= dt.timedelta(seconds=5)
