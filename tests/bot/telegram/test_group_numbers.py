"""A number typed in an agency's group answers only what was offered in that group: a coordinator's
`1` there does not run the export button the bot showed them in private (the city-wide report would
be posted to the group). Real bot, real HTTP, the Telegram emulator with group privacy off, as for a
bot that is a group admin."""

from __future__ import annotations

from tests.bot.telegram.test_groups import people_and_plan


async def test_a_coordinators_number_in_a_group_does_not_post_the_private_export_there(
    telegram, start_bot, sqlite_db
):
    telegram.group_privacy = False
    await start_bot()
    await people_and_plan(sqlite_db)
    ha = telegram.user(1, "Hà", language_code="en")
    group = telegram.group(-5001, "Sở Du lịch — báo cáo")
    await telegram.send_text(ha, "/lienketnhom du lich", chat=group)
    await telegram.wait_for_messages(group.id, 1)
    await telegram.send_text(ha, "/xuat")
    (offer,) = await telegram.next_messages(ha.id, after=0)
    assert offer.buttons, "the export is offered with buttons"

    await telegram.send_text(ha, "1", chat=group)
    (answer,) = await telegram.next_messages(group.id, after=1)

    # In the private chat the same number does what was offered there.
    await telegram.send_text(ha, "1")
    messages = await telegram.next_messages(ha.id, after=1, count=2)
    assert [m.text.startswith("Plan 87/KH-UBND") for m in messages] == [True, False]
    assert messages[1].document is not None
    # By now a report drawn for the group would have been sent too: there is none, nor its caption.
    assert answer.text.startswith("I did not understand that.")
    assert [m.document for m in telegram.sent_to(group.id)] == [None, None]
