"""The Official Account stays authorised on a quiet OA: its token pair is renewed daily whatever the
traffic, and the admins are warned in chat 14 and 3 days before the refresh token lapses when renewing
keeps failing. Over real HTTP against the OA emulator, on a clock moved day by day."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import zalo as repository
from storage.models.people import ADMIN, COORDINATOR
from tests.bot.zalo.apps import start_official_account
from tests.emulators.faults import Fault
from tests.factories import make_member

ENGLISH = "From now on I will write to you in English."


async def test_a_quiet_oa_is_still_authorised_after_three_months(db, clock, zalo_oa_api):
    runner = await start_official_account(db, clock, zalo_oa_api)
    try:
        # Not one message from 20/6 to late September: only the daily tick.
        for _ in range(100):
            clock.advance(days=1)
            await runner.authorisation.tick()
        expected = 100
        assert zalo_oa_api.refreshes == expected

        await zalo_oa_api.user_sends("f-1", "/ngonngu en")
        (reply,) = await zalo_oa_api.wait_for_messages("f-1", 1)
    finally:
        await runner.stop()
    assert reply.text == ENGLISH


async def test_the_refresh_tokens_expiry_is_stored_and_moves_with_each_renewal(db, clock, zalo_oa_api):
    runner = await start_official_account(db, clock, zalo_oa_api)
    try:
        async with db.snapshot() as session:
            seeded = (await repository.get_token(session, zalo_oa_api.app_id)).refresh_expires_at
        clock.advance(days=1)
        await runner.authorisation.tick()
        async with db.snapshot() as session:
            renewed = (await repository.get_token(session, zalo_oa_api.app_id)).refresh_expires_at
    finally:
        await runner.stop()
    assert renewed - seeded == dt.timedelta(days=1)
    assert renewed == clock.now() + dt.timedelta(days=90)


async def test_no_renewal_within_the_day_however_often_the_tick_runs(db, clock, zalo_oa_api):
    runner = await start_official_account(db, clock, zalo_oa_api)
    try:
        for _ in range(23):
            clock.advance(hours=1)
            await runner.authorisation.tick()
    finally:
        await runner.stop()
    assert zalo_oa_api.refreshes == 0


@pytest.fixture
async def people(db):
    async with db.transaction() as session:
        await make_member(session, "Quản trị", role=ADMIN, platform="zalo", user_id="admin-1", language="en")
        await make_member(session, "Hà", role=COORDINATOR, platform="zalo", user_id="coord-1", language="en")


async def test_admins_are_warned_14_and_3_days_before_the_authorisation_lapses(
    db, clock, zalo_oa_api, zalo_bot_api, people
):
    for chat in ("admin-1", "coord-1"):
        await zalo_bot_api.user_sends(chat, "xin chào")  # the Bot Platform writes only to who wrote first
    runner = await start_official_account(db, clock, zalo_oa_api, zalo_bot_api)
    zalo_oa_api.faults.add("/v4/oa/access_token", Fault("server_error"), times=1000)
    warned_on: list[int] = []
    try:
        for day in range(1, 92):
            clock.advance(days=1)
            before = len(zalo_bot_api.texts_to("admin-1"))
            await runner.authorisation.tick()
            if len(zalo_bot_api.texts_to("admin-1")) > before:
                warned_on.append(day)
    finally:
        await runner.stop()

    expected = [76, 87]  # the pair was seeded on day 0 and lapses on day 90
    assert warned_on == expected
    first, second = zalo_bot_api.texts_to("admin-1")
    assert "(14 days left)" in first and "30 August 2020" in first
    assert "(3 days left)" in second
    assert "ZALO_OA_REFRESH_TOKEN" in second
    assert zalo_bot_api.texts_to("coord-1") == []  # only admins can authorise the OA again


async def test_a_renewal_after_a_warning_starts_the_warnings_afresh(
    db, clock, zalo_oa_api, zalo_bot_api, people
):
    await zalo_bot_api.user_sends("admin-1", "xin chào")
    runner = await start_official_account(db, clock, zalo_oa_api, zalo_bot_api)
    zalo_oa_api.faults.add("/v4/oa/access_token", Fault("server_error"), times=1000)
    try:
        for _ in range(77):
            clock.advance(days=1)
            await runner.authorisation.tick()
        zalo_oa_api.faults.clear()  # Zalo takes the refresh again
        clock.advance(days=1)
        await runner.authorisation.tick()
        async with db.snapshot() as session:
            row = await repository.get_token(session, zalo_oa_api.app_id)
    finally:
        await runner.stop()
    assert len(zalo_bot_api.texts_to("admin-1")) == 1
    assert row.expiry_warned_days is None
    assert row.refresh_expires_at == clock.now() + dt.timedelta(days=90)
