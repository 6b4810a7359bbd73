"""Fixtures of the command-line tests: no configuration from the environment, a database file of
the test's own, and a configuration that speaks English."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def cli_env(monkeypatch):
    for name in ("NHACVIEC_CONFIG", "NHACVIEC_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "nhacviec.db"


@pytest.fixture
def english(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[i18n]\ndefault_language = "en"\n', encoding="utf-8")
    return str(path)
