"""Zalo emulators on 127.0.0.1 and clients pointed at them."""

from __future__ import annotations

import pytest

from bot.transports.zalo.client import ZaloBotClient
from bot.transports.zalo.oa_client import ZaloOAClient
from tests.emulators.zalo_bot import ZaloBotEmulator
from tests.emulators.zalo_oa import ZaloOAEmulator

# Short enough that a stalled answer fails a test run quickly, long enough for a loaded machine.
CLIENT_TIMEOUT = 1.0


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
