"""The agency registry: one row per agency, however plans and users spell it.

A spelling resolves through `Agency.key` or an `AgencyAlias.key`, both `fold()`ed (case, diacritics
and punctuation ignored), and through the built-in table of known names and abbreviations in
`storage.agency_names`. Rows are created when a plan names an agency, so the registry holds the
agencies of the plans imported, not every agency the table knows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.agency_names import (
    KNOWN_AGENCIES,
    KnownAgency,
    is_generic,
    known_agency,
    match_keys,
    split_agencies,
    split_cell,
)
from storage.collation import vi_sort_key
from storage.models import Agency, AgencyAlias
from storage.models.plan import DISSOLVED, MERGED, RENAMED
from storage.text import fold, normalize_space

__all__ = [
    "KNOWN_AGENCIES",
    "AgencyMatch",
    "ensure_agency",
    "find_agencies",
    "get_or_create_agency",
    "is_generic",
    "list_agencies",
    "resolve_agency",
    "resolve_current_agency",
    "successor_of",
    "split_agencies",
    "split_cell",
]

NAME_MAX = 300


async def _by_keys(session: AsyncSession, keys: list[str]) -> Agency | None:
    if not keys:
        return None
    agency = await session.scalar(select(Agency).where(Agency.key.in_(keys)).order_by(Agency.id).limit(1))
    if agency is not None:
        return agency
    return await session.scalar(
        select(Agency)
        .join(AgencyAlias, AgencyAlias.agency_id == Agency.id)
        .where(AgencyAlias.key.in_(keys))
        .order_by(Agency.id)
        .limit(1)
    )


def _candidate_keys(text: str) -> list[str]:
    keys = match_keys(text)
    if entry := known_agency(text):
        # An alias added to the built-in table after the row was created still finds the row.
        for spelling in entry.spellings:
            keys.extend(k for k in match_keys(spelling) if k not in keys)
    return keys


async def resolve_agency(session: AsyncSession, text: str) -> Agency | None:
    """The registered agency a spelling names ("so tttt", "Sở TT&TT", "SỞ THÔNG TIN VÀ TRUYỀN
    THÔNG" all give the same row), or None when nobody of that name is registered."""
    return await _by_keys(session, _candidate_keys(normalize_space(text)))


async def successor_of(session: AsyncSession, agency: Agency) -> Agency:
    """Who carries on `agency`'s work today: itself, or the end of its chain of successors (a merged
    or renamed agency names one)."""
    seen = {agency.id}
    while agency.successor_id is not None and agency.status in (MERGED, RENAMED):
        successor = await session.get(Agency, agency.successor_id)
        if successor is None or successor.id in seen:
            break
        seen.add(successor.id)
        agency = successor
    return agency


async def resolve_current_agency(session: AsyncSession, text: str) -> Agency | None:
    """`resolve_agency` for current work (invites, registration, group chats): an old name leads to
    the agency that carries it on, and a dissolved agency to nobody."""
    agency = await resolve_agency(session, text)
    if agency is None:
        return None
    agency = await successor_of(session, agency)
    return None if agency.status == DISSOLVED else agency


async def _claimed(session: AsyncSession, keys: set[str]) -> set[str]:
    if not keys:
        return set()
    taken = set(await session.scalars(select(Agency.key).where(Agency.key.in_(keys))))
    taken |= set(await session.scalars(select(AgencyAlias.key).where(AgencyAlias.key.in_(keys))))
    return taken


async def get_or_create_agency(session: AsyncSession, text: str) -> Agency | None:
    """The agency a spelling names, registered now if it is new (under its built-in name when the
    table knows it). None for text that names nobody (empty, punctuation only, too long)."""
    agency, _created = await ensure_agency(session, text)
    return agency


async def ensure_agency(session: AsyncSession, text: str) -> tuple[Agency | None, bool]:
    """`get_or_create_agency`, also saying whether the row was created just now."""
    text = normalize_space(text)
    if not fold(text) or len(text) > NAME_MAX:
        return None, False
    agency = await resolve_agency(session, text)
    if agency is not None:
        if agency.name.isupper() and not text.isupper() and fold(agency.name) == fold(text):
            # First seen as an all-capitals section heading; a table cell spells it properly.
            agency.name = text
        return agency, False
    entry: KnownAgency | None = known_agency(text)
    name, short_name = (entry.name, entry.short_name) if entry else (text, None)
    spellings = [*(entry.spellings if entry else (name,)), text]
    key = match_keys(name)[0]
    wanted: dict[str, str] = {}
    for spelling in spellings:
        keys = match_keys(spelling)
        # The second key is the spelling without "và": keep it readable as the "&" form.
        written = [spelling, spelling.replace(" và ", " & ")]
        for alias_key, alias in zip(keys, written, strict=False):
            if alias_key != key:
                wanted.setdefault(alias_key, alias)
    taken = await _claimed(session, {key, *wanted})
    # A phrase the table knows as a group ("UBND các xã, phường") is one; its members come later.
    agency = Agency(name=name, short_name=short_name, key=key, is_group=bool(entry and entry.group))
    agency.aliases = [AgencyAlias(alias=s, key=k) for k, s in wanted.items() if k not in taken]
    session.add(agency)
    await session.flush()
    return agency, True


async def list_agencies(session: AsyncSession) -> list[Agency]:
    """Every agency, in Vietnamese alphabetical order (no database collates Vietnamese)."""
    agencies = await session.scalars(select(Agency).order_by(Agency.id))
    return sorted(agencies, key=lambda agency: vi_sort_key(agency.name))


@dataclass(frozen=True)
class AgencyMatch:
    agency: Agency
    rank: int  # 0 exact, 1 prefix, 2 word prefix, 3 substring, 4 letters in order without spaces
    matched: str  # the spelling that matched


def match_rank(query: str, key: str) -> int | None:
    """How well a folded query matches a folded spelling (AgencyMatch.rank), None when it does not."""
    if key == query:
        return 0
    if key.startswith(query):
        return 1
    if f" {query}" in f" {key}":
        return 2
    if query in key:
        return 3
    if query.replace(" ", "") in key.replace(" ", ""):
        return 4
    return None


async def find_agencies(session: AsyncSession, query: str, *, limit: int = 10) -> list[Agency]:
    """Registered agencies whose name, short name or an alias matches what a user typed, best first:
    exact, then prefix, then a word that starts with it, then anywhere. "tttt", "thong tin",
    "so vh" all find their agency without diacritics."""
    found: list[Agency] = []
    # Offered for current work: an old name offers its successor, a dissolved agency nothing.
    for match in await match_agencies(session, query, limit=limit * 2):
        agency = await successor_of(session, match.agency)
        if agency.status != DISSOLVED and agency not in found:
            found.append(agency)
    return found[:limit]


async def match_agencies(session: AsyncSession, query: str, *, limit: int = 10) -> list[AgencyMatch]:
    q = fold(query)
    if not q:
        return []
    matches = []
    for agency in await list_agencies(session):
        spellings = [(agency.key, agency.name)]
        if agency.short_name:
            spellings.append((fold(agency.short_name), agency.short_name))
        spellings += [(alias.key, alias.alias) for alias in agency.aliases]
        best = None
        for key, spelling in spellings:
            rank = match_rank(q, key)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, spelling)
        if best is not None:
            matches.append(AgencyMatch(agency, best[0], best[1]))
    matches.sort(key=lambda m: (m.rank, len(m.agency.name), m.agency.name))
    return matches[:limit]
