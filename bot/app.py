"""What every command and transport shares: configuration, the database and the clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import Config
from scheduler.clock import Clock, SystemClock
from storage.db import Database
from storage.migrate import current_revision, ensure_schema, head_revision


class SchemaOutOfDate(Exception):
    pass


@dataclass
class App:
    config: Config
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    # The dashboard's address once its server listens (a free port is only known then); /web uses it.
    web_url: str | None = None
    _limits: object = field(default=None, repr=False, compare=False)

    def rate_limits(self):
        """The process's sending budgets (scheduler.ratelimit.RateLimits): what every reply and every
        reminder draws on, per platform, shared with the other instances through the database."""
        if self._limits is None:
            import asyncio

            from scheduler.ratelimit import RateLimits

            # Platforms count real seconds, whatever clock the business logic is given (tests move
            # theirs by days): the budgets run on the system clock.
            self._limits = RateLimits(
                self.db, rate_specs(self.config), SystemClock(), write_lock=asyncio.Lock()
            )
        return self._limits

    async def close(self) -> None:
        await self.db.dispose()


def rate_specs(config: Config) -> dict:
    """The configured sending budgets (`[reminders.rates.PLATFORM]`), per platform."""
    from scheduler.ratelimit import RateSpec

    return {
        platform: RateSpec(rate.per_second, rate.per_chat_per_second, rate.burst)
        for platform, rate in config.reminders.rates.items()
    }


async def open_app(
    config: Config, *, clock: Clock | None = None, migrate: bool | None = None, check_schema: bool = True
) -> App:
    """Connect; an embedded database is brought up to date here, a shared one must be upgraded
    on purpose (`nhacviec db upgrade`), since several instances may be running against it."""
    settings = config.database
    db = Database(
        settings.url,
        pg_pool_size=settings.pool_size,
        pg_max_overflow=settings.max_overflow,
        pg_ping_after_idle_seconds=settings.ping_after_idle_seconds,
    )
    migrate = db.sqlite if migrate is None else migrate
    try:
        if migrate:
            await ensure_schema(db)
        elif check_schema and await current_revision(db) != head_revision():
            raise SchemaOutOfDate("the database schema is not up to date: run `nhacviec db upgrade` first")
    except BaseException:
        await db.dispose()
        raise
    return App(config=config, db=db, clock=clock or SystemClock())
