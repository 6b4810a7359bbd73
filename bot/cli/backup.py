"""`nhacviec backup FILE [--force]` and `nhacviec restore FILE`: see bot.ops.backup."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.cli import CommandError
from bot.evidence import backup_folder, copy_store, store_dir
from bot.i18n import _
from bot.ops.backup import BackupError, backup_sqlite, postgres_instructions, restore_sqlite
from storage.migrate import head_revision


def register(subparsers) -> None:
    backup = subparsers.add_parser(
        "backup", help="copy the SQLite database to FILE while the bot runs (PostgreSQL: use pg_dump)"
    )
    backup.add_argument("file", type=Path, help="where to write the backup")
    backup.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    # The backup only reads: no migration, no schema check, nothing written to the database.
    backup.set_defaults(handler=_backup, migrate=False, check_schema=False)

    restore = subparsers.add_parser(
        "restore", help="replace the SQLite database with a backup (the bot must be stopped)"
    )
    restore.add_argument("file", type=Path, help="a file written by `nhacviec backup`")
    restore.set_defaults(handler=_restore, migrate=False, check_schema=False)


def _database_path(app, action: str, file: Path) -> Path:
    path = app.db.sqlite_path()
    if not app.db.sqlite:
        raise CommandError(postgres_instructions(app.db.url, str(file)))
    if path is None:
        raise CommandError(f"an in-memory database cannot be {action}")
    return path


async def _backup(app, args) -> int:
    database = _database_path(app, "backed up", args.file)
    try:
        facts = await asyncio.to_thread(backup_sqlite, database, args.file, force=args.force)
    except BackupError as exc:
        raise CommandError(str(exc)) from exc
    print(
        _("backup written to {path} and verified ({facts})").format(path=facts.path, facts=facts.describe())
    )
    store = store_dir(app.config)
    if store is not None and store.is_dir():
        folder = backup_folder(args.file)
        copied, present = await asyncio.to_thread(copy_store, store, folder)
        print(
            _("evidence files copied to {folder}: {copied} new, {present} already there").format(
                folder=folder, copied=copied, present=present
            )
        )
    return 0


async def _restore(app, args) -> int:
    database = _database_path(app, "restored", args.file)
    try:
        result = await asyncio.to_thread(restore_sqlite, args.file, database)
    except BackupError as exc:
        raise CommandError(str(exc)) from exc
    print(
        _("{database} restored from {file} ({facts})").format(
            database=database, file=args.file, facts=result.restored.describe()
        )
    )
    folder, store = backup_folder(args.file), store_dir(app.config)
    if folder.is_dir() and store is not None:
        copied, present = await asyncio.to_thread(copy_store, folder, store)
        print(
            _("evidence files restored to {store}: {copied} copied, {present} already there").format(
                store=store, copied=copied, present=present
            )
        )
    if result.previous:
        print(_("the database it replaced is kept at {path}").format(path=result.previous))
    if result.restored.revision != head_revision():
        print(_("its schema is older than this version's; it is upgraded when the bot starts"))
    return 0
