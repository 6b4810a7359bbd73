"""The Zalo Official Account transport against the OA emulator: tokens, the reply window, files, errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import zoneinfo

import docx
import pytest
from sqlalchemy import select

from bot.core.messages import Document, Reply
from bot.transports.base import DeliveryError, Recipient
from bot.transports.zalo.documents import DOCX, XLSX
from bot.transports.zalo.oa_client import ZaloOAClient, ZaloOAError
from bot.transports.zalo.oa_transport import ZaloOATransport, incoming_from_event, verify_signature
from bot.transports.zalo.tokens import OATokenStore, TokenUnavailable
from storage.models.zalo import ZaloOAToken
from storage.secret_box import SecretBox
from tests.emulators.faults import Fault
from tests.emulators.zalo_oa import OA_SECRET_KEY, SECRET_KEY, signature

HANOI = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
FOLLOWER = Recipient(platform="zalo_oa", chat_id="f-1", language="vi")


def token_store(db, clock, oa_client, api, *, access=None, refresh=None) -> OATokenStore:
    return OATokenStore(
        db,
        clock,
        oa_client,
        app_id=api.app_id,
        box=SecretBox.from_setting(SECRET_KEY),
        seed_access_token=access or api.access_token,
        seed_refresh_token=refresh or api.refresh_token,
    )


@pytest.fixture
async def tokens(db, clock, oa_client, zalo_oa_api):
    store = token_store(db, clock, oa_client, zalo_oa_api)
    await store.seed()
    return store


@pytest.fixture
async def transport(db, clock, oa_client, zalo_oa_api, tokens):
    transport = ZaloOATransport(oa_client, tokens, db, clock, tz=HANOI, reply_window=dt.timedelta(hours=48))
    await follower_writes(zalo_oa_api, transport, "f-1", "xin chào")
    return transport


async def follower_writes(api, transport, user_id: str, text: str) -> dict:
    """What the runner does with a webhook event: record the message, then hand it to the core."""
    event = api.event(user_id, text)
    api._last_interaction[user_id] = api.clock.now()
    api._user_messages[event["message"]["msg_id"]] = user_id
    api._message_times[event["message"]["msg_id"]] = api.clock.now()
    await transport.record_message(user_id, event["message"]["msg_id"])
    return event


def a_docx(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# -- the client ------------------------------------------------------------------------------------


async def test_a_consultation_message_returns_its_message_id(zalo_oa_api, oa_client):
    zalo_oa_api._last_interaction["f-1"] = zalo_oa_api.clock.now()
    message_id = await oa_client.send_text(zalo_oa_api.access_token, "Chào anh", user_id="f-1")
    assert zalo_oa_api.sent[-1].message_id == message_id
    assert zalo_oa_api.texts_to("f-1") == ["Chào anh"]


async def test_an_unknown_access_token_is_rejected_with_216(oa_client):
    with pytest.raises(ZaloOAError) as caught:
        await oa_client.get_oa("not-a-token")
    assert caught.value.code == -216


async def test_a_refresh_token_works_only_once(zalo_oa_api, oa_client):
    spent = zalo_oa_api.refresh_token
    pair = await oa_client.refresh_access_token(spent)
    assert pair.refresh_token != spent
    with pytest.raises(ZaloOAError) as caught:
        await oa_client.refresh_access_token(spent)
    assert caught.value.code == -14014


# -- the token store -------------------------------------------------------------------------------


async def test_the_environments_tokens_are_stored_on_first_start(db, tokens, zalo_oa_api):
    assert await tokens.current() == zalo_oa_api.access_token


async def test_a_token_about_to_expire_is_renewed_before_use(db, clock, tokens, zalo_oa_api):
    await tokens.refresh(await tokens.current())  # now the store knows the token's lifetime
    first = await tokens.current()
    clock.advance(hours=24, minutes=55)  # 25-hour tokens, renewed ten minutes early
    renewed = await tokens.current()
    assert renewed != first
    assert renewed == zalo_oa_api.access_token
    assert zalo_oa_api.refreshes == 2


async def test_the_new_refresh_token_is_stored_in_the_database(db, tokens, zalo_oa_api):
    await tokens.refresh(await tokens.current())
    async with db.snapshot() as session:
        stored = (await session.execute(select(ZaloOAToken.access_token, ZaloOAToken.refresh_token))).one()
    box = SecretBox.from_setting(SECRET_KEY)
    expected = (zalo_oa_api.access_token, zalo_oa_api.refresh_token)
    assert tuple(box.open(value) for value in stored) == expected
    assert not set(stored) & set(expected)  # stored sealed, never in the clear


async def test_a_restart_keeps_the_refreshed_pair_not_the_spent_one_from_the_environment(
    db, clock, oa_client, zalo_oa_api
):
    original = (zalo_oa_api.access_token, zalo_oa_api.refresh_token)
    first = token_store(db, clock, oa_client, zalo_oa_api, access=original[0], refresh=original[1])
    await first.seed()
    refreshed = await first.refresh(original[0])
    restarted = token_store(db, clock, oa_client, zalo_oa_api, access=original[0], refresh=original[1])
    await restarted.seed()
    assert await restarted.current() == refreshed


async def test_new_tokens_in_the_environment_replace_the_stored_pair(
    db, clock, oa_client, zalo_oa_api, tokens
):
    await tokens.refresh(await tokens.current())
    # The OA is authorised again by hand: the operator sets a new pair.
    reauthorised = await oa_client.refresh_access_token(zalo_oa_api.refresh_token)
    again = token_store(
        db,
        clock,
        oa_client,
        zalo_oa_api,
        access=reauthorised.access_token,
        refresh=reauthorised.refresh_token,
    )
    await again.seed()
    assert await again.current() == reauthorised.access_token


async def test_two_instances_refreshing_at_once_spend_the_refresh_token_once(db, clock, zalo_oa_api, tokens):
    stale = await tokens.current()
    clients = [
        ZaloOAClient(
            app_id=zalo_oa_api.app_id,
            app_secret=zalo_oa_api.app_secret,
            api_base_url=zalo_oa_api.api_base_url,
            oauth_url=zalo_oa_api.oauth_url,
        )
        for _ in range(2)
    ]
    try:
        stores = [token_store(db, clock, client, zalo_oa_api) for client in clients]
        results = await asyncio.gather(*(store.refresh(stale) for store in stores))
    finally:
        for client in clients:
            await client.aclose()
    assert zalo_oa_api.refreshes == 1
    assert results == [zalo_oa_api.access_token] * 2


async def test_a_refused_refresh_says_the_oa_must_be_authorised_again(db, clock, oa_client, zalo_oa_api):
    store = token_store(db, clock, oa_client, zalo_oa_api, refresh="a-refresh-token-zalo-never-issued")
    await store.seed()
    with pytest.raises(TokenUnavailable):
        await store.refresh(await store.current())
    # The lease is released, so a later attempt (with new tokens) is not blocked.
    async with db.snapshot() as session:
        assert (await session.scalar(select(ZaloOAToken))).refreshing_until is None


# -- the transport ---------------------------------------------------------------------------------


async def test_a_reply_inside_the_window_is_a_consultation_message(zalo_oa_api, transport):
    message_id = await transport.send(FOLLOWER, Reply("Đã ghi nhận cập nhật."))
    assert zalo_oa_api.texts_to("f-1") == ["Đã ghi nhận cập nhật."]
    assert message_id == zalo_oa_api.sent[-1].message_id


async def test_an_answer_quotes_the_users_message(zalo_oa_api, transport):
    event = await follower_writes(zalo_oa_api, transport, "f-1", "/baocao")
    await transport.send(FOLLOWER, Reply("Báo cáo của đơn vị"), reply_to=event["message"]["msg_id"])
    assert zalo_oa_api.sent[-1].reply_to == event["message"]["msg_id"]


async def test_a_reminder_after_the_window_closes_only_this_channel(zalo_oa_api, transport, clock):
    clock.advance(hours=49)
    with pytest.raises(DeliveryError) as caught:
        await transport.send(FOLLOWER, Reply("Nhắc việc: hạn báo cáo 20/6"))
    assert (caught.value.permanent, caught.value.channel_only) == (True, True)
    assert zalo_oa_api.sent == []


async def test_a_new_message_from_the_follower_reopens_the_window(zalo_oa_api, transport, clock):
    clock.advance(hours=49)
    await follower_writes(zalo_oa_api, transport, "f-1", "tôi đây")
    await transport.send(FOLLOWER, Reply("Nhắc việc"))
    assert zalo_oa_api.texts_to("f-1") == ["Nhắc việc"]


async def test_zalo_refusing_outside_its_own_window_also_closes_only_this_channel(
    zalo_oa_api, db, clock, oa_client, tokens
):
    # A window configured longer than Zalo's 7 days: Zalo itself refuses (-230).
    transport = ZaloOATransport(oa_client, tokens, db, clock, tz=HANOI, reply_window=dt.timedelta(days=30))
    await follower_writes(zalo_oa_api, transport, "f-1", "xin chào")
    clock.advance(days=8)
    with pytest.raises(DeliveryError) as caught:
        await transport.send(FOLLOWER, Reply("Nhắc việc"))
    assert (caught.value.permanent, caught.value.channel_only, "-230" in str(caught.value)) == (
        True,
        True,
        True,
    )


async def test_a_follower_who_left_the_oa_is_unreachable_there(zalo_oa_api, transport):
    zalo_oa_api.unfollow("f-1")
    with pytest.raises(DeliveryError) as caught:
        await transport.send(FOLLOWER, Reply("Nhắc việc"))
    assert (caught.value.permanent, caught.value.channel_only) == (True, False)


async def test_an_expired_access_token_is_refreshed_and_the_message_still_goes(zalo_oa_api, transport):
    zalo_oa_api.expire_access_token()
    await transport.send(FOLLOWER, Reply("Nhắc việc"))
    assert zalo_oa_api.texts_to("f-1") == ["Nhắc việc"]
    assert zalo_oa_api.refreshes == 1


async def test_a_rate_limit_is_temporary(zalo_oa_api, transport):
    zalo_oa_api.faults.add("/v3.0/oa/message/cs", Fault("rate_limit"))
    with pytest.raises(DeliveryError) as caught:
        await transport.send(FOLLOWER, Reply("Nhắc việc"))
    assert (caught.value.permanent, caught.value.retry_after) == (False, 60.0)


async def test_a_server_error_is_temporary(zalo_oa_api, transport):
    zalo_oa_api.faults.add("/v3.0/oa/message/cs", Fault("server_error", status=503))
    with pytest.raises(DeliveryError) as caught:
        await transport.send(FOLLOWER, Reply("Nhắc việc"))
    assert (caught.value.permanent, caught.value.outcome_unknown) == (False, False)


async def test_a_timeout_after_delivery_leaves_the_outcome_unknown(zalo_oa_api, transport):
    zalo_oa_api.faults.add("/v3.0/oa/message/cs", Fault("timeout", deliver=True))
    with pytest.raises(DeliveryError) as caught:
        await transport.send(FOLLOWER, Reply("Nhắc việc"))
    assert caught.value.outcome_unknown is True
    assert zalo_oa_api.texts_to("f-1") == ["Nhắc việc"]


async def test_a_word_document_is_sent_as_a_file(zalo_oa_api, transport):
    content = a_docx("BÁO CÁO KẾT QUẢ")
    await transport.send(FOLLOWER, Reply("Báo cáo:", documents=[Document("bao-cao.docx", content, DOCX)]))
    files = [message.file for message in zalo_oa_api.sent if message.file]
    assert files == [("bao-cao.docx", content)]


async def test_a_spreadsheet_is_summarised_since_the_oa_cannot_send_it(zalo_oa_api, transport):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["Đơn vị", "Đã báo cáo"])
    workbook.active.append(["Sở Ngoại vụ", "Có"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    await transport.send(FOLLOWER, Reply("", documents=[Document("tong-hop.xlsx", buffer.getvalue(), XLSX)]))
    text = zalo_oa_api.texts_to("f-1")[0]
    assert "tong-hop.xlsx" in text
    assert "Sở Ngoại vụ | Có" in text


# -- the webhook -----------------------------------------------------------------------------------


def signed(zalo_oa_api, event: dict) -> tuple[bytes, str]:
    body = json.dumps(event, ensure_ascii=False)
    return body.encode(), signature(zalo_oa_api.app_id, body, event["timestamp"], OA_SECRET_KEY)


async def test_a_correctly_signed_event_is_accepted(zalo_oa_api):
    body, mac = signed(zalo_oa_api, zalo_oa_api.event("f-1", "xin chào"))
    assert verify_signature(body, mac, app_id=zalo_oa_api.app_id, oa_secret_key=OA_SECRET_KEY)


async def test_an_altered_event_is_refused(zalo_oa_api):
    body, mac = signed(zalo_oa_api, zalo_oa_api.event("f-1", "xin chào"))
    forged = body.replace(b"f-1", b"f-2")
    assert not verify_signature(forged, mac, app_id=zalo_oa_api.app_id, oa_secret_key=OA_SECRET_KEY)


async def test_an_event_signed_with_the_app_secret_instead_of_the_oa_key_is_refused(zalo_oa_api):
    event = zalo_oa_api.event("f-1", "xin chào")
    body = json.dumps(event)
    mac = signature(zalo_oa_api.app_id, body, event["timestamp"], zalo_oa_api.app_secret)
    assert not verify_signature(body.encode(), mac, app_id=zalo_oa_api.app_id, oa_secret_key=OA_SECRET_KEY)


async def test_a_text_event_becomes_an_incoming_message_keyed_by_its_message_id(zalo_oa_api):
    event = zalo_oa_api.event("f-1", "/capnhat 3 xong")
    incoming = incoming_from_event(event)
    expected = ("zalo_oa", "f-1", "f-1", "/capnhat 3 xong", event["message"]["msg_id"])
    assert (
        incoming.platform,
        incoming.chat_id,
        incoming.user_id,
        incoming.text,
        incoming.update_key,
    ) == expected


async def test_a_follow_event_is_not_a_message(zalo_oa_api):
    event = {
        "event_name": "follow",
        "follower": {"id": "f-1"},
        "timestamp": "1",
        "app_id": zalo_oa_api.app_id,
    }
    assert incoming_from_event(event) is None
