"""/kehoach on Telegram, end to end over real HTTP: a department's years of plans arrive a page at a
time, under buttons a Telegram keyboard holds, in a private chat and in the agency's group."""

from __future__ import annotations

import pytest

from tests.bot.telegram.test_groups import linked_group
from tests.bot.telegram.test_runner import MODES
from tests.factories import make_earlier_plans


def plans_in(text: str) -> list[str]:
    return [line[2:].split(" — ")[0] for line in text.splitlines() if line.startswith("• ")]


@pytest.mark.parametrize("mode", MODES)
async def test_a_coordinator_pages_through_the_earlier_plans_in_private(telegram, start_bot, sqlite_db, mode):
    await start_bot(mode)
    _built, _group, ha, _lan, _tung = await linked_group(telegram, sqlite_db)
    async with sqlite_db.transaction() as session:
        await make_earlier_plans(session, 25)

    await telegram.send_text(ha, "/kehoach")
    (first,) = await telegram.next_messages(ha.id, after=0, within=20)
    await telegram.tap(ha, first, "Earlier plans")
    (second,) = await telegram.next_messages(ha.id, after=1, within=20)
    await telegram.tap(ha, second, "Earlier plans")
    (third,) = await telegram.next_messages(ha.id, after=2, within=20)

    assert plans_in(first.text)[0] == "87/KH-UBND (2020)" and len(plans_in(first.text)) == 11
    assert first.text.endswith("15 earlier plans are not shown.")
    assert first.button_labels == ["Close 87/KH-UBND (2020)"] + [
        f"Reopen {plan}" for plan in plans_in(first.text)[1:]
    ] + ["Earlier plans"]
    assert second.text.startswith("Earlier plans:") and len(plans_in(second.text)) == 10
    assert second.button_labels[-1] == "Earlier plans" and len(second.button_labels) == 11
    assert len(plans_in(third.text)) == 5 and "Earlier plans" not in third.button_labels
    assert len(set(plans_in(first.text) + plans_in(second.text) + plans_in(third.text))) == 26
    # A plan without a title (these have none) has no blank line in its place.
    assert not [line for line in first.text.splitlines() if line and not line.strip()]


@pytest.mark.parametrize("mode", MODES)
async def test_a_focal_point_pages_in_the_agencys_group_and_only_they_can_turn_their_page(
    telegram, start_bot, sqlite_db, mode
):
    await start_bot(mode)
    _built, group, ha, lan, _tung = await linked_group(telegram, sqlite_db)
    async with sqlite_db.transaction() as session:
        await make_earlier_plans(session, 12)

    await telegram.send_text(lan, "/kehoach@nhacviec_bot", chat=group)
    (listing,) = await telegram.next_messages(group.id, after=1, within=20)
    await telegram.tap(ha, listing, "Earlier plans")
    (refused,) = await telegram.next_messages(group.id, after=2, within=20)
    await telegram.tap(lan, listing, "Earlier plans")
    (earlier,) = await telegram.next_messages(group.id, after=3, within=20)

    # A focal point gets the paging button alone, and no plan is closed or reopened from a group.
    assert listing.button_labels == ["Earlier plans"]
    assert len(plans_in(listing.text)) == 11 and listing.text.endswith("2 earlier plans are not shown.")
    assert refused.text == "That button was not meant for you."
    assert earlier.text.startswith("Earlier plans:") and len(plans_in(earlier.text)) == 2
    assert earlier.button_labels == []
