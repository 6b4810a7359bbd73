"""The settings file: every section of the example loads, and a wrong setting is refused with the key
that is wrong, as the file spells it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.app import open_app
from bot.config import Config, ConfigError, Secret, config_from, load_config

REPO = Path(__file__).resolve().parents[2]


def _refusal(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path, env={})
    message = str(refused.value)
    assert message.startswith(f"{path}: invalid configuration\n")
    return message.split("\n", 1)[1].strip()


def test_the_example_configuration_loads_as_written():
    config = load_config(REPO / "config.example.toml", env={})

    assert config.calendar.timezone == "Asia/Ho_Chi_Minh"
    assert config.reminders.report.send_time == dt.time(8, 0)
    assert set(config.reminders.rates) >= {"telegram", "zalo", "zalo_oa"}


def test_no_file_gives_the_defaults_of_the_console_quick_start():
    config = load_config(None, env={})

    assert config.database.url.startswith("sqlite+aiosqlite:///")
    assert config.i18n.default_language == "vi"
    assert config.reminders.rates["telegram"].per_second == 29
    assert config.telegram.bot_username == "nhacviec_bot"


def test_typed_values_of_the_file_arrive_typed(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        """
[calendar]
extra_days_off = [2026-12-31]
[reminders.task]
send_time = 07:30:00
[report]
template = "letterhead.docx"
cutoff_day = 15
plan_cutoff_days = { "87/KH-UBND" = "deadline", "12/KH-UBND" = 20 }
[evidence]
dir = "/srv/evidence"
max_file_mb = 5
""",
        encoding="utf-8",
    )

    config = load_config(path, env={})

    assert config.calendar.extra_days_off == [dt.date(2026, 12, 31)]
    assert config.reminders.task.send_time == dt.time(7, 30)
    assert config.report.template == Path("letterhead.docx")
    assert (config.report.cutoff_day, config.report.plan_cutoff_days) == (
        15,
        {"87/KH-UBND": "deadline", "12/KH-UBND": 20},
    )
    assert config.evidence.dir == Path("/srv/evidence")
    # An integer where a number of megabytes may have a fraction.
    assert config.evidence.max_file_mb == 5.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[telgram]\nmode = 'polling'\n", "telgram: unknown setting (misspelt?)"),
        ("[report]\nsigner = 'x'\n", "report.signer: unknown setting (misspelt?)"),
        ("[reminders.rates.zalo]\nbrust = 2\n", "reminders.rates.zalo.brust: unknown setting (misspelt?)"),
        ("[chat]\ninvite_days = 0\n", "chat.invite_days: Expected int >= 1"),
        ("[database]\npool_size = 0\n", "database.pool_size: Expected int >= 1"),
        (
            "[database]\nping_after_idle_seconds = -1\n",
            "database.ping_after_idle_seconds: Expected float >= 0",
        ),
        ("[telegram]\npoll_timeout = 'long'\n", "telegram.poll_timeout: Expected int, got str"),
        ("[telegram]\nmode = 'push'\n", "telegram.mode: Invalid enum value 'push'"),
        (
            "[reminders.report]\nbefore_days = [7, 'three']\n",
            "reminders.report.before_days[1]: Expected int, got str",
        ),
        # Which platform's budget is wrong, though the checker only says "a value of this table".
        (
            "[reminders.rates.telegram]\nburst = 2\n[reminders.rates.zalo]\nburst = 0\n",
            "reminders.rates.zalo.burst: Expected float >= 1.0",
        ),
        (
            "[report]\nplan_cutoff_days = { '87/KH-UBND' = 15, '12/KH-UBND' = 40 }\n",
            "report.plan_cutoff_days.12/KH-UBND: Expected int <= 31",
        ),
        (
            "[calendar]\ntimezone = 'Asia/Hanoi_City'\n",
            "calendar.timezone: unknown time zone 'Asia/Hanoi_City'",
        ),
        (
            "[plan]\nextra_reporting_deadlines = ['06-20', '20/11']\n",
            "plan.extra_reporting_deadlines: '20/11' is not a MM-DD date",
        ),
        (
            "[reminders.quarter]\noverdue_working_days = [0]\n",
            "reminders.quarter.overdue_working_days: working days after a deadline start at 1",
        ),
        ("[evidence]\ndir = 7\n", "evidence.dir: expected a path (a string)"),
        (
            "[web]\npublic_url = 'nhacviec.example.gov.vn'\n",
            "web.public_url: 'nhacviec.example.gov.vn' is not an http(s) URL",
        ),
        (
            "[telegram]\nmode = 'webhook'\nwebhook_port = 8443\n[web]\nport = 8443\n",
            "web.port: 8443 is also telegram.webhook_port; give the dashboard another port",
        ),
        (
            "[zalo]\nzns_params = { ten = 'member', han = 'due' }\n",
            "zalo.zns_params: unknown reminder field(s) due; use",
        ),
        ("reminders = 5\n", "reminders: Expected object, got int"),
        (
            "[reminders.report]\nsend_time = '25:00'\n",
            "reminders.report.send_time: '25:00' is not a time of day (HH:MM)",
        ),
    ],
)
def test_a_wrong_setting_is_refused_naming_its_key(tmp_path, text, expected):
    assert _refusal(tmp_path, text).startswith(expected)


def test_secrets_in_the_file_are_refused(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[secrets]\ntelegram_bot_token = '1:abc'\n", encoding="utf-8")

    with pytest.raises(ConfigError, match="secrets: put secrets in environment variables"):
        load_config(path, env={})


def test_a_file_that_is_not_toml_or_not_there_is_named(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[telegram\n", encoding="utf-8")

    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken, env={})
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "missing.toml", env={})


def test_secrets_come_from_the_environment_and_never_show_themselves():
    config = load_config(
        None,
        env={
            "TELEGRAM_BOT_TOKEN": "123:secret-token",
            "NHACVIEC_METRICS_TOKEN": "metrics-secret",
            "ZALO_OA_APP_ID": "4242",
            "NHACVIEC_DATABASE_URL": "sqlite+aiosqlite:///other.db",
        },
    )

    assert config.secrets.telegram_bot_token == Secret("123:secret-token")
    assert config.secrets.telegram_bot_token.get_secret_value() == "123:secret-token"
    assert config.secrets.metrics_token.get_secret_value() == "metrics-secret"
    assert config.secrets.zalo_oa_app_id == "4242"
    assert config.secrets.zalo_bot_token is None
    assert "secret-token" not in repr(config.secrets) and "metrics-secret" not in repr(config.secrets)
    assert "123:" not in repr(config) and "123:" not in str(config.secrets.telegram_bot_token)
    assert config.database.url == "sqlite+aiosqlite:///other.db"


def test_one_platforms_budget_set_keeps_the_others_defaults():
    config = config_from({"reminders": {"rates": {"zalo": {"per_second": 3}}}})

    assert config.reminders.rates["zalo"].per_second == 3
    assert config.reminders.rates["telegram"].per_second == 29
    assert config.reminders.rates["zalo_oa"].per_second == 10


def test_values_are_tidied_as_they_are_checked():
    assert config_from({"telegram": {"bot_username": " @hanoi_bot "}}).telegram.bot_username == "hanoi_bot"
    assert (
        config_from({"web": {"public_url": "https://nv.example.vn/"}}).web.public_url
        == "https://nv.example.vn"
    )
    with pytest.raises(ConfigError, match="organisation.name: must not be empty"):
        config_from({"organisation": {"name": "  "}})


def test_sections_built_in_code_are_tidied_too():
    # Tests and tools build settings in code; the same checks run (msgspec calls __post_init__).
    assert Config().reminders.rates["telegram"].per_second == 29


def test_every_wrong_setting_of_a_file_is_listed_at_once(tmp_path):
    listed = _refusal(
        tmp_path,
        """
