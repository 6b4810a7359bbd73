from __future__ import annotations

import pytest

from bot.app import App
from bot.config import Config
from bot.ops import metrics


@pytest.fixture(autouse=True)
def fresh_metrics():
    """Counters and tick stamps are process-wide; every test here starts from zero."""
    metrics.REGISTRY.reset()
    metrics.forget_ticks()
    yield
    metrics.REGISTRY.reset()
    metrics.forget_ticks()


@pytest.fixture
def app(db, clock) -> App:
    return App(config=Config(), db=db, clock=clock)
