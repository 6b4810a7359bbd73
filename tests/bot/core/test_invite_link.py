"""Invite links open the bot whether the operator wrote its username as Telegram shows it
("@nhacviec_bot") or bare."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.config import ConfigError, load_config
from bot.core import registration
from bot.core.service import Core
from tests.bot.core.chat import ChatUser
from tests.factories import make_member


def config_file(tmp_path, username: str):
    path = tmp_path / "config.toml"
    path.write_text(f'[telegram]\nbot_username = "{username}"\n', encoding="utf-8")
    return path


def test_a_deep_link_leaves_out_the_at_sign_of_the_username():
    expected = "https://t.me/nhacviec_bot?start=abc123"

    assert registration.deep_link("@nhacviec_bot", "abc123") == expected
    assert registration.deep_link("nhacviec_bot", "abc123") == expected


def test_the_configured_username_is_kept_without_its_at_sign(tmp_path):
    config = load_config(config_file(tmp_path, " @nhacviec_bot "), env={})

    assert config.telegram.bot_username == "nhacviec_bot"


def test_a_username_telegram_could_not_have_is_refused_naming_the_key(tmp_path):
    with pytest.raises(ConfigError) as refused:
        load_config(config_file(tmp_path, "nhắc việc bot"), env={})

    assert "telegram.bot_username" in str(refused.value)


async def test_an_invite_made_in_chat_links_to_the_bot_when_the_username_was_written_with_an_at_sign(
    db, clock, plan, tmp_path
):
    config = load_config(config_file(tmp_path, "@hanoi_nhacviec_bot"), env={"TELEGRAM_BOT_TOKEN": "1:x"})
    app = App(config=config, db=db, clock=clock)
    async with db.transaction() as session:
        await make_member(session, "An", role="coordinator", user_id="an", language="en")
    an = ChatUser(Core(app), "an")

    await an.say("/moi")
    await an.tap("Focal point")
    text = await an.say("so ngoai vu")
    token = text.split("/start ")[1].split()[0]

    assert f"https://t.me/hanoi_nhacviec_bot?start={token}" in text