[telgram]
mode = "webhook"
[chat]
invite_days = 0
[reminders.rates.zalo]
burst = 0
brust = 2
[calendar]
timezone = "Asia/Hanoi_City"
""",
    )

    assert sorted(line.strip() for line in listed.splitlines()) == [
        "calendar.timezone: unknown time zone 'Asia/Hanoi_City'",
        "chat.invite_days: Expected int >= 1",
        "reminders.rates.zalo.brust: unknown setting (misspelt?)",
        "reminders.rates.zalo.burst: Expected float >= 1.0",
        "telgram: unknown setting (misspelt?)",
    ]


def test_a_clash_of_defaults_is_named_once(tmp_path):
    # The webhook's port and the dashboard's are both 8080 unless set: the one line says which.
    listed = _refusal(tmp_path, "[telegram]\nmode = 'webhook'\n")

    assert listed.splitlines() == [
        "web.port: 8080 is also telegram.webhook_port; give the dashboard another port"
    ]


@pytest.mark.postgres
async def test_the_postgresql_pool_is_the_one_the_database_section_sets(tmp_path):
    from tests.conftest import PG_URL, pg_skip_reason

    if reason := pg_skip_reason():
        pytest.skip(reason)
    path = tmp_path / "config.toml"
    path.write_text(
        f"[database]\nurl = '{PG_URL}'\npool_size = 7\nmax_overflow = 3\nping_after_idle_seconds = 0\n",
        encoding="utf-8",
    )
    app = await open_app(load_config(path, env={}), migrate=False, check_schema=False)
    try:
        pool = app.db.engine.sync_engine.pool
        assert (pool.size(), pool._max_overflow) == (7, 3)
    finally:
        await app.db.dispose()
