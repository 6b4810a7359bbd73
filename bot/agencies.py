"""The agency registry as people use it: one service for `nhacviec agencies …` and the admins' chat
command. It runs a change (storage.registry) in the caller's unit of work, says what it did in the
caller's language, and writes the notices that tell each moved focal point, in their own language.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.messages import Reply
from bot.i18n import _, format_day, ngettext, use_language
from storage import people, registry
from storage.agencies import list_agencies
from storage.models import Agency, Member
from storage.models.plan import ACTIVE, DISSOLVED, MERGED, RENAMED
from storage.plans.notices import Notice
from storage.registry import Change, RegistryError

ACTIONS = ("add", "rename", "merge", "alias", "dissolve", "show", "list", "group")

_DAY = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")


class AgencyCommandError(Exception):
    """A registry command refused, with its message already in the user's language."""


def status_label(status: str) -> str:
    return {
        ACTIVE: _("in operation"),
        MERGED: _("merged"),
        RENAMED: _("renamed"),
        DISSOLVED: _("dissolved"),
    }.get(status, status)


def translate(notice: Notice) -> str:
    params = dict(notice.params)
    if "status" in params:
        params["status"] = status_label(str(params["status"]))
    return _(notice.template).format(**params)


def parse_day(text: str) -> dt.date:
    """ "1/3/2025", "01-03-2025" (day first, as Vietnamese documents write it) or "2025-03-01"."""
    if match := _DAY.match(text or ""):
        day, month, year = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            pass
    else:
        try:
            return dt.date.fromisoformat((text or "").strip())
        except ValueError:
            pass
    raise AgencyCommandError(
        _('"{text}" is not a date; write it as day/month/year, for example 1/3/2025').format(text=text)
    )


@dataclass
class Outcome:
    """What a command says back, and the notices for others (moved focal points)."""

    lines: list[str]
    notices: list[Reply] = field(default_factory=list)
    changed: bool = False


def _label(agency: Agency) -> str:
    return f"{agency.name} ({agency.short_name})" if agency.short_name else agency.name


async def _notices(session: AsyncSession, change: Change, on: dt.date | None) -> list[Reply]:
    """Tell each moved focal point, in their language, on their preferred platform."""
    replies = []
    for moved in change.moved_members:
        member = await session.get(Member, moved.member_id)
        identity = people.identity_for(member) if member is not None else None
        if identity is None:
            continue
        day = format_day(on) if on else ""
        with use_language(moved.language):
            if moved.kept is not None:
                text = _(
                    "{old} now goes on as {new} (from {date}). {new} keeps its focal point, {kept}, so "
                    "you are no longer a focal point and will get no more reminders; what you reported "
                    "stays in its history. If you should take over, ask a coordinator for an invite."
                ).format(old=moved.from_agency, new=change.agency.name, date=day, kept=moved.kept)
            else:
                text = _(
                    "{old} now goes on as {new} (from {date}). You are the focal point for {new}: your "
                    "open tasks and reminders moved with you; what you reported before keeps the old name."
                ).format(old=moved.from_agency, new=change.agency.name, date=day)
        replies.append(Reply(text=text, to_platform=identity.platform, to_chat_id=identity.chat_id))
    return replies


def _moved_lines(change: Change) -> list[str]:
    lines = []
    moved = [m.name for m in change.moved_members if m.kept is None]
    retired = [m.name for m in change.moved_members if m.kept is not None]
    if moved:
        lines.append(_("Focal points moved (each told in chat): {names}").format(names=", ".join(moved)))
    if retired:
        lines.append(
            _("No longer focal points, the successor keeping its own (each told in chat): {names}").format(
                names=", ".join(retired)
            )
        )
    if change.moved_tasks:
        lines.append(
            ngettext(
                "{n} open task of active plans moved",
                "{n} open tasks of active plans moved",
                change.moved_tasks,
            ).format(n=change.moved_tasks)
        )
    if change.moved_reminders:
        lines.append(
            ngettext(
                "{n} pending reminder moved", "{n} pending reminders moved", change.moved_reminders
            ).format(n=change.moved_reminders)
        )
    return lines


