"""Settings: a TOML file validated section by section, secrets from the environment.

The file comes from `--config` or `NHACVIEC_CONFIG`; with neither, the defaults below apply, which
run the console chat on an embedded SQLite database. Errors name the key that is wrong.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, field

from storage.db import DEFAULT_URL, PG_MAX_OVERFLOW, PG_PING_AFTER_IDLE_SECONDS, PG_POOL_SIZE
from storage.plans.limits import DEFAULT_LIMITS, IMPORT_CHUNK_TASKS, ImportLimits


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class Section(msgspec.Struct, forbid_unknown_fields=True):
    """A section of the file. A misspelt key is an error, not a silently ignored setting. Types and
    bounds are checked when the file is read (`load_config`); `__post_init__` checks the rest."""


class TimeOfDay(dt.time):
    """A local time of day in the settings (a `datetime.time`)."""


class Secret:
    """A secret string that does not show itself in a repr, a log line or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class DatabaseConfig(Section):
    url: str = DEFAULT_URL
    # PostgreSQL only (storage.db): connections kept open, and the most opened on top for a burst.
    pool_size: Annotated[int, Meta(ge=1, le=1000)] = PG_POOL_SIZE
    max_overflow: Annotated[int, Meta(ge=0, le=1000)] = PG_MAX_OVERFLOW
    # A pooled connection idle longer than this is checked before use; 0 checks it every time.
    ping_after_idle_seconds: Annotated[float, Meta(ge=0, le=86400)] = PG_PING_AFTER_IDLE_SECONDS


