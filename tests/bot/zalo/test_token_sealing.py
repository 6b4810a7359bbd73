"""The Official Account process and its sealed tokens: a clear start-up error without the key, and a
pair left in the clear by an upgrade without the key sealed at the first start with it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.transports.zalo.runner import ZaloRunner, ZaloSetupError
from storage.secret_box import SecretBox
from tests.bot.zalo.apps import make_app, start_official_account
from tests.emulators.zalo_oa import SECRET_KEY


async def test_an_official_account_without_the_secret_key_does_not_start(db, clock, zalo_oa_api):
    env = zalo_oa_api.environment()
    del env["NHACVIEC_SECRET_KEY"]

    with pytest.raises(ZaloSetupError) as caught:
        ZaloRunner(make_app(db, clock, env), official_account=True)

    assert str(caught.value).startswith("NHACVIEC_SECRET_KEY not set")
    assert "nhacviec db new-key" in str(caught.value)


async def test_a_key_that_is_not_a_fernet_key_is_named_at_start(db, clock, zalo_oa_api):
    env = zalo_oa_api.environment() | {"NHACVIEC_SECRET_KEY": "hunter2"}

    with pytest.raises(ZaloSetupError) as caught:
        ZaloRunner(make_app(db, clock, env), official_account=True)

    assert "NHACVIEC_SECRET_KEY must be Fernet keys" in str(caught.value)
    assert "hunter2" not in str(caught.value)


async def test_a_pair_stored_in_the_clear_is_sealed_at_start_and_used(db, clock, zalo_oa_api):
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO zalo_oa_token (app_id, access_token, refresh_token, generation, updated_at, seed_hash) "
                "VALUES (:app, :access, :refresh, 1, :now, NULL)"
            ),
            {
                "app": zalo_oa_api.app_id,
                "access": zalo_oa_api.access_token,
                "refresh": zalo_oa_api.refresh_token,
                "now": clock.now(),
            },
        )

    runner = await start_official_account(db, clock, zalo_oa_api)
    try:
        await zalo_oa_api.user_sends("f-1", "/ngonngu en")
        (reply,) = await zalo_oa_api.wait_for_messages("f-1", 1)
    finally:
        await runner.stop()

    async with db.snapshot() as session:
        access, refresh = (
            await session.execute(text("SELECT access_token, refresh_token FROM zalo_oa_token"))
        ).one()
    box = SecretBox.from_setting(SECRET_KEY)
    assert reply.text == "From now on I will write to you in English."
    assert (box.open(access), box.open(refresh)) == (zalo_oa_api.access_token, zalo_oa_api.refresh_token)
    assert zalo_oa_api.access_token not in access
