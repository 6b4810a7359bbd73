"""`nhacviec reminders preview|status|run-once`."""

from __future__ import annotations

import json

import pytest

from bot.app import App
from bot.cli import CommandError, build_parser, main
from bot.config import Config
from bot.i18n import use_language
from scheduler.clock import ManualClock
from storage.plans.importer import import_plan_file
from tests.conftest import SAMPLE_PLAN
from tests.recording_transport import RecordingTransport
from tests.scheduler.conftest import hanoi, make_engine

SAMPLE_LEADS = [
    "Công an tỉnh",
    "Đài Phát thanh và Truyền hình tỉnh",
    "Sở Kế hoạch và Đầu tư",
    "Sở Nội vụ",
    "Sở Thông tin và Truyền thông",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Trung tâm Công nghệ thông tin và Truyền thông",
    "UBND các huyện, thành phố",
    "UBND huyện Lam Sơn",
]


@pytest.fixture(autouse=True)
def cli_env(monkeypatch):
    for name in ("NHACVIEC_CONFIG", "NHACVIEC_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def run(capsys, db_url: str, *args: str) -> tuple[int, str, str]:
    code = main(["--db", db_url, "--lang", "en", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def sample_db(tmp_path, capsys) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nhacviec.db'}"
    code, _out, err = run(capsys, url, "plan", "import", str(SAMPLE_PLAN))
    assert code == 0, err
    return url


def test_preview_lists_the_sample_plans_reminders_by_agency_before_anyone_registered(capsys, sample_db):
    code, out, _ = run(
        capsys, sample_db, "reminders", "preview", "--from", "2021-06-01", "--to", "2021-06-09", "--json"
    )
    expected = [
        {
            "send_at": "2021-06-08T08:00:00+07:00",
            "deadline": "2021-06-15",
            "kind": "report",
            "offset_days": 7,
            "agency": agency,
            "task": None,
        }
        for agency in SAMPLE_LEADS
    ]
    assert code == 0
    assert json.loads(out) == expected


def test_preview_names_the_task_for_a_task_deadline(capsys, sample_db):
    # II.2 "Trước ngày 30/6/2021" (Sở Nội vụ): 7 days before is Wednesday 23/6.
    _, out, _ = run(
        capsys, sample_db, "reminders", "preview", "--from", "23/6/2021", "--to", "23/6/2021", "--json"
    )
    rows = [(r["kind"], r["agency"], r["task"]) for r in json.loads(out) if r["kind"] == "task"]
    assert ("task", "Sở Nội vụ", "II.2") in rows
    assert all(r["send_at"] == "2021-06-23T08:00:00+07:00" for r in json.loads(out))


def test_preview_prints_a_table_by_default(capsys, sample_db):
    _, out, _ = run(
        capsys,
        sample_db,
        "reminders",
        "preview",
        "--plan",
        "45",
        "--from",
        "2021-06-16",
        "--to",
        "2021-06-16",
    )
    lines = out.splitlines()
    assert lines[0] == "Plan 45/KH-UBND (2021): 10 reminders from 2021-06-16 to 2021-06-16"
    assert lines[1] == "2021-06-16 08:00  overdue    2021-06-15 T+1  Công an tỉnh"
    assert lines[-1] == "2021-06-16 08:00  escalation 2021-06-15 T+1  coordinators (digest)"


def test_preview_refuses_a_date_it_cannot_read(capsys, sample_db):
    code, _, err = run(capsys, sample_db, "reminders", "preview", "--from", "30/2/2021")
    assert code == 1
    assert "--from '30/2/2021' is not a day: write 20/6, 20/6/2020 or 2020-06-20" in err


def test_preview_reads_a_day_without_a_year_in_the_plans_year(capsys, sample_db):
    code, out, err = run(capsys, sample_db, "reminders", "preview", "--from", "16/6", "--to", "16-6-2021")

    assert code == 0, err
    assert out.splitlines()[0] == "Plan 45/KH-UBND (2021): 10 reminders from 2021-06-16 to 2021-06-16"


def test_preview_refuses_an_unknown_plan(capsys, sample_db):
    code, _, err = run(capsys, sample_db, "reminders", "preview", "--plan", "99/KH-UBND")
    assert code == 1
    # Whatever the language, the message names what was asked and lists the plans there are.
    assert "“99/KH-UBND”" in err
    assert "  #1 45/KH-UBND (2021) · " in err


def test_preview_of_the_reference_plan_lands_every_reminder_on_a_working_day(
    capsys, tmp_path, reference_plan
):
    url = f"sqlite+aiosqlite:///{tmp_path / 'ref.db'}"
    assert run(capsys, url, "plan", "import", str(reference_plan))[0] == 0
    _, out, _ = run(
        capsys, url, "reminders", "preview", "--from", "2020-06-01", "--to", "2020-06-20", "--json"
    )
    rows = json.loads(out)
    days = sorted({(r["send_at"], r["offset_days"]) for r in rows})
    # 20/6/2020 is a Saturday: 7 days before is Saturday 13/6, moved to Friday 12/6.
    expected = [
        ("2020-06-12T08:00:00+07:00", 7),
        ("2020-06-17T08:00:00+07:00", 3),
        ("2020-06-19T08:00:00+07:00", 1),
    ]
    assert days == expected
    assert len({r["agency"] for r in rows}) == 16  # every agency leading a task


async def _cli(app: App, *args: str) -> int:
    parsed = build_parser().parse_args(list(args))
    with use_language("en"):  # as `nhacviec --lang en` runs it
        return await parsed.handler(app, parsed)


async def test_run_once_plans_and_status_counts_per_deadline(db, capsys):
    from tests.scheduler.conftest import build_world

    await build_world(db)
    clock = ManualClock(hanoi(2020, 6, 12, 9))
    app = App(config=Config(), db=db, clock=clock)
    transport = RecordingTransport(clock)
    await _cli(app, "reminders", "run-once")
    await make_engine(db, clock, [transport]).send()
    await _cli(app, "reminders", "status")
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0]
        # The 30/6 quarter end lies within ten days of the 20/6 deadline: that deadline's reminders cover it.
        == "planned 16 reminders (escalation 1, overdue 6, report 9); the running bot sends them when due"
    )
    assert out[1] == "Plan 87/KH-UBND"
    assert out[3].split() == ["2020-06-20", "report", "13", "3", "0", "0", "0", "0", "0"]


async def test_status_as_json(db, capsys):
    from tests.scheduler.conftest import build_world

    await build_world(db)
    app = App(config=Config(), db=db, clock=ManualClock(hanoi(2020, 6, 1)))
    await _cli(app, "reminders", "run-once")
    capsys.readouterr()
    await _cli(app, "reminders", "status", "--json")
    expected = [
        {
            "deadline": "2020-06-20",
            "kind": "report",
            "pending": 9,
            "sent": 0,
            "failed": 0,
            "unreachable": 0,
            "cancelled": 0,
            "superseded": 0,
            "expired": 0,
        }
    ]
    assert json.loads(capsys.readouterr().out) == expected


async def test_status_without_a_plan_says_how_to_load_one(db):
    app = App(config=Config(), db=db, clock=ManualClock(hanoi(2020, 6, 1)))
    with pytest.raises(CommandError, match="nhacviec plan import FILE"):
        await _cli(app, "reminders", "status")


async def test_the_importer_and_the_planner_agree_on_the_sample_plan(db):
    async with db.transaction() as session:
        await import_plan_file(session, SAMPLE_PLAN)
    app = App(config=Config(), db=db, clock=ManualClock(hanoi(2021, 6, 1)))
    # No member has registered: nothing to write to the outbox, and nothing breaks.
    assert await _cli(app, "reminders", "run-once") == 0
