"""[organisation]: the coordinating department every user text names comes from the configuration."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.config import ConfigError, load_config
from bot.core.service import Core
from bot.render.exports import letterhead_from_config
from tests.bot.core.chat import ChatUser


@pytest.fixture
def lam_giang(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[organisation]\nname = "Sở Khoa học và Công nghệ tỉnh Lam Giang"\nshort_name = "Sở KH&CN Lam Giang"\n'
        'city = "Lam Giang"\n',
        encoding="utf-8",
    )
    return load_config(path, env={})


async def test_a_stranger_is_told_to_ask_the_configured_department(db, clock, plan, lam_giang):
    core = Core(App(config=lam_giang, db=db, clock=clock))

    reply = await ChatUser(core, "stranger", language_hint="en").say("hello")

    assert "a coordinator at Sở KH&CN Lam Giang will approve it." in reply
    assert "TTTT" not in reply


async def test_by_default_the_department_is_sở_kh_cn(db, core, plan):
    reply = await ChatUser(core, "stranger").say("xin chào")

    assert "điều phối viên ở Sở KH&CN sẽ duyệt." in reply


def test_the_report_letterhead_names_the_configured_department_unless_told_otherwise(lam_giang):
    letterhead = letterhead_from_config(lam_giang)

    assert (letterhead.issuing_body, letterhead.place) == (
        "Sở Khoa học và Công nghệ tỉnh Lam Giang",
        "Lam Giang",
    )


def test_a_blank_department_name_is_refused_with_the_key(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[organisation]\nshort_name = "  "\n', encoding="utf-8")

    with pytest.raises(ConfigError) as refused:
        load_config(path, env={})

    assert "organisation.short_name: must not be empty" in str(refused.value)
