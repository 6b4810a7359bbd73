"""Settings: a TOML file validated section by section, secrets from the environment.

The file comes from `--config` or `NHACVIEC_CONFIG`; with neither, the defaults below apply, which
run the console chat on an embedded SQLite database. Errors name the key that is wrong.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
import zoneinfo
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from storage.db import DEFAULT_URL


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class Section(BaseModel):
    # A misspelt key is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid")


class DatabaseConfig(Section):
    url: str = DEFAULT_URL


class CalendarConfig(Section):
    timezone: str = "Asia/Ho_Chi_Minh"
    # Days off decreed on top of the public holidays (bridge days), and Saturdays worked to make up.
    extra_days_off: list[dt.date] = Field(default_factory=list)
    extra_working_days: list[dt.date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class PlanConfig(Section):
    # A plan file to import when the database has none (the console quick start uses it).
    default_file: str | None = None
    # Reporting deadlines added on top of those the plan names, as "MM-DD" in each year of the plan.
    extra_reporting_deadlines: list[str] = Field(default_factory=list)
    # The issuing body of a plan whose file names none ("UBND thành phố Hà Nội").
    issuer: str = ""
    # A plan ends on its own this many days after its last deadline (reporting deadline or task end).
    grace_days: int = Field(default=30, ge=0, le=3650)

    @field_validator("extra_reporting_deadlines")
    @classmethod
    def _month_day(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                dt.datetime.strptime(f"2000-{value}", "%Y-%m-%d")
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a MM-DD date") from exc
        return values


class ReminderKindConfig(Section):
    """When reminders go out for one kind of deadline (report, quarter or task)."""

    # Calendar days before the deadline; one on a non-working day moves to the working day before.
    before_days: list[int] = Field(default_factory=lambda: [7, 3, 1])
    # Local time of day (in [calendar] timezone) the reminders of a day go out.
    send_time: dt.time = dt.time(8, 0)
    # Working days after a missed deadline: overdue reminders to the agency's focal points…
    overdue_working_days: list[int] = Field(default_factory=lambda: [1, 3])
    # …and the digest to coordinators listing who has not reported (and who cannot be reached).
    escalation_working_days: list[int] = Field(default_factory=lambda: [1])

    @field_validator("before_days")
    @classmethod
    def _not_negative(cls, values: list[int]) -> list[int]:
        if any(value < 0 for value in values):
            raise ValueError("days before a deadline cannot be negative")
        return values

    @field_validator("overdue_working_days", "escalation_working_days")
    @classmethod
    def _at_least_one(cls, values: list[int]) -> list[int]:
        if any(value < 1 for value in values):
            raise ValueError("working days after a deadline start at 1")
        return values


class RateConfig(Section):
    """A platform's sending budget, shared by every instance on the database. 0 means no limit."""

    per_second: float = Field(default=0, ge=0)
    per_chat_per_second: float = Field(default=0, ge=0)
    # Messages that may go out back to back before the rate applies.
    burst: float = Field(default=1, ge=1)


def _default_rates() -> dict[str, RateConfig]:
    # Telegram allows about 30 messages a second overall and one a second per chat; staying a little
    # under keeps clear of 429s. Zalo does not publish its limits; these are cautious.
    return {
        "telegram": RateConfig(per_second=29, per_chat_per_second=1),
        "zalo": RateConfig(per_second=10, per_chat_per_second=1),
        "zalo_oa": RateConfig(per_second=10, per_chat_per_second=1),
    }