class CalendarConfig(Section):
    timezone: str = "Asia/Ho_Chi_Minh"
    # Days off decreed on top of the public holidays (bridge days), and Saturdays worked to make up.
    extra_days_off: list[dt.date] = field(default_factory=list)
    extra_working_days: list[dt.date] = field(default_factory=list)

    def __post_init__(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise _invalid("timezone", f"unknown time zone {self.timezone!r}") from exc

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class PlanConfig(Section):
    # A plan file to import when the database has none (the console quick start uses it).
    default_file: str | None = None
    # Reporting deadlines added on top of those the plan names, as "MM-DD" in each year of the plan.
    extra_reporting_deadlines: list[str] = field(default_factory=list)
    # The issuing body of a plan whose file names none ("UBND thành phố Hà Nội").
    issuer: str = ""
    # A plan ends on its own this many days after its last deadline (reporting deadline or task end).
    grace_days: Annotated[int, Meta(ge=0, le=3650)] = 30
    # What a plan file may ask of the machine; a file past any bound is refused before it is
    # expanded, and the database is left as it was (storage/plans/limits.py).
    max_megabytes: Annotated[int, Meta(ge=1)] = DEFAULT_LIMITS.max_megabytes
    max_table_rows: Annotated[int, Meta(ge=10)] = DEFAULT_LIMITS.max_table_rows
    max_pdf_pages: Annotated[int, Meta(ge=1)] = DEFAULT_LIMITS.max_pdf_pages
    pdf_memory_megabytes: Annotated[int, Meta(ge=128)] = DEFAULT_LIMITS.pdf_memory_megabytes
    pdf_seconds: Annotated[int, Meta(ge=5)] = DEFAULT_LIMITS.pdf_seconds
    # Tasks an import writes per transaction, out of sight until the plan is swapped in whole: a chat
    # write waits for one such chunk at most, never for the whole import.
    import_chunk_tasks: Annotated[int, Meta(ge=1, le=100_000)] = IMPORT_CHUNK_TASKS

    @property
    def limits(self) -> ImportLimits:
        return ImportLimits(
            max_megabytes=self.max_megabytes,
            max_table_rows=self.max_table_rows,
            max_pdf_pages=self.max_pdf_pages,
            pdf_memory_megabytes=self.pdf_memory_megabytes,
            pdf_seconds=self.pdf_seconds,
        )

    def __post_init__(self) -> None:
        for value in self.extra_reporting_deadlines:
            try:
                dt.datetime.strptime(f"2000-{value}", "%Y-%m-%d")
            except ValueError as exc:
                raise _invalid("extra_reporting_deadlines", f"{value!r} is not a MM-DD date") from exc


class ReminderKindConfig(Section):
    """When reminders go out for one kind of deadline (report, quarter or task)."""

    # Calendar days before the deadline; one on a non-working day moves to the working day before.
    before_days: list[int] = field(default_factory=lambda: [7, 3, 1])
    # Local time of day (in [calendar] timezone) the reminders of a day go out.
    send_time: TimeOfDay = TimeOfDay(8, 0)
    # Working days after a missed deadline: overdue reminders to the agency's focal points…
    overdue_working_days: list[int] = field(default_factory=lambda: [1, 3])
    # …and the digest to coordinators listing who has not reported (and who cannot be reached).
    escalation_working_days: list[int] = field(default_factory=lambda: [1])

    def __post_init__(self) -> None:
        if any(value < 0 for value in self.before_days):
            raise _invalid("before_days", "days before a deadline cannot be negative")
        for name in ("overdue_working_days", "escalation_working_days"):
            if any(value < 1 for value in getattr(self, name)):
                raise _invalid(name, "working days after a deadline start at 1")


class RateConfig(Section):
    """A platform's sending budget, shared by every instance on the database. 0 means no limit."""

    per_second: Annotated[float, Meta(ge=0)] = 0
    per_chat_per_second: Annotated[float, Meta(ge=0)] = 0
    # Messages that may go out back to back before the rate applies.
    burst: Annotated[float, Meta(ge=1)] = 1


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
    report: ReminderKindConfig = field(default_factory=ReminderKindConfig)
    quarter: ReminderKindConfig = field(default_factory=lambda: ReminderKindConfig(overdue_working_days=[1]))
    task: ReminderKindConfig = field(default_factory=lambda: ReminderKindConfig(overdue_working_days=[1]))
    # How far ahead the planner writes reminders into the outbox.
    horizon_days: Annotated[int, Meta(ge=1, le=366)] = 21
    # A quarter end within this many days of a reporting deadline gets no check-in of its own: the
    # deadline's reminders cover it. 0 keeps every quarter check-in.
    merge_window_days: Annotated[int, Meta(ge=0, le=92)] = 14
    # A reminder due after its deadline (overdue, digest) is dropped when it is this late (downtime).
    late_grace_hours: Annotated[float, Meta(gt=0)] = 120
    plan_every_seconds: Annotated[float, Meta(gt=0)] = 300
    send_every_seconds: Annotated[float, Meta(gt=0)] = 15
    # A claimed reminder not acknowledged within the lease is claimed again (by any instance).
    lease_seconds: Annotated[float, Meta(ge=10)] = 300
    batch_size: Annotated[int, Meta(ge=1)] = 200
    # Sends in flight at once per instance (the rate budget still applies).
    max_in_flight: Annotated[int, Meta(ge=1)] = 1
    # Temporary errors are retried after these waits (the last repeats) until max_attempts.
    retry_backoff_seconds: list[float] = field(default_factory=lambda: [60, 300, 900, 3600])
    max_attempts: Annotated[int, Meta(ge=1)] = 6
    rates: dict[str, RateConfig] = field(default_factory=_default_rates)

    def __post_init__(self) -> None:
        if not self.retry_backoff_seconds or any(value <= 0 for value in self.retry_backoff_seconds):
            raise _invalid("retry_backoff_seconds", "give at least one positive wait")
        # Setting one platform's budget must not silently lift the others'.
        self.rates = _default_rates() | self.rates


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
    webhook_port: Annotated[int, Meta(ge=0, le=65535)] = 8080
    webhook_path: str = "/telegram"
    # Seconds each Bot API call may take; a send that times out after leaving is "outcome unknown".
    request_timeout: Annotated[float, Meta(gt=0)] = 10.0
    # How long one getUpdates call waits for news (long polling), in seconds.
    poll_timeout: Annotated[int, Meta(ge=0, le=50)] = 30
    # How often the chats' command menus are compared with who holds which role, in seconds: how
    # soon a role changed on the command line (another process) reaches the menus. 0: never.
    menu_check_seconds: Annotated[float, Meta(ge=0)] = 60
    # No longer used: every message (replies and reminders) draws on [reminders.rates.telegram], the
    # budget shared by every instance. Still accepted so that older settings files keep working.
    rate_limit_per_second: Annotated[float, Meta(gt=0)] | None = None
    # Updates handled at the same time; those of one chat are always handled in order.
    concurrent_updates: Annotated[int, Meta(ge=1, le=256)] = 16

    def __post_init__(self) -> None:
        # Telegram shows the name as "@nhacviec_bot"; links and mentions need it without the "@".
        bare = self.bot_username.strip().lstrip("@")
        if not bare or not bare.replace("_", "").isascii() or not bare.replace("_", "").isalnum():
            raise _invalid(
                "bot_username",
                f"{self.bot_username!r} is not a Telegram bot username (letters, digits and _)",
            )
        self.bot_username = bare


class ChatConfig(Section):
    # A guided flow (/capnhat, /dangky, /moi) left unanswered this long is dropped, with a message.
    flow_timeout_minutes: Annotated[int, Meta(ge=1)] = 30
    # How long an invite made in chat (/moi) or by `nhacviec invite create` stays valid by default.
    invite_days: Annotated[int, Meta(ge=1)] = 7
    # Wrong invite or link codes (/start, /lienket) one person, or one chat, may send in the window;
    # then every code is refused until the oldest wrong one is older than the window.
    code_guesses: Annotated[int, Meta(ge=1)] = 5
    code_guess_window_minutes: Annotated[int, Meta(ge=1)] = 10
    # /dangky requests for one agency waiting for a coordinator at once (one per person always).
    pending_requests_per_agency: Annotated[int, Meta(ge=1)] = 3


# What a ZNS template parameter can be filled with (`[zalo] zns_params`).
ZNS_FIELDS = ("member", "agency", "plan", "deadline", "tasks", "reference")


class ZaloConfig(Section):
    """Zalo Bot Platform (`nhacviec run --transport zalo`) and Official Account (`zalo_oa`)."""

    # Bot API base URL; the token is appended to it (change it for an emulator or a proxy).
    api_base_url: str = "https://bot-api.zaloplatforms.com/bot"
    mode: Literal["polling", "webhook"] = "polling"
    # Seconds one getUpdates call waits for news (long polling).
    poll_timeout: Annotated[int, Meta(ge=0, le=60)] = 30
    # Seconds each API call may take; a send that times out after leaving is "outcome unknown".
    request_timeout: Annotated[float, Meta(gt=0)] = 10.0
    # Updates handled at the same time; those of one chat are always handled in order.
    concurrent_updates: Annotated[int, Meta(ge=1, le=256)] = 16
    # Public HTTPS URL registered with setWebhook (webhook mode).
    webhook_url: str | None = None
    # Where this process listens: the Bot Platform webhook, the OA webhook, file links, health
    # (0 picks a free port, for tests).
    webhook_listen: str = "127.0.0.1"
    webhook_port: Annotated[int, Meta(ge=0, le=65535)] = 8081
    webhook_path: str = "/zalo"
    oa_webhook_path: str = "/zalo-oa"
    # Public URL under which this process's file links are reachable (it serves them at
    # <public_base_url>/zalo-files/<token>). Unset: files are summarised in text instead.
    public_base_url: str | None = None
    file_link_hours: Annotated[int, Meta(ge=1)] = 24
    oa_api_base_url: str = "https://openapi.zalo.me"
    oa_oauth_url: str = "https://oauth.zaloapp.com/v4/oa/access_token"
    # The OA may answer a follower for free this long after their last message (Zalo refuses any
    # consultation message after 7 days; between 48 hours and 7 days it is billed).
    oa_reply_window_hours: Annotated[float, Meta(gt=0, le=168)] = 48
    # Consultation messages (to a follower 48 hours to 7 days after their last message, or past the 8
    # free replies to it) the OA's package allows per month; reminders stop using them at this count.
    # 0: none (reminders then go by the member's other channel, ZNS, or the coordinators' digest).
    oa_monthly_consultation_quota: Annotated[int, Meta(ge=0)] = 0
    # Zalo Notification Service: the approved template reminders use when nothing else reaches a
    # member with a phone number on file; unset: no ZNS.
    zns_template_id: str | None = None
    zns_api_url: str = "https://business.openapi.zalo.me/message/template"
    # The template's parameters, each filled from a field of the reminder: member, agency, plan,
    # deadline, tasks (how many of the agency's tasks lack an update), reference.
    zns_params: dict[str, str] = field(
        default_factory=lambda: {"ten": "member", "co_quan": "agency", "ke_hoach": "plan", "han": "deadline"}
    )
    # How often the OA's token pair is looked at: renewed once a day whatever the traffic, admins
    # warned when its refresh token is about to lapse.
    oa_token_check_minutes: Annotated[float, Meta(gt=0)] = 60
    # An OA webhook event whose timestamp is further than this from now (either way) is refused:
    # a replay of a captured event is stale by the time it comes back.
    oa_event_max_age_seconds: Annotated[float, Meta(gt=0)] = 600

    def __post_init__(self) -> None:
        unknown = sorted({name for name in self.zns_params.values() if name not in ZNS_FIELDS})
        if unknown:
            raise _invalid(
                "zns_params", f"unknown reminder field(s) {', '.join(unknown)}; use {', '.join(ZNS_FIELDS)}"
            )


class RepliesConfig(Section):
    """How a chat reply outlives a platform's passing trouble (429, 5xx, timeouts)."""

    # Waits between attempts while the person is waiting for the answer; past them the reply is parked
    # in the database and sent when the platform recovers.
    retry_delays_seconds: list[float] = field(default_factory=lambda: [1.0, 3.0, 8.0])
    # A rate limit asking for a longer wait than this parks the reply at once instead of holding the chat.
    max_inline_wait_seconds: Annotated[float, Meta(ge=0)] = 15.0
    # Parked replies are tried again after these waits, the last one repeating.
    parked_backoff_seconds: list[float] = field(default_factory=lambda: [30.0, 60.0, 300.0, 900.0])
    flush_every_seconds: Annotated[float, Meta(gt=0)] = 10.0
    # A reply still not delivered after this long is given up, and the person is told.
    give_up_hours: Annotated[float, Meta(gt=0)] = 24.0

    def __post_init__(self) -> None:
        for name in ("retry_delays_seconds", "parked_backoff_seconds"):
            if any(delay < 0 for delay in getattr(self, name)):
                raise _invalid(name, "waits cannot be negative")
        if not self.parked_backoff_seconds:
            raise _invalid("parked_backoff_seconds", "give at least one wait")


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = False


class OpsConfig(Section):
    # /healthz and /metrics. In polling mode a small server of their own listens here; in webhook
    # mode the routes join the webhook server and the three http_* keys are not used.
    http_enabled: bool = True
    http_listen: str = "127.0.0.1"
    http_port: Annotated[int, Meta(ge=0, le=65535)] = 9090
    # /healthz fails when an engine tick has not finished for this long (seconds), per tick.
    max_tick_age_seconds: dict[str, float] = field(default_factory=lambda: {"sender": 300.0})
    # On SIGTERM/SIGINT: how long in-flight sends may take to finish before their leases are left
    # to expire; a second signal exits at once.
    shutdown_grace_seconds: Annotated[float, Meta(ge=0)] = 20.0
    # Every HTTP server of the process (webhooks, file links, /healthz): a client gets this long to
    # send its request headers, then its body, and this many connections may be open at once.
    header_timeout_seconds: Annotated[float, Meta(gt=0)] = 10.0
    body_timeout_seconds: Annotated[float, Meta(gt=0)] = 30.0
    max_connections: Annotated[int, Meta(ge=1)] = 512


_ENV_NAMES = {"metrics_token": "NHACVIEC_METRICS_TOKEN", "secret_key": "NHACVIEC_SECRET_KEY"}


class WebConfig(Section):
    """The coordinators' dashboard, served by the bot process (and by `nhacviec web` alone)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    # 0 picks a free port (tests).
    port: Annotated[int, Meta(ge=0, le=65535)] = 8080
    # The address people open, as the reverse proxy publishes it ("https://nhacviec.example.gov.vn").
    # Unset: the listener's own address. An https URL makes the session cookie Secure.
    public_url: str | None = None
    # A sign-in link from /web works once, within this many minutes.
    link_minutes: Annotated[int, Meta(ge=1, le=60)] = 10
    session_hours: Annotated[int, Meta(ge=1, le=72)] = 8
    # Agencies per page on a plan's overview (a province's plan names thousands).
    agencies_per_page: Annotated[int, Meta(ge=10, le=1000)] = 100

    def __post_init__(self) -> None:
        if self.public_url is None:
            return
        if not self.public_url.startswith(("http://", "https://")):
            raise _invalid("public_url", f"{self.public_url!r} is not an http(s) URL")
        self.public_url = self.public_url.rstrip("/")


class Secrets(msgspec.Struct):
    """Read from the environment only, never from the file, never printed."""

    telegram_bot_token: Secret | None = None
    telegram_webhook_secret: Secret | None = None
    zalo_bot_token: Secret | None = None
    zalo_webhook_secret: Secret | None = None
    zalo_oa_app_secret: Secret | None = None
    # The OA secret key that signs webhook calls (not the app secret, which refreshes tokens).
    zalo_oa_secret_key: Secret | None = None
    zalo_oa_access_token: Secret | None = None
    zalo_oa_refresh_token: Secret | None = None
    zalo_oa_app_id: str | None = None
    # Bearer token that /metrics asks for (NHACVIEC_METRICS_TOKEN); see docs/operations.md.
    metrics_token: Secret | None = None
    # Key(s) that encrypt stored secrets such as the OA tokens (NHACVIEC_SECRET_KEY): Fernet keys,
    # comma-separated, the first encrypting and all decrypting, so that a key can be rotated.
    secret_key: Secret | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Secrets:
        env = os.environ if env is None else env
        values = {name: env.get(_ENV_NAMES.get(name, name.upper())) for name in cls.__struct_fields__}
        # Each becomes what its field says: a Secret, or a plain string (the OA's app id).
        return msgspec.convert({k: v for k, v in values.items() if v}, cls, dec_hook=_from_file)


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
    recipients: list[str] = field(default_factory=lambda: ["Lưu: VT."])
    # A co-led task is done when every lead reported it done ("all") or when any did ("any").
    co_lead_done: Literal["all", "any"] = "all"
    # The day the figures are counted to ("Số liệu tính đến ngày …"): the cycle's deadline
    # ("deadline"), or that day of the deadline's month (e.g. 15, as Nghị định 09/2019 asks of
    # periodic reports); the report's own date is always the day it is made.
    cutoff_day: Literal["deadline"] | Annotated[int, Meta(ge=1, le=31)] = "deadline"
    # The same, for one plan: keyed by its number ("87/KH-UBND") or number and year ("87/KH-UBND-2026").
    plan_cutoff_days: dict[str, Literal["deadline"] | Annotated[int, Meta(ge=1, le=31)]] = field(
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
    max_file_mb: Annotated[float, Meta(gt=0)] = 20
    # What one agency's files may take in all; 0: no limit.
    max_agency_mb: Annotated[float, Meta(ge=0)] = 500
    # Waits between attempts at a download that failed (the last one repeats), and how many in all.
    retry_minutes: list[float] = field(default_factory=lambda: [1, 5, 30, 120, 720])
    max_attempts: Annotated[int, Meta(ge=1)] = 10
    # Seconds one download may take.
    timeout_seconds: Annotated[float, Meta(gt=0)] = 60

    def __post_init__(self) -> None:
        if not self.retry_minutes or any(value < 0 for value in self.retry_minutes):
            raise _invalid("retry_minutes", "give at least one wait, none negative")


class OrganisationConfig(Section):
    """Who runs this deployment: the coordinating department every message and report names."""

    name: str = "Sở Khoa học và Công nghệ"
    short_name: str = "Sở KH&CN"
    # The city or province ("Hà Nội", "tỉnh Lam Giang"); letterheads and texts add it where they need it.
    city: str | None = None

    def __post_init__(self) -> None:
        for name in ("name", "short_name"):
            value = getattr(self, name).strip()
            if not value:
                raise _invalid(name, "must not be empty")
            setattr(self, name, value)


class Config(Section):
    organisation: OrganisationConfig = field(default_factory=OrganisationConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    plan: PlanConfig = field(default_factory=PlanConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    i18n: I18nConfig = field(default_factory=I18nConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    zalo: ZaloConfig = field(default_factory=ZaloConfig)
    chat: ChatConfig = field(default_factory=ChatConfig)
    replies: RepliesConfig = field(default_factory=RepliesConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    ops: OpsConfig = field(default_factory=OpsConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    web: WebConfig = field(default_factory=WebConfig)
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)
    # From the environment only (`load_config` refuses a [secrets] section in the file).
    secrets: Secrets = field(default_factory=Secrets)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return self.calendar.tz

    def __post_init__(self) -> None:
        # The dashboard has a server of its own; it cannot listen where a webhook already does.
        taken = {}
        if self.telegram.mode == "webhook":
            taken[(self.telegram.webhook_listen, self.telegram.webhook_port)] = "telegram.webhook_port"
        if self.zalo.mode == "webhook":
            taken.setdefault((self.zalo.webhook_listen, self.zalo.webhook_port), "zalo.webhook_port")
        clash = taken.get((self.web.host, self.web.port)) if self.web.enabled and self.web.port else None
        if clash:
            raise _invalid("web.port", f"{self.web.port} is also {clash}; give the dashboard another port")


def _invalid(key: str, message: str) -> ValueError:
    """A check of `__post_init__` failed: `key` within the section (msgspec adds where the section is)."""
    return ValueError(f"{key}: {message}")


def _from_file(kind: type, value: Any) -> Any:
    """The types of the settings msgspec does not know: a path, a time of day as people write it
    ("08:00", not only "08:00:00"), and a secret (from the environment)."""
    if kind is Secret:
        return Secret(value)
    if kind is Path:
        if isinstance(value, str) and value:
            return Path(value)
        raise ValueError("expected a path (a string)")
    if kind is TimeOfDay:
        try:
            time = value if isinstance(value, dt.time) else dt.time.fromisoformat(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{value!r} is not a time of day (HH:MM)") from exc
        return TimeOfDay(time.hour, time.minute, time.second)
    raise NotImplementedError


def _convert(data: dict) -> Config:
    return msgspec.convert(data, Config, dec_hook=_from_file)


_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_STEP = re.compile(r"\.(?P<name>[^.\[]+)|\[(?P<index>\d+)\]|\[\.\.\.\]")
_OWN = re.compile(r"^(?P<key>[a-z_][a-z0-9_.]*): (?P<message>.*)$", re.S)
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>.*)`$", re.S)


def _problem(error: msgspec.ValidationError, data: dict) -> tuple[str, str, list]:
    """The key that is wrong, as the file spells it (`reminders.rates.zalo.burst`), what is wrong
    with it, and the path to it in `data`."""
    found = _AT.match(str(error))
    message, path = found["message"], found["path"] or ""
    keys: list[str] = []
    node: Any = data
    trail: list = []
    for step in _STEP.finditer(path):
        if step["name"] is not None:
            keys.append(step["name"])
            trail.append(step["name"])
        elif step["index"] is not None:
            keys[-1] += f"[{step['index']}]"
            trail.append(int(step["index"]))
        else:
            # msgspec does not say which key of a table failed: the one that fails alone.
            key = _failing_key(data, trail, node, str(error))
            keys.append(key if key is not None else "[...]")
            trail.append(key)
        try:
            node = node[trail[-1]] if trail[-1] is not None else None
        except (KeyError, IndexError, TypeError):
            node = None
    own = _OWN.match(message)
    if own:
        keys.append(own["key"])
        trail.extend(own["key"].split("."))
        message = own["message"]
    unknown = _UNKNOWN.match(message)
    if unknown:
        keys.append(unknown["name"])
        trail.append(unknown["name"])
        message = "unknown setting (misspelt?)"
    return ".".join(keys) or "(file)", message.replace("`", ""), trail


def _without(data: dict, trail: list) -> bool:
    """Leave out the setting at `trail` (the whole list or table for one of its items); whether
    there was one to leave out."""
    keys = []
    for step in trail:
        if not isinstance(step, str):
            break
        keys.append(step)
    holder: Any = data
    for key in keys[:-1]:
        holder = holder.get(key) if isinstance(holder, dict) else None
    if not keys or not isinstance(holder, dict) or keys[-1] not in holder:
        return False
    del holder[keys[-1]]
    return True


def _failing_key(data: dict, trail: list, table: Any, error: str) -> str | None:
    if not isinstance(table, dict) or None in trail:
        return None
    for key in table:
        trial = copy.deepcopy(data)
        holder = trial
        for step in trail[:-1]:
            holder = holder[step]
        holder[trail[-1]] = {key: table[key]}
        try:
            _convert(trial)
        except msgspec.ValidationError as exc:
            if str(exc) == error:
                return str(key)
    return None


def load_config(path: str | os.PathLike | None = None, env: dict[str, str] | None = None) -> Config:
    """Load and validate; raise ConfigError with a message naming the bad key."""
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
    config = config_from(data, source)
    config.secrets = Secrets.from_env(env)
    if env.get("NHACVIEC_DATABASE_URL"):
        config.database.url = env["NHACVIEC_DATABASE_URL"]
    return config


def config_from(data: dict, source: str = "settings") -> Config:
    """The settings `data` (a parsed TOML file) describe, checked; ConfigError names the bad key."""
    if "secrets" in data:
        raise ConfigError(f"{source}: secrets: put secrets in environment variables, not in the file")
    try:
        return _convert(data)
    except msgspec.ValidationError as exc:
        first = problem = exc
    # msgspec stops at the first wrong setting; each is left out in turn and the rest checked
    # again, so that one run lists them all, as a person mending the file wants.
    lines: list[str] = []
    rest = copy.deepcopy(data)
    for _ in range(_MOST_PROBLEMS):
        key, message, trail = _problem(problem, rest)
        lines.append(f"  {key}: {message}")
        if not _without(rest, trail):
            break
        try:
            _convert(rest)
            break
        except msgspec.ValidationError as exc:
            problem = exc
    raise ConfigError("\n".join([f"{source}: invalid configuration", *lines])) from first


_MOST_PROBLEMS = 20
