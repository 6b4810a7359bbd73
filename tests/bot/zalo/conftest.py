"""Zalo emulators on 127.0.0.1 and clients pointed at them."""

from __future__ import annotations

import pytest

from bot.transports.zalo.client import ZaloBotClient
from bot.transports.zalo.oa_client import ZaloOAClient
from storage.models.people import COORDINATOR
from tests.bot.zalo.apps import MODES, polling_runner, start_zalo
from tests.emulators.zalo_bot import ZaloBotEmulator
from tests.emulators.zalo_oa import ZaloOAEmulator
from tests.factories import make_member, make_plan

# Short enough that a stalled answer fails a test run quickly, long enough for a loaded machine.
CLIENT_TIMEOUT = 2.5


@pytest.fixture
async def zalo_bot_api(clock):
    emulator = await ZaloBotEmulator(clock=clock).start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def zalo_client(zalo_bot_api):
    client = ZaloBotClient(zalo_bot_api.token, base_url=zalo_bot_api.base_url, timeout=CLIENT_TIMEOUT)
    yield client
    await client.aclose()


@pytest.fixture
async def zalo_oa_api(clock):
    emulator = await ZaloOAEmulator(clock=clock).start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def oa_client(zalo_oa_api):
    client = ZaloOAClient(
        app_id=zalo_oa_api.app_id,
        app_secret=zalo_oa_api.app_secret,
        api_base_url=zalo_oa_api.api_base_url,
        oauth_url=zalo_oa_api.oauth_url,
        timeout=CLIENT_TIMEOUT,
    )
    yield client
    await client.aclose()


# -- people on Zalo, for the scenario tests (a test module may define its own) --------------------------


@pytest.fixture
async def polling(db, clock, zalo_bot_api):
    """A started Bot Platform runner polling the emulator."""
    runner = polling_runner(db, clock, zalo_bot_api)
    runner.initial_backoff = 0.01
    await runner.start()
    yield runner
    await runner.stop()


@pytest.fixture(params=MODES)
async def zalo(request, db, clock):
    side, stop = await start_zalo(request.param, db, clock)
    yield side
    await stop()


@pytest.fixture
async def plan(db):
    async with db.transaction() as session:
        return await make_plan(session)


@pytest.fixture
async def chi(db, zalo, plan) -> str:
    """Chi, coordinator at Sở TTTT, on Zalo."""
    async with db.transaction() as session:
        await make_member(session, "Chi", role=COORDINATOR, platform=zalo.platform, user_id="chi")
    return "chi"


@pytest.fixture
async def lan(db, zalo, plan) -> str:
    """Lan, focal point for Sở Du lịch, on Zalo."""
    async with db.transaction() as session:
        await make_member(
            session, "Lan", agency=plan.agencies["Sở Du lịch"], platform=zalo.platform, user_id="lan"
        )
    return "lan"
