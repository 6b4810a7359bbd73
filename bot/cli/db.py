"""`nhacviec db upgrade|current`"""

from __future__ import annotations

from storage.migrate import current_revision, head_revision, upgrade


def register(subparsers) -> None:
    parser = subparsers.add_parser("db", help="database schema")
    actions = parser.add_subparsers(dest="action", required=True)
    up = actions.add_parser("upgrade", help="apply pending migrations")
    up.set_defaults(handler=_upgrade, migrate=False, check_schema=False)
    cur = actions.add_parser("current", help="show the schema revision")
    cur.set_defaults(handler=_current, migrate=False, check_schema=False)


async def _upgrade(app, args) -> int:
    before = await current_revision(app.db)
    await upgrade(app.db)
    after = await current_revision(app.db)
    print(f"schema: {before or 'empty'} -> {after}" if before != after else f"schema up to date ({after})")
    return 0


async def _current(app, args) -> int:
    current = await current_revision(app.db)
    print(f"{current or 'empty'} (head {head_revision()})")
    return 0
