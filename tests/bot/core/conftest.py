"""Fixtures for the chat core: an App on the test database with a moved clock, the Core, a plan,
and chat drivers that talk to the core the way a transport does."""

from __future__ import annotations

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot import i18n
from bot.app import App
from bot.config import load_config
from bot.core.service import Core
from tests.bot.core.chat import ChatUser
from tests.factories import make_member, make_plan


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs():
    """The .mo files are build output (`make catalogs`); compile any that is missing or older than
    its .po, so that running pytest directly shows the reviewed translations too."""
    for po in i18n.LOCALES_DIR.glob("*/LC_MESSAGES/nhacviec.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with open(po, "rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        with open(mo, "wb") as target:
            write_mo(target, catalog, use_fuzzy=True)
    i18n.translations.cache_clear()


@pytest.fixture
def app(db, clock) -> App:
    return App(config=load_config(env={}), db=db, clock=clock)


@pytest.fixture
def core(app) -> Core:
    return Core(app)


@pytest.fixture
async def plan(db):
    async with db.transaction() as session:
        return await make_plan(session)


@pytest.fixture
async def coordinator(db, core, plan) -> ChatUser:
    """An, a coordinator at Sở TTTT with no agency of her own, chatting in English."""
    async with db.transaction() as session:
        await make_member(session, "An", role="coordinator", user_id="an", language="en")
    return ChatUser(core, "an")


@pytest.fixture
async def focal(db, core, plan) -> ChatUser:
    """Lan, focal point for Sở Du lịch (tasks II.1-II.3), chatting in English."""
    async with db.transaction() as session:
        await make_member(session, "Lan", agency=plan.agencies["Sở Du lịch"], user_id="lan", language="en")
    return ChatUser(core, "lan")
