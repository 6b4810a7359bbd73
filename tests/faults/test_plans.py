"""50 malformed plan files through `nhacviec plan import`: each is refused with a message in the
configured language, or imported whole; never a traceback, never half an import. On a SQLite file
and on PostgreSQL, whose column limits SQLite does not enforce."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from bot.cli import main as nhacviec
from tests.conftest import PG_URL, SAMPLE_PLAN, pg_skip_reason, sqlite_url
from tests.faults.harness import postgres_database
from tests.faults.plans import check_import, fingerprint, malformed_plans, run_all

pytestmark = pytest.mark.slow


class PostgresDatabase:
    """A fresh database of its own, made and dropped from sync code (the CLI runs its own loop)."""

    def __enter__(self) -> str:
        self._context = postgres_database(PG_URL)
        self._loop = asyncio.new_event_loop()
        db = self._loop.run_until_complete(self._context.__aenter__())
        return db.url

    def __exit__(self, *exc) -> None:
        self._loop.run_until_complete(self._context.__aexit__(None, None, None))
        self._loop.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path, sqlite_template, monkeypatch):
    for name in ("NHACVIEC_CONFIG", "NHACVIEC_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "sqlite":
        path = tmp_path / "plans.db"
        shutil.copy(sqlite_template, path)
        url = sqlite_url(path)
        yield from _with_sample(url)
    else:
        if reason := pg_skip_reason():
            pytest.skip(reason)
        with PostgresDatabase() as url:
            yield from _with_sample(url)


def _with_sample(url: str):
    # The good plan first, so that damaged copies of it also go down the re-import path.
    assert nhacviec(["--db", url, "plan", "import", str(SAMPLE_PLAN)]) == 0
    yield url


def test_the_generator_makes_fifty_different_files(tmp_path):
    files = malformed_plans(tmp_path, 50)
    assert len({f.read_bytes() for f in files}) == 50


def test_fifty_malformed_plans_are_refused_cleanly_or_imported_whole(tmp_path, database):
    verdicts = run_all(tmp_path, database, count=50)

    problems = {v.path.name: v.problems for v in verdicts if v.problems}
    assert problems == {}
    # Most of them must be refused; a file that only lost formatting may still be a plan.
    assert sum(not v.accepted for v in verdicts) >= 30


def test_a_refused_file_leaves_the_database_as_it_was(tmp_path, database):
    before = fingerprint(database)
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00\xff" * 100)
    assert nhacviec(["--db", database, "plan", "import", str(junk)]) == 1
    assert fingerprint(database) == before


def test_a_cell_too_long_for_its_column_is_refused_with_its_line_on_every_back_end(tmp_path, database):
    lines = SAMPLE_PLAN.read_text(encoding="utf-8").split("\n")
    row = next(i for i, line in enumerate(lines) if line.startswith("1\t"))
    cells = lines[row].split("\t")
    cells[2] = " ".join(["Quý"] * 200)  # 799 characters; the timeframe column holds 300
    lines[row] = "\t".join(cells)
    damaged = tmp_path / "long-timeframe.txt"
    damaged.write_text("\n".join(lines), encoding="utf-8")
    config = tmp_path / "vi.toml"
    config.write_text('[i18n]\ndefault_language = "vi"\n', encoding="utf-8")
    before = fingerprint(database)

    verdict = check_import(damaged, database, config, "vi")

    assert verdict.problems == []
    assert not verdict.accepted
    expected = f"dòng {row + 1}: tiến độ thời gian của nhiệm vụ I.1 dài 799 ký tự, vượt mức tối đa 300 ký tự"
    assert expected in verdict.message
    assert fingerprint(database) == before
