"""`nhacviec agencies list [--json]`: the agency registry, with the other spellings each answers to."""

from __future__ import annotations

import json

from bot.i18n import _, use_language
from storage.agencies import list_agencies


def register(subparsers) -> None:
    parser = subparsers.add_parser("agencies", help="the agency registry")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="registered agencies, their short names and aliases")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)


async def _list(app, args) -> int:
    with use_language(app.config.i18n.default_language):
        async with app.db.snapshot() as session:
            rows = [
                {
                    "id": agency.id,
                    "name": agency.name,
                    "short_name": agency.short_name,
                    "aliases": sorted(alias.alias for alias in agency.aliases),
                }
                for agency in await list_agencies(session)
            ]
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return 0
        if not rows:
            print(
                _(
                    "No agencies yet: they are registered when a plan is imported (`nhacviec plan import FILE`)."
                )
            )
            return 0
        for row in rows:
            name = f"{row['name']} ({row['short_name']})" if row["short_name"] else row["name"]
            print(f"{row['id']:>4}  {name}")
            others = [a for a in row["aliases"] if a != row["short_name"]]
            if others:
                print("      " + _("also: {aliases}").format(aliases="; ".join(others)))
    return 0