class RemindersConfig(Section):
    enabled: bool = True
    report: ReminderKindConfig = Field(default_factory=ReminderKindConfig)
    quarter: ReminderKindConfig = Field(default_factory=lambda: ReminderKindConfig(overdue_working_days=[1]))
    task: ReminderKindConfig = Field(default_factory=lambda: ReminderKindConfig(overdue_working_days=[1]))
    # How far ahead the planner writes reminders into the outbox.
    horizon_days: int = Field(default=21, ge=1, le=366)
    # A reminder due after its deadline (overdue, digest) is dropped when it is this late (downtime).
    late_grace_hours: float = Field(default=120, gt=0)
    plan_every_seconds: float = Field(default=300, gt=0)
    send_every_seconds: float = Field(default=15, gt=0)
    # A claimed reminder not acknowledged within the lease is claimed again (by any instance).
    lease_seconds: float = Field(default=300, ge=10)
    batch_size: int = Field(default=200, ge=1)
    # Sends in flight at once per instance (the rate budget still applies).
    max_in_flight: int = Field(default=1, ge=1)
    # Temporary errors are retried after these waits (the last repeats) until max_attempts.
    retry_backoff_seconds: list[float] = Field(default_factory=lambda: [60, 300, 900, 3600])
    max_attempts: int = Field(default=6, ge=1)
    rates: dict[str, RateConfig] = Field(default_factory=_default_rates)

    @field_validator("retry_backoff_seconds")
    @classmethod
    def _some_backoff(cls, values: list[float]) -> list[float]:
        if not values or any(value <= 0 for value in values):
            raise ValueError("give at least one positive wait")
        return values

    @field_validator("rates")
    @classmethod
    def _keep_default_rates(cls, values: dict[str, RateConfig]) -> dict[str, RateConfig]:
        # Setting one platform's budget must not silently lift the others'.
        return _default_rates() | values


class I18nConfig(Section):
    default_language: Literal["vi", "en"] = "vi"


class TelegramConfig(Section):
    bot_username: str = "nhacviec_bot"
    api_base_url: str = "https://api.telegram.org/bot"
    api_file_url: str = "https://api.telegram.org/file/bot"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    # 0 picks a free port (tests); webhook_url then defaults to this listener's own address.
    webhook_port: int = Field(default=8080, ge=0, le=65535)
    webhook_path: str = "/telegram"
    # Seconds each Bot API call may take; a send that times out after leaving is "outcome unknown".
    request_timeout: float = Field(default=10.0, gt=0)
    # How long one getUpdates call waits for news (long polling), in seconds.
    poll_timeout: int = Field(default=30, ge=0, le=50)
    # Messages per second over all chats (Telegram allows about 30 unless broadcasts are paid).
    rate_limit_per_second: float = Field(default=30.0, gt=0)
    # Updates handled at the same time; those of one chat are always handled in order.
    concurrent_updates: int = Field(default=16, ge=1, le=256)

    @field_validator("bot_username")
    @classmethod
    def _bare_username(cls, value: str) -> str:
        # Telegram shows the name as "@nhacviec_bot"; links and mentions need it without the "@".
        bare = value.strip().lstrip("@")
        if not bare or not bare.replace("_", "").isascii() or not bare.replace("_", "").isalnum():
            raise ValueError(f"{value!r} is not a Telegram bot username (letters, digits and _)")
        return bare


class ChatConfig(Section):
    # A guided flow (/capnhat, /dangky, /moi) left unanswered this long is dropped, with a message.
    flow_timeout_minutes: int = Field(default=30, ge=1)
    # How long an invite made in chat (/moi) or by `nhacviec invite create` stays valid by default.
    invite_days: int = Field(default=7, ge=1)
    # Wrong invite or link codes (/start, /lienket) one person, or one chat, may send in the window;
    # then every code is refused until the oldest wrong one is older than the window.
    code_guesses: int = Field(default=5, ge=1)
    code_guess_window_minutes: int = Field(default=10, ge=1)
    # /dangky requests for one agency waiting for a coordinator at once (one per person always).
    pending_requests_per_agency: int = Field(default=3, ge=1)


class ZaloConfig(Section):
    """Zalo Bot Platform (`nhacviec run --transport zalo`) and Official Account (`zalo_oa`)."""

    # Bot API base URL; the token is appended to it (change it for an emulator or a proxy).
    api_base_url: str = "https://bot-api.zaloplatforms.com/bot"
    mode: Literal["polling", "webhook"] = "polling"
    # Seconds one getUpdates call waits for news (long polling).
    poll_timeout: int = Field(default=30, ge=0, le=60)
    # Seconds each API call may take; a send that times out after leaving is "outcome unknown".
    request_timeout: float = Field(default=10.0, gt=0)
    # Updates handled at the same time; those of one chat are always handled in order.
    concurrent_updates: int = Field(default=16, ge=1, le=256)
    # Public HTTPS URL registered with setWebhook (webhook mode).
    webhook_url: str | None = None
    # Where this process listens: the Bot Platform webhook, the OA webhook, file links, health
    # (0 picks a free port, for tests).
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8081, ge=0, le=65535)
    webhook_path: str = "/zalo"
    oa_webhook_path: str = "/zalo-oa"
    # Public URL under which this process's file links are reachable (it serves them at
    # <public_base_url>/zalo-files/<token>). Unset: files are summarised in text instead.
    public_base_url: str | None = None
    file_link_hours: int = Field(default=24, ge=1)
    oa_api_base_url: str = "https://openapi.zalo.me"
    oa_oauth_url: str = "https://oauth.zaloapp.com/v4/oa/access_token"
    # The OA may answer a follower for free this long after their last message (Zalo refuses any
    # consultation message after 7 days; between 48 hours and 7 days it is billed).
    oa_reply_window_hours: float = Field(default=48, gt=0, le=168)


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = False


