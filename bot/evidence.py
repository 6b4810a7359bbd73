"""Evidence files kept: a content-addressed store on disk, and the downloads that fill it.

A file sent with an update is named in the update ("telegram:<file id>", "zalo:<url>",
"console:<path>") and gets a pending `evidence_file` row in the same unit of work. Right after the
commit it is fetched (Telegram's getFile, the picture's URL on Zalo, the local path on the console),
checked (size per file and per agency, type from its first bytes; executables are refused) and kept
as `<dir>/<first two hex digits>/<sha-256>`, so that a file sent twice is kept once and any change to
it on disk shows on `nhacviec evidence verify`. A download that fails is tried again by the planner
tick with a growing wait; the update itself never depends on it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import filetype
import httpx
from sqlalchemy.engine import make_url

from bot.app import App
from bot.config import Config
from bot.evidence_notices import NOT_A_KEPT_KIND, NOT_DOWNLOADED, OVER_ALLOWANCE, TOO_LARGE, tell_not_kept
from storage import evidence as repo
from storage.models.evidence import FAILED, PENDING, STORED, EvidenceFile

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
MB = 1024 * 1024
# The largest file the Bot API lets a bot download (getFile); a larger one is refused whatever the
# configured limit.
TELEGRAM_DOWNLOAD_MB = 20


def file_limit_mb(config: Config, platform: str) -> float:
    """The largest evidence file kept from `platform`: the configured limit, or less where the
    platform lets a bot download less (Telegram: 20 MB)."""
    if platform == "telegram":
        return min(config.evidence.max_file_mb, TELEGRAM_DOWNLOAD_MB)
    return config.evidence.max_file_mb


# Types that run when opened: kept out of the store whatever name they came with.
EXECUTABLE_TYPES = {
    "application/x-msdownload",
    "application/x-executable",
    "application/x-elf",
    "application/x-mach-binary",
    "application/x-sharedlib",
    "application/vnd.microsoft.portable-executable",
    "application/x-dosexec",
    "application/x-shellscript",
}


class Refused(Exception):
    """The file will not be kept, whatever another attempt brings (too large, an executable)."""

    # What the sender is told (bot.evidence_notices): a file that could not be had at all.
    why = NOT_DOWNLOADED
    limit_mb: float | None = None


class TooLarge(Refused):
    why = TOO_LARGE

    def __init__(self, limit_mb: float):
        super().__init__(f"larger than {limit_mb:g} MB")
        self.limit_mb = limit_mb


class OverAllowance(Refused):
    why = OVER_ALLOWANCE

    def __init__(self):
        super().__init__("over the agency's allowance for evidence files")


class Executable(Refused):
    why = NOT_A_KEPT_KIND

    def __init__(self, mime: str):
        super().__init__(f"an executable ({mime}) is not kept")


class Unavailable(Exception):
    """The file could not be had this time (network, platform trouble): try again later."""


def store_dir(config: Config) -> Path | None:
    """The store's folder: configured, or beside an SQLite database; None when neither."""
    if config.evidence.dir is not None:
        return Path(config.evidence.dir)
    url = make_url(config.database.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        return database.with_name(database.stem + "-evidence")
    return None


def sniff(head: bytes) -> str:
    """The type of a file from its first bytes (the `filetype` library's signatures)."""
    if head.startswith(b"#!"):
        return "application/x-shellscript"
    if head[:4] == b"\xcf\xfa\xed\xfe" or head[:4] == b"\xce\xfa\xed\xfe":
        return "application/x-mach-binary"
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


@dataclass
class Store:
    root: Path

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha-256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, source: Path) -> str:
        """Move a downloaded file into the store under its hash; the hash."""
        digest = hashlib.sha256()
        with source.open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
        sha = digest.hexdigest()
        target = self.path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file():
            source.unlink()
        else:
            # Never executable, whatever the file is: read and write for the service only.
            os.chmod(source, 0o600)
            os.replace(source, target)
        return sha

    def verify(self, sha256: str) -> str:
        """'ok', 'missing' or 'corrupt' (its content no longer has its hash)."""
        path = self.path(sha256)
        if not path.is_file():
            return "missing"
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
        return "ok" if digest.hexdigest() == sha256 else "corrupt"

    def temp_file(self) -> Path:
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=tmp, prefix="in-")
        os.close(handle)
        return Path(name)


def open_store(config: Config) -> Store | None:
    root = store_dir(config)
    return Store(root) if root is not None else None


