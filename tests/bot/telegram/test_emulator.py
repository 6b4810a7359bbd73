"""The Bot API emulator answers as Telegram does, so that what passes here passes in production."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from tests.emulators.telegram import FloodLimits, TelegramEmulator, parse_html
from tests.emulators.telegram.entities import EntityParseError


def test_html_entities_are_measured_in_utf16_units():
    text, entities = parse_html("😀 <b>Hoàn thành</b> &lt;ok&gt;")

    assert text == "😀 Hoàn thành <ok>"
    expected = [{"type": "bold", "offset": 3, "length": 10}]
    assert entities == expected


def test_escaped_markup_is_shown_as_text_without_entities():
    text, entities = parse_html("&lt;b&gt;not bold&lt;/b&gt; &amp; &quot;quoted&quot;")

    assert text == '<b>not bold</b> & "quoted"'
    assert entities == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<script>x</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("bold</b>", "Unexpected end tag at byte offset 4"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_malformed_html_is_refused_with_telegrams_description(source, expected):
    with pytest.raises(EntityParseError) as refused:
        parse_html(source)

    assert str(refused.value) == expected


def test_links_and_preformatted_code_keep_their_attributes():
    text, entities = parse_html(
        '<a href="https://t.me/x?a=1&amp;b=2">link</a> <pre><code class="language-py">x</code></pre>'
    )

    assert text == "link x"
    expected = [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://t.me/x?a=1&b=2"},
        {"type": "pre", "offset": 5, "length": 1, "language": "py"},
    ]
    assert entities == expected


async def test_responses_have_the_bot_api_shape_with_dates_in_seconds(telegram):
    telegram.user(1001, "Lan")
    async with httpx.AsyncClient() as client:
        first = await client.post(
            f"{telegram.api_base_url}{telegram.token}/sendMessage", json={"chat_id": 1001, "text": "a"}
        )
        second = await client.post(
            f"{telegram.api_base_url}{telegram.token}/sendMessage", data={"chat_id": "1001", "text": "b"}
        )

    body = first.json()
    assert body["ok"] is True
    assert isinstance(body["result"]["date"], int)
    assert abs(body["result"]["date"] - time.time()) < 5
    assert second.json()["result"]["message_id"] == body["result"]["message_id"] + 1


async def test_a_wrong_token_is_unauthorized_and_an_unknown_method_not_found(telegram):
    async with httpx.AsyncClient() as client:
        wrong = await client.post(f"{telegram.api_base_url}1:wrong/getMe")
        unknown = await client.post(f"{telegram.api_base_url}{telegram.token}/getEverything")

    assert (wrong.status_code, wrong.json()["description"]) == (401, "Unauthorized")
    assert (unknown.status_code, unknown.json()["description"]) == (404, "Not Found")


async def test_malformed_html_from_the_bot_gets_400_cant_parse_entities(telegram, ptb_bot):
    telegram.user(1001, "Lan")

    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await ptb_bot.send_message(1001, "Sở <TTTT> đã nhận", parse_mode="HTML")

    assert telegram.sent_to(1001) == []


async def test_sent_html_is_recorded_as_the_user_sees_it(telegram, ptb_bot):
    telegram.user(1001, "Lan")

    message = await ptb_bot.send_message(1001, "<b>Nhiệm vụ</b> 3: xong /capnhat", parse_mode="HTML")

    sent = telegram.sent_to(1001)[0]
    assert sent.text == "Nhiệm vụ 3: xong /capnhat"
    assert [(e["type"], e["offset"], e["length"]) for e in sent.entities] == [
        ("bold", 0, 8),
        ("bot_command", 17, 8),
    ]
    assert message.message_id == sent.message_id


async def test_a_message_to_an_unknown_chat_fails_with_chat_not_found(ptb_bot):
    with pytest.raises(BadRequest, match="Chat not found"):
        await ptb_bot.send_message(4242, "hello")


async def test_a_user_who_blocked_the_bot_gives_403(telegram, ptb_bot):
    lan = telegram.user(1001, "Lan")
    telegram.block(lan)

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await ptb_bot.send_message(1001, "hello")


async def test_callback_data_longer_than_64_bytes_is_refused(telegram, ptb_bot):
    telegram.user(1001, "Lan")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Chọn", callback_data="đ" * 33)]])

    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await ptb_bot.send_message(1001, "Chọn một", reply_markup=keyboard)


async def test_long_polling_returns_as_soon_as_an_update_arrives(telegram, ptb_bot):
    lan = telegram.user(1001, "Lan")
    started = time.monotonic()
    poll = asyncio.create_task(ptb_bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)  # let the poll reach the server before the user writes

    await telegram.send_text(lan, "/trogiup")
    updates = await poll

    assert [u.message.text for u in updates] == ["/trogiup"]
    assert time.monotonic() - started < 2


async def test_an_offset_confirms_earlier_updates(telegram, ptb_bot):
    lan = telegram.user(1001, "Lan")
    for text in ("một", "hai", "ba"):
        await telegram.send_text(lan, text)

    first = await ptb_bot.get_updates(timeout=0)
    after = await ptb_bot.get_updates(offset=first[1].update_id + 1, timeout=0)
    again = await ptb_bot.get_updates(timeout=0)

    assert [u.message.text for u in first] == ["một", "hai", "ba"]
    assert [u.message.text for u in after] == ["ba"]
    assert [u.message.text for u in again] == ["ba"]


async def test_updates_of_types_not_allowed_are_never_created(telegram, ptb_bot):
    lan = telegram.user(1001, "Lan")
    await ptb_bot.get_updates(timeout=0, allowed_updates=["edited_message"])
    update = await telegram.send_text(lan, "gốc")
    await telegram.edit_text(update, "đã sửa")

    updates = await ptb_bot.get_updates(timeout=0)

    assert [u.edited_message.text for u in updates] == ["đã sửa"]


async def test_a_second_poller_ends_the_first_with_a_conflict(telegram, ptb_bot):
    other = HTTPXRequest(read_timeout=5)
    await other.initialize()
    try:
        first = asyncio.create_task(ptb_bot.get_updates(timeout=3))
        await asyncio.sleep(0.05)
        payload = await other.post(f"{telegram.api_base_url}{telegram.token}/getUpdates", None)

        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
        assert payload == []
    finally:
        await other.shutdown()


async def test_a_webhook_receives_updates_with_the_secret_header(telegram, ptb_bot):
    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response()

    server = web.Application()
    server.router.add_post("/hook", hook)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        await ptb_bot.set_webhook(f"http://{host}:{port}/hook", secret_token="s3cret-Token_1")
        lan = telegram.user(1001, "Lan")
        await telegram.send_text(lan, "/tonghop")
        await telegram.wait_for(lambda: received)
        info = await ptb_bot.get_webhook_info()
        with pytest.raises(Conflict):
            await ptb_bot.get_updates(timeout=0)
    finally:
        await runner.cleanup()

    secret, update = received[0]
    assert secret == "s3cret-Token_1"
    assert update["message"]["text"] == "/tonghop"
    assert info.url == f"http://{host}:{port}/hook"
    assert info.pending_update_count == 0


async def test_faults_fail_the_next_calls_then_stop(telegram, ptb_bot):
    telegram.user(1001, "Lan")
    telegram.faults.next(1, "retry_after", retry_after=7)
    telegram.faults.next(1, "server_error")
    telegram.faults.next(1, "bad_gateway")

    with pytest.raises(RetryAfter) as limited:
        await ptb_bot.send_message(1001, "một")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await ptb_bot.send_message(1001, "hai")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await ptb_bot.send_message(1001, "ba")
    delivered = await ptb_bot.send_message(1001, "bốn")

    assert limited.value._retry_after.total_seconds() == 7
    assert [m.text for m in telegram.sent_to(1001)] == ["bốn"]
    assert delivered.text == "bốn"
    assert [f.kind for f in telegram.faults.injected] == ["retry_after", "server_error", "bad_gateway"]


async def test_a_fault_rate_fails_about_that_share_of_calls(telegram, ptb_bot):
    telegram.user(1001, "Lan")
    telegram.faults.rate(0.3, "server_error", seed=7)

    outcomes = []
    for i in range(60):
        try:
            await ptb_bot.send_message(1001, f"tin {i}")
            outcomes.append(True)
        except NetworkError:
            outcomes.append(False)

    failed = outcomes.count(False)
    assert 8 <= failed <= 30
    assert len(telegram.sent_to(1001)) == 60 - failed


async def test_a_timeout_after_processing_leaves_the_message_delivered(telegram):
    telegram.user(1001, "Lan")
    telegram.faults.next(1, "timeout", delay=0.5, process=True)
    impatient = Bot(telegram.token, base_url=telegram.api_base_url, request=HTTPXRequest(read_timeout=0.2))

    async with impatient:
        with pytest.raises(TimedOut):
            await impatient.send_message(1001, "có thể trùng")

    assert [m.text for m in telegram.sent_to(1001)] == ["có thể trùng"]


async def test_editing_to_the_same_content_is_refused_as_not_modified(telegram, ptb_bot):
    telegram.user(1001, "Lan")
    message = await ptb_bot.send_message(1001, "Chọn trạng thái")

    edited = await ptb_bot.edit_message_text(
        "Đã chọn: hoàn thành", chat_id=1001, message_id=message.message_id
    )
    with pytest.raises(BadRequest, match="Message is not modified"):
        await ptb_bot.edit_message_text("Đã chọn: hoàn thành", chat_id=1001, message_id=message.message_id)

    assert edited.text == "Đã chọn: hoàn thành"
    assert telegram.sent_to(1001)[0].edits[0]["text"] == "Chọn trạng thái"


async def test_a_callback_query_can_be_answered_once(telegram, ptb_bot):
    lan = telegram.user(1001, "Lan")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Hoàn thành", callback_data="st:done")]])
    await ptb_bot.send_message(1001, "Trạng thái?", reply_markup=keyboard)
    sent = telegram.sent_to(1001)[0]

    update = await telegram.tap(lan, sent, "Hoàn thành")
    query_id = update["callback_query"]["id"]
    await ptb_bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match="Query is too old"):
        await ptb_bot.answer_callback_query(query_id)

    assert update["callback_query"]["data"] == "st:done"
    assert telegram.callback_queries[query_id].answered_at is not None


async def test_commands_are_kept_per_language(telegram, ptb_bot):
    await ptb_bot.set_my_commands([("tonghop", "Tổng hợp báo cáo")], language_code="vi")
    await ptb_bot.set_my_commands([("summary", "Cycle summary")], language_code="en")

    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await ptb_bot.set_my_commands([("TongHop", "x")])

    assert [c.command for c in await ptb_bot.get_my_commands(language_code="en")] == ["summary"]
    assert telegram.commands_for("vi") == [{"command": "tonghop", "description": "Tổng hợp báo cáo"}]
    assert telegram.commands_for("") == []


async def test_a_deep_link_start_parameter_must_use_telegrams_alphabet(telegram):
    lan = telegram.user(1001, "Lan")

    update = await telegram.open_deep_link(lan, "https://t.me/nhacviec_bot?start=Abc-123_x")
    with pytest.raises(ValueError, match="not valid for Telegram"):
        await telegram.open_deep_link(lan, "https://t.me/nhacviec_bot?start=abc+def=")

    assert update["message"]["text"] == "/start Abc-123_x"


async def test_privacy_mode_hides_plain_group_chatter_from_the_bot(telegram):
    lan = telegram.user(1001, "Lan")
    group = telegram.group(-5001, "Sở Du lịch")

    chatter = await telegram.send_text(lan, "chào cả nhà", chat=group)
    command = await telegram.send_text(lan, "/nhiemvu@nhacviec_bot", chat=group)

    assert chatter is None
    assert command["message"]["chat"] == {"id": -5001, "type": "group", "title": "Sở Du lịch"}


async def test_a_document_upload_is_kept_with_its_bytes(telegram, ptb_bot):
    telegram.user(1001, "Lan")

    message = await ptb_bot.send_document(
        1001, b"PK\x03\x04 report", filename="bao-cao.docx", caption="<b>Báo cáo</b>", parse_mode="HTML"
    )

    sent = telegram.sent_to(1001)[0]
    assert sent.document.content == b"PK\x03\x04 report"
    assert sent.document.filename == "bao-cao.docx"
    assert sent.text == "Báo cáo"
    assert (
        message.document.mime_type
        == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )


async def test_a_photo_that_is_not_an_image_is_refused(telegram, ptb_bot):
    telegram.user(1001, "Lan")

    with pytest.raises(BadRequest, match="Image_process_failed"):
        await ptb_bot.send_photo(1001, b"not an image", filename="chart.png")


async def test_flood_control_when_enforced_answers_429_beyond_the_limits():
    async with TelegramEmulator(flood_limits=FloodLimits(per_second=3, per_chat_per_second=1)) as strict:
        for n in (1, 2, 3, 4):
            strict.user(n, f"U{n}")
        bot = Bot(strict.token, base_url=strict.api_base_url)
        async with bot:
            await bot.send_message(1, "một")
            with pytest.raises(RetryAfter):
                await bot.send_message(1, "một nữa, ngay")
            await bot.send_message(2, "hai")
            await bot.send_message(3, "ba")
            with pytest.raises(RetryAfter):
                await bot.send_message(4, "bốn: quá 3 tin một giây")

    assert [m.chat_id for m in strict.sent] == [1, 2, 3]