class OpsConfig(Section):
    # /healthz and /metrics. In polling mode a small server of their own listens here; in webhook
    # mode the routes join the webhook server and the three http_* keys are not used.
    http_enabled: bool = True
    http_listen: str = "127.0.0.1"
    http_port: int = Field(default=9090, ge=0, le=65535)
    # /healthz fails when an engine tick has not finished for this long (seconds), per tick.
    max_tick_age_seconds: dict[str, float] = Field(default_factory=lambda: {"sender": 300.0})
    # On SIGTERM/SIGINT: how long in-flight sends may take to finish before their leases are left
    # to expire; a second signal exits at once.
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)


class Secrets(BaseModel):
    """Read from the environment only, never from the file, never printed."""

    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    zalo_bot_token: SecretStr | None = None
    zalo_webhook_secret: SecretStr | None = None
    zalo_oa_app_secret: SecretStr | None = None
    # The OA secret key that signs webhook calls (not the app secret, which refreshes tokens).
    zalo_oa_secret_key: SecretStr | None = None
    zalo_oa_access_token: SecretStr | None = None
    zalo_oa_refresh_token: SecretStr | None = None
    zalo_oa_app_id: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Secrets:
        env = os.environ if env is None else env
        values = {name: env.get(name.upper()) or None for name in cls.model_fields}
        return cls(**values)


class ReportConfig(Section):
    """The letterhead of the draft report (DOCX); what is left unset is printed as a blank "…"."""

    parent_body: str | None = None
    issuing_body: str | None = None
    symbol: str | None = None
    place: str | None = None
    signer_title: str | None = None
    signer_name: str | None = None


class OrganisationConfig(Section):
    """Who runs this deployment: the coordinating department every message and report names."""

    name: str = "Sở Khoa học và Công nghệ"
    short_name: str = "Sở KH&CN"
    # The city or province ("Hà Nội", "tỉnh Lam Giang"); letterheads and texts add it where they need it.
    city: str | None = None

    @field_validator("name", "short_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()


class Config(Section):
    organisation: OrganisationConfig = Field(default_factory=OrganisationConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    plan: PlanConfig = Field(default_factory=PlanConfig)
    reminders: RemindersConfig = Field(default_factory=RemindersConfig)
    i18n: I18nConfig = Field(default_factory=I18nConfig)
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    zalo: ZaloConfig = Field(default_factory=ZaloConfig)
    chat: ChatConfig = Field(default_factory=ChatConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    ops: OpsConfig = Field(default_factory=OpsConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    secrets: Secrets = Field(default_factory=Secrets, exclude=True)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return self.calendar.tz


def _describe(error: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown setting (misspelt?)"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def load_config(path: str | os.PathLike | None = None, env: dict[str, str] | None = None) -> Config:
    """Load and validate; raise ConfigError with a message naming each bad key."""
    env = os.environ if env is None else env
    path = path or env.get("NHACVIEC_CONFIG")
    data: dict = {}
    source = "defaults"
    if path:
        source = str(path)
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{source}: configuration file not found") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    if "secrets" in data:
        raise ConfigError(f"{source}: secrets: put secrets in environment variables, not in the file")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from exc
    config.secrets = Secrets.from_env(env)
    if env.get("NHACVIEC_DATABASE_URL"):
        config.database.url = env["NHACVIEC_DATABASE_URL"]
    return config