class Fetcher:
    """Downloads pending evidence into the store, each file in its own short transactions."""

    def __init__(self, app: App, *, client: httpx.AsyncClient | None = None):
        self.app = app
        self.config = app.config.evidence
        self.store = open_store(app.config)
        self._client = client

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.config.timeout_seconds, follow_redirects=True)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch_due(self, *, limit: int = 50) -> dict[str, int]:
        """Try every pending file whose time has come; counts by outcome."""
        counts = {STORED: 0, PENDING: 0, FAILED: 0}
        if self.store is None:
            return counts
        async with self.app.db.transaction() as session:
            ids = [row.id for row in await repo.due(session, self.app.clock.now(), limit=limit)]
        for row_id in ids:
            counts[await self.fetch(row_id)] += 1
        return counts

    async def fetch(self, row_id: int) -> str:
        """Fetch one file; its state afterwards. Never raises: the update is stored already."""
        if self.store is None:
            log.warning("evidence file %s not fetched: set [evidence] dir", row_id)
            return PENDING
        async with self.app.db.transaction() as session:
            row = await session.get(EvidenceFile, row_id)
            if row is None or row.state != PENDING:
                return row.state if row is not None else FAILED
            source, agency_id = row.source, row.agency_id
            used = await repo.agency_bytes(session, agency_id)
        file_limit = limit = int(file_limit_mb(self.app.config, source.partition(":")[0]) * MB)
        if self.config.max_agency_mb:
            limit = min(limit, max(0, int(self.config.max_agency_mb * MB) - used))
        temp = self.store.temp_file()
        error: BaseException | None = None
        sha = mime = None
        size = 0
        try:
            size = await self._download(source, temp, limit, over_agency=limit < file_limit)
            with temp.open("rb") as handle:
                mime = sniff(handle.read(8192))
            if mime in EXECUTABLE_TYPES:
                raise Executable(mime)
            sha = self.store.put(temp)
        except (Refused, Unavailable) as caught:
            error = caught
        except Exception as caught:  # a bug or an odd answer: logged, tried again like any failure
            log.exception("evidence file %s: download failed", row_id)
            error = Unavailable(f"{type(caught).__name__}: {caught}")
        finally:
            temp.unlink(missing_ok=True)
        return await self._record(row_id, sha=sha, size=size, mime=mime, error=error)

    async def _record(self, row_id, *, sha, size, mime, error) -> str:
        now = self.app.clock.now()
        async with self.app.db.transaction() as session:
            # Locked, and settled only from pending: two fetches of one file (the one after the
            # commit and a tick) record one outcome, and the sender is told at most once.
            row = await session.get(EvidenceFile, row_id, with_for_update=True)
            if row is None:
                return FAILED
            if row.state != PENDING:
                return row.state
            row.attempts += 1
            if error is None:
                row.state, row.sha256, row.size, row.mime_type = STORED, sha, size, mime
                row.fetched_at, row.last_error, row.next_attempt_at = now, None, None
                log.info("evidence file %s stored (%s, %s bytes)", row_id, mime, size)
            else:
                row.last_error = str(error)[:500]
                if isinstance(error, Refused) or row.attempts >= self.config.max_attempts:
                    row.state, row.next_attempt_at = FAILED, None
                    log.warning("evidence file %s not kept: %s", row_id, error)
                    # In the same unit of work as the verdict: the sender believes the file is kept
                    # until told otherwise, and the notice must outlive a crash right after.
                    why = error.why if isinstance(error, Refused) else NOT_DOWNLOADED
                    limit_mb = error.limit_mb if isinstance(error, Refused) else None
                    await tell_not_kept(session, self.app, row, why=why, limit_mb=limit_mb)
                else:
                    waits = self.config.retry_minutes
                    wait = waits[min(row.attempts - 1, len(waits) - 1)]
                    row.next_attempt_at = now + dt.timedelta(minutes=wait)
                    log.info("evidence file %s: %s; trying again in %s min", row_id, error, wait)
            return row.state

    async def _download(self, source: str, target: Path, limit: int, *, over_agency: bool) -> int:
        platform, _, ident = source.partition(":")
        if platform == "telegram":
            url = await self._telegram_url(ident, limit, over_agency)
            return await self._get(url, target, limit, over_agency)
        if platform in ("zalo", "zalo_oa"):
            if not ident.startswith(("http://", "https://")):
                raise Refused("not a web address")
            return await self._get(ident, target, limit, over_agency)
        if platform == "console":
            return self._copy(Path(ident), target, limit, over_agency)
        raise Refused(f"no way to fetch files from {platform!r}")

    @staticmethod
    def _too_large(limit: int, over_agency: bool) -> TooLarge | OverAllowance:
        if over_agency:
            return OverAllowance()
        return TooLarge(round(limit / MB, 2))

    async def _telegram_url(self, file_id: str, limit: int, over_agency: bool) -> str:
        secret = self.app.config.secrets.telegram_bot_token
        if secret is None:
            raise Unavailable("no Telegram token to fetch the file with")
        token = secret.get_secret_value()
        telegram = self.app.config.telegram
        try:
            response = await self._http().post(
                f"{telegram.api_base_url}{token}/getFile", data={"file_id": file_id}
            )
        except httpx.HTTPError as error:
            raise Unavailable(f"getFile: {type(error).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise Unavailable(f"getFile: HTTP {response.status_code}")
        answer = response.json()
        if not answer.get("ok"):
            description = str(answer.get("description") or response.status_code)
            # Telegram serves files of up to 20 MB to bots ("file is too big" past that, whatever
            # the size the message declared) and forgets ids it never issued: final either way.
            if "too big" in description.lower():
                raise TooLarge(TELEGRAM_DOWNLOAD_MB)
            raise Refused(f"getFile: {description}")
        result = answer["result"]
        if (result.get("file_size") or 0) > limit:
            raise self._too_large(limit, over_agency)
        if not result.get("file_path"):
            raise TooLarge(TELEGRAM_DOWNLOAD_MB)
        return f"{telegram.api_file_url}{token}/{result['file_path']}"

    async def _get(self, url: str, target: Path, limit: int, over_agency: bool) -> int:
        size = 0
        try:
            async with self._http().stream("GET", url) as response:
                if response.status_code >= 500 or response.status_code in (408, 429):
                    raise Unavailable(f"HTTP {response.status_code}")
                if response.status_code >= 400:
                    raise Refused(f"HTTP {response.status_code}")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise self._too_large(limit, over_agency)
                with target.open("wb") as out:
                    async for chunk in response.aiter_bytes(CHUNK):
                        size += len(chunk)
                        if size > limit:
                            raise self._too_large(limit, over_agency)
                        out.write(chunk)
        except httpx.HTTPError as error:
            # The address may hold a token (Telegram's file URLs do): say only what went wrong.
            raise Unavailable(type(error).__name__) from None
        return size

    def _copy(self, source: Path, target: Path, limit: int, over_agency: bool) -> int:
        try:
            if source.stat().st_size > limit:
                raise self._too_large(limit, over_agency)
            size = 0
            with source.open("rb") as handle, target.open("wb") as out:
                for chunk in iter(lambda: handle.read(CHUNK), b""):
                    size += len(chunk)
                    if size > limit:
                        raise self._too_large(limit, over_agency)
                    out.write(chunk)
        except FileNotFoundError:
            raise Unavailable("no such file") from None
        except IsADirectoryError:
            raise Refused("a folder, not a file") from None
        return size


async def fetch_soon(app: App, row_ids: list[int]) -> None:
    """The after-commit job of an update with files: fetch them now, and never fail the reply."""
    fetcher = Fetcher(app)
    try:
        for row_id in row_ids:
            await fetcher.fetch(row_id)
    except Exception:
        log.exception("evidence files %s: left for the next try", row_ids)
    finally:
        await fetcher.close()


def backup_folder(backup_file: Path) -> Path:
    """Where `nhacviec backup FILE` puts the evidence files: a folder beside FILE."""
    return backup_file.with_name(backup_file.name + ".evidence")


def copy_store(source: Path, target: Path) -> tuple[int, int]:
    """Copy every file of one store into another (backup or restore); (copied, already there).

    Files are named by their hash, so a file already in the target is the same file and is left;
    a copy is checked against its name before it takes it, so a damaged source is never spread."""
    copied = present = 0
    if not source.is_dir():
        return copied, present
    into = Store(target)
    for path in sorted(source.glob("??/*")):
        sha = path.name
        try:
            destination = into.path(sha)
        except ValueError:
            continue  # not a store file (a stray file in the folder)
        if destination.is_file() and into.verify(sha) == "ok":
            present += 1
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(sha + ".partial")
        digest = hashlib.sha256()
        with path.open("rb") as handle, partial.open("wb") as out:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha:
            partial.unlink()
            log.warning("evidence file %s is damaged in %s: not copied", sha, source)
            continue
        os.chmod(partial, 0o600)
        os.replace(partial, destination)
        copied += 1
    return copied, present
