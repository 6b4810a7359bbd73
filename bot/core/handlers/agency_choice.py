"""Picking an agency from what someone typed ("so du lich", "tttt"), shared by /dangky, /moi,
/nhiemvu and /nhacnho."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.messages import Button
from storage.agencies import find_agencies, resolve_current_agency
from storage.models.plan import Agency

MAX_CHOICES = 8


async def agency_by_id(ctx: Context, agency_id) -> Agency | None:
    """The agency a button or a flow names; None for anything that is not an id (a stale payload)."""
    if not isinstance(agency_id, int) or isinstance(agency_id, bool):
        return None
    return await ctx.session.get(Agency, agency_id)


async def search_agencies(ctx: Context, query: str) -> list[Agency]:
    """One agency when the text names it outright (a name, short name or alias), else the best
    partial matches."""
    exact = await resolve_current_agency(ctx.session, query)
    if exact is not None:
        return [exact]
    return await find_agencies(ctx.session, query, limit=MAX_CHOICES)


async def agency_buttons(ctx: Context, agencies: list[Agency], action: str, **payload) -> list[list[Button]]:
    """One button per agency, one per row (names are long)."""
    return [[await ctx.button(agency.name, action, agency_id=agency.id, **payload)] for agency in agencies]


async def agency_choices(ctx: Context, agencies: list[Agency]) -> list[list[Button]]:
    """Buttons answering the current flow step with an agency id."""
    return [[await ctx.choice(agency.name, agency.id)] for agency in agencies]
