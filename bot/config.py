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
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from storage.db import DEFAULT_URL
from storage.plans.limits import DEFAULT_LIMITS, IMPORT_CHUNK_TASKS, ImportLimits


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
    # What a plan file may ask of the machine; a file past any bound is refused before it is
    # expanded, and the database is left as it was (storage/plans/limits.py).
    max_megabytes: int = Field(default=DEFAULT_LIMITS.max_megabytes, ge=1)
    max_table_rows: int = Field(default=DEFAULT_LIMITS.max_table_rows, ge=10)
    max_pdf_pages: int = Field(default=DEFAULT_LIMITS.max_pdf_pages, ge=1)
    pdf_memory_megabytes: int = Field(default=DEFAULT_LIMITS.pdf_memory_megabytes, ge=128)
    pdf_seconds: int = Field(default=DEFAULT_LIMITS.pdf_seconds, ge=5)
    # Tasks an import writes per transaction, out of sight until the plan is swapped in whole: a chat
    # write waits for one such chunk at most, never for the whole import.
    import_chunk_tasks: int = Field(default=IMPORT_CHUNK_TASKS, ge=1, le=100_000)

    @property
    def limits(self) -> ImportLimits:
        return ImportLimits(
            max_megabytes=self.max_megabytes,
            max_table_rows=self.max_table_rows,
            max_pdf_pages=self.max_pdf_pages,
            pdf_memory_megabytes=self.pdf_memory_megabytes,
            pdf_seconds=self.pdf_seconds,
        )

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
    # A quarter end within this many days of a reporting deadline gets no check-in of its own: the
    # deadline's reminders cover it. 0 keeps every quarter check-in.
    merge_window_days: int = Field(default=14, ge=0, le=92)
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
    # How often the chats' command menus are compared with who holds which role, in seconds: how
    # soon a role changed on the command line (another process) reaches the menus. 0: never.
    menu_check_seconds: float = Field(default=60, ge=0)
    # No longer used: every message (replies and reminders) draws on [reminders.rates.telegram], the
    # budget shared by every instance. Still accepted so that older settings files keep working.
    rate_limit_per_second: float | None = Field(default=None, gt=0)
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


# What a ZNS template parameter can be filled with (`[zalo] zns_params`).
ZNS_FIELDS = ("member", "agency", "plan", "deadline", "tasks", "reference")


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
    # Consultation messages (to a follower 48 hours to 7 days after their last message, or past the 8
    # free replies to it) the OA's package allows per month; reminders stop using them at this count.
    # 0: none (reminders then go by the member's other channel, ZNS, or the coordinators' digest).
    oa_monthly_consultation_quota: int = Field(default=0, ge=0)
    # Zalo Notification Service: the approved template reminders use when nothing else reaches a
    # member with a phone number on file; unset: no ZNS.
    zns_template_id: str | None = None
    zns_api_url: str = "https://business.openapi.zalo.me/message/template"
    # The template's parameters, each filled from a field of the reminder: member, agency, plan,
    # deadline, tasks (how many of the agency's tasks lack an update), reference.
    zns_params: dict[str, str] = Field(
        default_factory=lambda: {"ten": "member", "co_quan": "agency", "ke_hoach": "plan", "han": "deadline"}
    )
    # How often the OA's token pair is looked at: renewed once a day whatever the traffic, admins
    # warned when its refresh token is about to lapse.
    oa_token_check_minutes: float = Field(default=60, gt=0)
    # An OA webhook event whose timestamp is further than this from now (either way) is refused:
    # a replay of a captured event is stale by the time it comes back.
    oa_event_max_age_seconds: float = Field(default=600, gt=0)

    @field_validator("zns_params")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted({field for field in value.values() if field not in ZNS_FIELDS})
        if unknown:
            raise ValueError(f"unknown reminder field(s) {', '.join(unknown)}; use {', '.join(ZNS_FIELDS)}")
        return value


class RepliesConfig(Section):
    """How a chat reply outlives a platform's passing trouble (429, 5xx, timeouts)."""

    # Waits between attempts while the person is waiting for the answer; past them the reply is parked
    # in the database and sent when the platform recovers.
    retry_delays_seconds: list[float] = Field(default_factory=lambda: [1.0, 3.0, 8.0])
    # A rate limit asking for a longer wait than this parks the reply at once instead of holding the chat.
    max_inline_wait_seconds: float = Field(default=15.0, ge=0)
    # Parked replies are tried again after these waits, the last one repeating.
    parked_backoff_seconds: list[float] = Field(default_factory=lambda: [30.0, 60.0, 300.0, 900.0])
    flush_every_seconds: float = Field(default=10.0, gt=0)
    # A reply still not delivered after this long is given up, and the person is told.
    give_up_hours: float = Field(default=24.0, gt=0)

    @field_validator("retry_delays_seconds", "parked_backoff_seconds")
    @classmethod
    def _non_negative(cls, value: list[float]) -> list[float]:
        if any(delay < 0 for delay in value):
            raise ValueError("waits cannot be negative")
        return value

    @field_validator("parked_backoff_seconds")
    @classmethod
    def _not_empty(cls, value: list[float]) -> list[float]:
        if not value:
            raise ValueError("give at least one wait")
        return value


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
    # Every HTTP server of the process (webhooks, file links, /healthz): a client gets this long to
    # send its request headers, then its body, and this many connections may be open at once.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    max_connections: int = Field(default=512, ge=1)


