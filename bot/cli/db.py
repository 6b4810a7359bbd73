"""`nhacviec db upgrade|current|new-key|rotate-key`"""

from __future__ import annotations

from bot.cli import CommandError
from bot.i18n import _
from storage import zalo
from storage.migrate import current_revision, head_revision, upgrade
from storage.secret_box import ENV_NAME, SecretBox, SecretKeyError, new_key


def register(subparsers) -> None:
    parser = subparsers.add_parser("db", help="database schema")
    actions = parser.add_subparsers(dest="action", required=True)
    up = actions.add_parser("upgrade", help="apply pending migrations")
    up.set_defaults(handler=_upgrade, migrate=False, check_schema=False)
    cur = actions.add_parser("current", help="show the schema revision")
    cur.set_defaults(handler=_current, migrate=False, check_schema=False)
    key = actions.add_parser("new-key", help=f"print a new key for {ENV_NAME}")
    key.set_defaults(handler=_new_key, migrate=False, check_schema=False)
    rotate = actions.add_parser(
        "rotate-key", help=f're-encrypt stored secrets with the first key in {ENV_NAME} ("new,old")'
    )
    rotate.set_defaults(handler=_rotate_key)


async def _upgrade(app, args) -> int:
    before = await current_revision(app.db)
    await upgrade(app.db)
    after = await current_revision(app.db)
    empty = _("empty")
    if before != after:
        print(_("schema: {before} -> {after}").format(before=before or empty, after=after))
    else:
        print(_("schema up to date ({revision})").format(revision=after))
    return 0


async def _current(app, args) -> int:
    current = await current_revision(app.db)
    print(_("{current} (newest: {head})").format(current=current or _("empty"), head=head_revision()))
    return 0


async def _new_key(app, args) -> int:
    print(new_key())
    return 0


async def _rotate_key(app, args) -> int:
    secret = app.config.secrets.secret_key
    try:
        box = SecretBox.from_setting(secret.get_secret_value() if secret else None)
    except SecretKeyError as exc:
        raise CommandError(str(exc)) from exc
    if box is None:
        raise CommandError(
            _("{name} is not set: put the new key first, then the old ones, comma-separated").format(
                name=ENV_NAME
            )
        )
    try:
        async with app.db.transaction() as session:
            changed = await zalo.reseal_tokens(session, box)
    except SecretKeyError as exc:
        raise CommandError(str(exc)) from exc
    print(
        _("{count} stored secret(s) re-encrypted with the first key; the old keys can now be removed").format(
            count=changed
        )
    )
    return 0
