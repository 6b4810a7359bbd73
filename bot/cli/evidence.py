"""`nhacviec evidence list [--plan P] [--agency A] | get SHA -o FILE | verify | fetch`: the evidence
store for operators (see bot.evidence)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from bot.cli import CommandError
from bot.cli.plan_choice import add_plan_arguments, chosen_plan
from bot.evidence import Fetcher, Store, open_store
from bot.i18n import _
from storage import evidence as repo
from storage.agencies import resolve_agency
from storage.models.evidence import STORED


def register(subparsers) -> None:
    evidence = subparsers.add_parser("evidence", help="evidence files kept with updates: list, get, verify")
    commands = evidence.add_subparsers(dest="evidence_command", metavar="ACTION", required=True)

    listing = commands.add_parser("list", help="the evidence files, per agency and task")
    add_plan_arguments(listing, default_help="only this plan's tasks (number or id; default: every plan)")
    listing.add_argument("--agency", help="only this agency's files (any spelling)")
    listing.set_defaults(handler=_list)

    get = commands.add_parser("get", help="copy a stored file out of the store")
    get.add_argument("sha", help="the file's sha-256 (its first 8 or more characters will do)")
    get.add_argument("-o", "--output", type=Path, required=True, help="where to write it")
    get.set_defaults(handler=_get)

    verify = commands.add_parser("verify", help="re-hash every stored file; report missing or changed ones")
    verify.set_defaults(handler=_verify)

    fetch = commands.add_parser("fetch", help="try the files still waiting for download now")
    fetch.set_defaults(handler=_fetch)


def _store(app) -> Store:
    store = open_store(app.config)
    if store is None:
        raise CommandError(_("No evidence folder: set [evidence] dir in the configuration."))
    return store


def _size(size: int | None) -> str:
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


async def _list(app, args) -> int:
    async with app.db.snapshot() as session:
        plan_id = (await chosen_plan(app, session, args)).id if args.plan else None
        agency_id = None
        if args.agency:
            agency = await resolve_agency(session, args.agency)
            if agency is None:
                raise CommandError(_("There is no agency “{name}”.").format(name=args.agency))
            agency_id = agency.id
        rows = await repo.listed(session, plan_id=plan_id, agency_id=agency_id)
    if not rows:
        print(_("No evidence files."))
        return 0
    tz = app.config.tz
    for row, update, task, agency in rows:
        sha = row.sha256[:12] if row.sha256 else "—"
        day = update.created_at.astimezone(tz).strftime("%d/%m/%Y")
        name = row.original_name or "—"
        line = f"{sha:12}  {row.state:7}  {_size(row.size):>7}  {row.mime_type or '—':24}  {day}  [{task.code}] {agency.name}: {name}"
        if row.state != STORED and row.last_error:
            line += f"  ({row.last_error})"
        print(line)
    return 0


async def _get(app, args) -> int:
    store = _store(app)
    prefix = args.sha.strip().lower()
    if len(prefix) < 8:
        raise CommandError(_("Give at least 8 characters of the file's sha-256."))
    async with app.db.snapshot() as session:
        matches = sorted(sha for sha in await repo.stored_hashes(session) if sha.startswith(prefix))
    if not matches:
        raise CommandError(_("No stored file has a sha-256 starting with {sha}.").format(sha=prefix))
    if len(matches) > 1:
        raise CommandError(_("Several files start with {sha}: give more characters.").format(sha=prefix))
    source = store.path(matches[0])
    if store.verify(matches[0]) != "ok":
        raise CommandError(
            _("The stored file {sha} is missing or damaged: run `nhacviec evidence verify`.").format(
                sha=matches[0]
            )
        )
    await asyncio.to_thread(shutil.copyfile, source, args.output)
    print(_("{sha} written to {path}").format(sha=matches[0], path=args.output))
    return 0


async def _verify(app, args) -> int:
    store = _store(app)
    async with app.db.snapshot() as session:
        hashes = sorted(await repo.stored_hashes(session))
    results = {sha: await asyncio.to_thread(store.verify, sha) for sha in hashes}
    bad = {sha: state for sha, state in results.items() if state != "ok"}
    for sha, state in bad.items():
        print(f"{sha}  {_('missing') if state == 'missing' else _('corrupt')}")
    print(
        _("{ok} of {count} evidence files intact, {missing} missing, {corrupt} corrupt").format(
            ok=len(results) - len(bad),
            count=len(results),
            missing=sum(1 for s in bad.values() if s == "missing"),
            corrupt=sum(1 for s in bad.values() if s == "corrupt"),
        )
    )
    return 1 if bad else 0


async def _fetch(app, args) -> int:
    _store(app)
    fetcher = Fetcher(app)
    try:
        counts = await fetcher.fetch_due(limit=10_000)
    finally:
        await fetcher.close()
    print(
        _("{stored} stored, {pending} to try again later, {failed} not kept").format(
            stored=counts["stored"], pending=counts["pending"], failed=counts["failed"]
        )
    )
    return 0