_ENV_NAMES = {"metrics_token": "NHACVIEC_METRICS_TOKEN", "secret_key": "NHACVIEC_SECRET_KEY"}


class WebConfig(Section):
    """The coordinators' dashboard, served by the bot process (and by `nhacviec web` alone)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    # 0 picks a free port (tests).
    port: int = Field(default=8080, ge=0, le=65535)
    # The address people open, as the reverse proxy publishes it ("https://nhacviec.example.gov.vn").
    # Unset: the listener's own address. An https URL makes the session cookie Secure.
    public_url: str | None = None
    # A sign-in link from /web works once, within this many minutes.
    link_minutes: int = Field(default=10, ge=1, le=60)
    session_hours: int = Field(default=8, ge=1, le=72)
    # Agencies per page on a plan's overview (a province's plan names thousands).
    agencies_per_page: int = Field(default=100, ge=10, le=1000)

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")


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
    # Bearer token that /metrics asks for (NHACVIEC_METRICS_TOKEN); see docs/operations.md.
    metrics_token: SecretStr | None = None
    # Key(s) that encrypt stored secrets such as the OA tokens (NHACVIEC_SECRET_KEY): Fernet keys,
    # comma-separated, the first encrypting and all decrypting, so that a key can be rotated.
    secret_key: SecretStr | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Secrets:
        env = os.environ if env is None else env
        values = {name: env.get(_ENV_NAMES.get(name, name.upper())) or None for name in cls.model_fields}
        return cls(**values)


class ReportConfig(Section):
    """The letterhead of the draft report (DOCX); what is left unset is printed as a blank "…"."""

    parent_body: str | None = None
    issuing_body: str | None = None
    symbol: str | None = None
    place: str | None = None
    signer_title: str | None = None
    signer_name: str | None = None
    # Who the report is addressed to ("Kính gửi: …"); unset: the plan's issuing body when known.
    recipient: str | None = None
    # Extra lines under "Nơi nhận:" after "- Như trên;" (e.g. "- Lưu: VT, KHTC.").
    recipients: list[str] = Field(default_factory=lambda: ["Lưu: VT."])
    # A co-led task is done when every lead reported it done ("all") or when any did ("any").
    co_lead_done: Literal["all", "any"] = "all"
    # The day the figures are counted to ("Số liệu tính đến ngày …"): the cycle's deadline
    # ("deadline"), or that day of the deadline's month (e.g. 15, as Nghị định 09/2019 asks of
    # periodic reports); the report's own date is always the day it is made.
    cutoff_day: Literal["deadline"] | Annotated[int, Field(ge=1, le=31)] = "deadline"
    # The same, for one plan: keyed by its number ("87/KH-UBND") or number and year ("87/KH-UBND-2026").
    plan_cutoff_days: dict[str, Literal["deadline"] | Annotated[int, Field(ge=1, le=31)]] = Field(
        default_factory=dict
    )
    # A Word template for the letterhead and opening (docxtpl); unset: the one shipped in the package.
    template: Path | None = None


class EvidenceConfig(Section):
    """Files sent as evidence, kept by content (sha-256) in a folder of their own."""

    # Where the files are kept; unset: "<database name>-evidence" beside an SQLite database. With
    # PostgreSQL it must be set (several instances must share it), or files are not fetched.
    dir: Path | None = None
    # A larger file is not kept (the update is, with a note that its file was too large).
    max_file_mb: float = Field(default=20, gt=0)
    # What one agency's files may take in all; 0: no limit.
    max_agency_mb: float = Field(default=500, ge=0)
    # Waits between attempts at a download that failed (the last one repeats), and how many in all.
    retry_minutes: list[float] = Field(default_factory=lambda: [1, 5, 30, 120, 720])
    max_attempts: int = Field(default=10, ge=1)
    # Seconds one download may take.
    timeout_seconds: float = Field(default=60, gt=0)

    @field_validator("retry_minutes")
    @classmethod
    def _some_waits(cls, values: list[float]) -> list[float]:
        if not values or any(value < 0 for value in values):
            raise ValueError("give at least one wait, none negative")
        return values


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
    replies: RepliesConfig = Field(default_factory=RepliesConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    ops: OpsConfig = Field(default_factory=OpsConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig)
    secrets: Secrets = Field(default_factory=Secrets, exclude=True)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return self.calendar.tz

    @model_validator(mode="after")
    def _web_port_free(self) -> Config:
        # The dashboard has a server of its own; it cannot listen where a webhook already does.
        taken = {}
        if self.telegram.mode == "webhook":
            taken[(self.telegram.webhook_listen, self.telegram.webhook_port)] = "telegram.webhook_port"
        if self.zalo.mode == "webhook":
            taken.setdefault((self.zalo.webhook_listen, self.zalo.webhook_port), "zalo.webhook_port")
        clash = taken.get((self.web.host, self.web.port)) if self.web.enabled and self.web.port else None
        if clash:
            raise ValueError(f"web.port: {self.web.port} is also {clash}; give the dashboard another port")
        return self


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
