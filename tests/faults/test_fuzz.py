"""Random input of every kind through the chat core (a few hundred examples here; 100,000 in
bench/bench_fuzz.py): nothing fails inside, every reply is in its reader's language, nothing
inconsistent is stored. See tests/faults/fuzz.py for what each example does and checks."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.db import Database
from tests.conftest import sqlite_url
from tests.faults.fuzz import LoopThread, language_markers, open_world, steps, wrong_language

pytestmark = pytest.mark.slow


@pytest.fixture
def world(tmp_path, sqlite_template):
    path = tmp_path / "fuzz.db"
    shutil.copy(sqlite_template, path)
    loop = LoopThread()
    db = Database(sqlite_url(path))
    world = open_world(db, loop)
    yield world, loop
    loop.run(world.teardown())
    loop.run(db.dispose())
    loop.close()


def test_the_language_check_can_tell_the_two_languages_apart():
    assert language_markers()["vi"] and language_markers()["en"]
    english = "Unknown command /x. Send /trogiup to see the commands."
    assert wrong_language(english, "vi", typed="/x") is not None
    assert wrong_language(english, "en", typed="/x") is None


def test_random_conversations_never_break_the_core(world):
    world, loop = world

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(steps, min_size=1, max_size=8))
    def conversation(sequence):
        for step in sequence:
            problems = loop.run(world.step(step))
            assert problems == [], problems

    conversation()
    assert world.inputs >= 200
    assert set(world.kinds) >= {"text", "command", "number", "button", "foreign_button", "forged_button"}