async def run(
    session: AsyncSession,
    action: str,
    args: dict,
    *,
    today: dt.date,
    grace_days: int = registry.DEFAULT_GRACE_DAYS,
) -> Outcome:
    """Run one registry command. `args` holds the command's parsed options by name."""
    try:
        if action == "add":
            change = await registry.add(
                session, args["name"], short=args.get("short"), aliases=args.get("alias") or []
            )
            text = (
                _("Added {agency}.").format(agency=_label(change.agency))
                if change.created
                else _("{agency} is registered.").format(agency=_label(change.agency))
            )
            return Outcome([text], changed=change.changed)
        if action == "alias":
            change = await registry.alias(session, args["name"], args.get("aliases") or [])
            spellings = "; ".join(a.alias for a in change.agency.aliases)
            return Outcome(
                [
                    _("{agency} is also written: {aliases}").format(
                        agency=change.agency.name, aliases=spellings
                    )
                ],
                changed=change.changed,
            )
        if action in ("merge", "rename"):
            on = parse_day(args["from"])
            if action == "merge":
                change = await registry.merge(
                    session, args["names"], into=args["into"], on=on, today=today, grace_days=grace_days
                )
            else:
                change = await registry.rename(
                    session, args["old"], args["new"], on=on, today=today, grace_days=grace_days
                )
            lines = []
            if change.sources:
                template = (
                    _("Merged {sources} into {agency} from {date}.")
                    if action == "merge"
                    else _("Renamed {sources} to {agency} from {date}.")
                )
                lines.append(
                    template.format(
                        sources=", ".join(change.sources), agency=change.agency.name, date=format_day(on)
                    )
                )
            if change.already:
                lines.append(
                    _("Already so, nothing changed: {names} → {agency}.").format(
                        names=", ".join(change.already), agency=change.agency.name
                    )
                )
            lines += _moved_lines(change)
            return Outcome(lines, await _notices(session, change, on), change.changed)
        if action == "dissolve":
            on = parse_day(args["from"])
            change = await registry.dissolve(session, args["name"], on=on, today=today)
            if not change.changed:
                return Outcome([_("{agency} is already dissolved.").format(agency=change.agency.name)])
            return Outcome(
                [
                    _("{agency} is dissolved from {date}.").format(
                        agency=change.agency.name, date=format_day(on)
                    )
                ]
                + _moved_lines(change),
                changed=True,
            )
        if action == "group":
            change = await registry.define_group(session, args["name"], args.get("members") or [])
            members = await registry.group_members(session, change.agency.id)
            lines = [
                ngettext(
                    "{group} has {n} member, each reporting for itself:",
                    "{group} has {n} members, each reporting for itself:",
                    len(members),
                ).format(group=change.agency.name, n=len(members))
            ]
            lines += [f"- {m.name}" for m in members]
            if change.created:
                lines.append(_("Newly registered: {names}").format(names=", ".join(change.created)))
            return Outcome(lines, changed=change.changed)
        if action == "show":
            agency = await registry.find(session, args["name"])
            return Outcome(await show_lines(session, agency))
    except RegistryError as exc:
        raise AgencyCommandError(translate(exc.notice)) from exc
    raise AgencyCommandError(_("Unknown agencies command: {action}").format(action=action))


async def show_lines(session: AsyncSession, agency: Agency) -> list[str]:
    lines = [_label(agency)]
    since = f" ({_('since')} {format_day(agency.status_since)})" if agency.status_since else ""
    lines.append(_("Status: {status}").format(status=status_label(agency.status)) + since)
    if agency.successor_id is not None:
        successor = await registry.current(session, agency)
        lines.append(_("Successor: {name}").format(name=successor.name))
    if before := await registry.predecessors(session, agency):
        lines.append(_("Predecessors: {names}").format(names=", ".join(a.name for a in before)))
    aliases = [a.alias for a in agency.aliases if a.alias != agency.short_name]
    if aliases:
        lines.append(_("Also written: {aliases}").format(aliases="; ".join(sorted(aliases))))
    if agency.is_group:
        members = await registry.group_members(session, agency.id)
        if members:
            lines.append(
                _("Group of {n}: {names}").format(n=len(members), names=", ".join(m.name for m in members))
            )
        else:
            lines.append(_("A group with no members defined: followed as one agency"))
    focal = await people.active_focal_points(session, agency.id)
    lines.append(
        _("Focal points: {names}").format(names=", ".join(m.name for m in focal) if focal else _("none yet"))
    )
    if hint := await registry.builtin_successor(session, agency):
        successor, since = hint
        if successor:
            lines.append(
                _(
                    "The built-in registry knows it was merged into {successor} on {date}; to move its people "
                    'and open work: nhacviec agencies merge "{name}" --into "{successor}" --from {iso}'
                ).format(successor=successor, date=format_day(since), name=agency.name, iso=since.isoformat())
            )
    return lines


async def registry_rows(session: AsyncSession) -> list[dict]:
    """`agencies list --json`: one row per agency, old names included."""
    agencies = await list_agencies(session)
    by_id = {a.id: a for a in agencies}
    groups = await registry.members_of_groups(session)
    rows = []
    for agency in agencies:
        successor = by_id.get(agency.successor_id) if agency.successor_id else None
        rows.append(
            {
                "id": agency.id,
                "name": agency.name,
                "short_name": agency.short_name,
                "aliases": sorted(alias.alias for alias in agency.aliases),
                "status": agency.status,
                "since": agency.status_since.isoformat() if agency.status_since else None,
                "successor": successor.name if successor else None,
                "group": agency.is_group,
                "members": [by_id[m].name for m in groups.get(agency.id, []) if m in by_id],
            }
        )
    return rows
