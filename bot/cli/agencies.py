"""`nhacviec agencies add|rename|merge|alias|dissolve|show|list|group`: the agency registry and its
history. The rules live in storage.registry, the wording in bot.agencies (shared with the chat)."""

from __future__ import annotations

import json
import logging
import sys

from bot import agencies as service
from bot.i18n import _, use_language
from storage.text import readable

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser("agencies", help="the agency registry and its history")
    actions = parser.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", help="registered agencies: names, status, successor")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)

    add = actions.add_parser("add", help="register an agency")
    add.add_argument("name")
    add.add_argument("--short", help="its usual abbreviation (Sở KH&CN)")
    add.add_argument("--alias", nargs="+", default=[], metavar="A", help="other spellings")
    add.set_defaults(handler=_change, fields=("name", "short", "alias"))

    rename = actions.add_parser("rename", help="an agency goes on under a new name")
    rename.add_argument("old")
    rename.add_argument("new")
    rename.add_argument("--from", dest="from_", required=True, metavar="DATE", help="day it takes effect")
    rename.set_defaults(handler=_change, fields=("old", "new", "from"))

    merge = actions.add_parser("merge", help="merge agencies into one (created when new)")
    merge.add_argument("names", nargs="+", metavar="NAME")
    merge.add_argument("--into", required=True, metavar="C")
    merge.add_argument("--from", dest="from_", required=True, metavar="DATE")
    merge.set_defaults(handler=_change, fields=("names", "into", "from"))

    alias = actions.add_parser("alias", help="other spellings of an agency")
    alias.add_argument("name")
    alias.add_argument("aliases", nargs="+", metavar="ALIAS")
    alias.set_defaults(handler=_change, fields=("name", "aliases"))

    dissolve = actions.add_parser("dissolve", help="an agency ceases to exist")
    dissolve.add_argument("name")
    dissolve.add_argument("--from", dest="from_", required=True, metavar="DATE")
    dissolve.set_defaults(handler=_change, fields=("name", "from"))

    show = actions.add_parser("show", help="one agency: status, history, members, focal points")
    show.add_argument("name")
    show.set_defaults(handler=_change, fields=("name",))

    group = actions.add_parser("group", help="define a group's members, each reporting for itself")
    group.add_argument("name")
    group.add_argument("--members", nargs="+", default=[], metavar="A")
    group.add_argument("--members-file", metavar="FILE", help="one member a line")
    group.set_defaults(handler=_change, fields=("name", "members"))


def _members(args) -> list[str]:
    names = list(args.members or [])
    if args.members_file:
        try:
            with open(args.members_file, encoding="utf-8-sig") as handle:
                lines = [readable(line).strip() for line in handle]
                names += [line for line in lines if line and not line.startswith("#")]
        except OSError as exc:
            raise service.AgencyCommandError(
                _("Cannot read {file}: {reason}").format(file=args.members_file, reason=exc.strerror or exc)
            ) from exc
        except UnicodeDecodeError as exc:
            raise service.AgencyCommandError(
                _("{file} is not UTF-8 text").format(file=args.members_file)
            ) from exc
    return names


async def _change(app, args) -> int:
    with use_language(app.config.i18n.default_language):
        values = {}
        for name in args.fields:
            values[name] = getattr(args, "from_" if name == "from" else name)
        try:
            if args.action == "group":
                values["members"] = _members(args)
            today = app.clock.now().astimezone(app.config.tz).date()
            if args.action == "show":
                async with app.db.snapshot() as session:
                    outcome = await service.run(session, "show", values, today=today)
            else:
                async with app.db.transaction() as session:
                    outcome = await service.run(
                        session, args.action, values, today=today, grace_days=app.config.plan.grace_days
                    )
        except service.AgencyCommandError as exc:
            print(f"nhacviec: {exc}", file=sys.stderr)
            return 1
        for line in outcome.lines:
            print(line)
        if outcome.notices:
            await tell_in_chat(app, outcome.notices)
    return 0


async def tell_in_chat(app, notices) -> None:
    """Deliver notices to the members a change concerns, on their platforms, after it is committed."""
    from bot.transports.registry import build_transports, send_addressed

    transports = await build_transports(app)
    try:
        for reply in notices:
            sent = await send_addressed(app, transports, reply)
            if sent is None:
                print(
                    _("Could not tell them on {platform} for now; tell them yourself.").format(
                        platform=reply.to_platform
                    )
                )
    finally:
        await transports.aclose()


async def _list(app, args) -> int:
    with use_language(app.config.i18n.default_language):
        async with app.db.snapshot() as session:
            rows = await service.registry_rows(session)
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
            if row["status"] != "active":
                state = service.status_label(row["status"])
                if row["since"]:
                    state += " " + row["since"]
                if row["successor"]:
                    state += " → " + row["successor"]
                name += f"  [{state}]"
            print(f"{row['id']:>4}  {name}")
            others = [a for a in row["aliases"] if a != row["short_name"]]
            if others:
                print("      " + _("also: {aliases}").format(aliases="; ".join(others)))
            if row["members"]:
                print("      " + _("members: {names}").format(names="; ".join(row["members"])))
    return 0
