"""`nhacviec members list [--all] [--json]`: who is registered, for which agency, on which platforms."""

from __future__ import annotations

import json

from storage import people


def register(subparsers) -> None:
    parser = subparsers.add_parser("members", help="registered members")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="active and pending members (--all: also retired and rejected)")
    listing.add_argument("--all", action="store_true")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)


async def _list(app, args) -> int:
    async with app.db.snapshot() as session:
        members = await people.list_members(session, include_retired=args.all)
        rows = [
            {
                "id": member.id,
                "name": member.name,
                "role": member.role,
                "agency": member.agency.name if member.agency else None,
                "status": member.status,
                "language": member.language,
                "platforms": sorted({identity.platform for identity in member.identities}),
                "reachable": member.reachable,
            }
            for member in members
        ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print(
            "No members yet. Create the first coordinator with `nhacviec invite create --role coordinator`."
        )
        return 0
    print(f"{'#':>4}  {'name':<24} {'role':<12} {'status':<9} {'platforms':<16} agency")
    for row in rows:
        platforms = ",".join(row["platforms"]) or "-"
        print(
            f"{row['id']:>4}  {row['name'][:24]:<24} {row['role']:<12} {row['status']:<9} {platforms:<16} "
            f"{row['agency'] or '-'}"
        )
    return 0
