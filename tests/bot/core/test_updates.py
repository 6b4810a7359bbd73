"""Progress updates: the guided flow, one-liners, tolerant input, limits, edits with history,
re-delivered platform updates, and what each update counts towards."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.core.messages import Attachment
from storage.models.people import BLOCKED, DONE, IN_PROGRESS, NOTE_MAX_CHARS, ProgressUpdate, UpdateRevision
from storage.models.plan import Task


async def _updates(db) -> list[tuple]:
    async with db.snapshot() as session:
        rows = (
            await session.execute(
                select(ProgressUpdate, Task.code)
                .join(Task, Task.id == ProgressUpdate.task_id)
                .order_by(ProgressUpdate.id)
            )
        ).all()
        return [(code, u.status, u.percent, u.note, u.evidence, u.cycle) for u, code in rows]


JUNE = dt.date(2020, 6, 20)


async def test_the_guided_flow_stores_task_status_note_and_evidence(db, focal):
    await focal.say("/capnhat")
    await focal.tap("II.2")
    await focal.tap("Done")
    await focal.say("Installed 40 signs in 4 districts")
    text = await focal.say("https://example.gov.vn/bao-cao.pdf")

    expected = [
        ("II.2", DONE, None, "Installed 40 signs in 4 districts", "https://example.gov.vn/bao-cao.pdf", JUNE)
    ]
    assert await _updates(db) == expected
    assert text.startswith(
        "Saved: task II.2 — done.\nIt counts towards the report due Saturday, 20 June 2020."
    )


async def test_the_guided_flow_answers_by_number_and_skips_note_and_evidence(db, focal):
    await focal.say("/capnhat")
    await focal.say("3")
    await focal.say("2")
    await focal.say("1")  # No note
    await focal.say("1")  # No evidence

    assert await _updates(db) == [("II.3", IN_PROGRESS, None, "", None, JUNE)]


async def test_a_file_sent_in_the_flow_becomes_the_evidence(db, focal):
    await focal.say("/capnhat 1")
    await focal.tap("Blocked")
    await focal.say("Waiting for the budget decision")
    await focal.send("", attachment=Attachment(file_id="F123", filename="cong-van.pdf"))

    assert await _updates(db) == [
        ("II.1", BLOCKED, None, "Waiting for the budget decision", "console:F123", JUNE)
    ]


async def test_a_one_line_update_is_stored_at_once(db, focal):
    text = await focal.say("/capnhat 3 hoàn thành Đã phát sóng 12 chương trình")

    assert await _updates(db) == [("II.3", DONE, None, "Đã phát sóng 12 chương trình", None, JUNE)]
    assert text.startswith("Saved: task II.3 — done.")


async def test_a_one_line_update_reads_plan_numbering_percentages_and_no_diacritics(db, focal):
    await focal.say("/capnhat II.2 dang thuc hien 60% Da lap dat 24 bien")
    await focal.say("cap nhat 1 vuong mac chua co kinh phi")

    assert await _updates(db) == [
        ("II.2", IN_PROGRESS, 60, "Da lap dat 24 bien", None, JUNE),
        ("II.1", BLOCKED, None, "chua co kinh phi", None, JUNE),
    ]


async def test_a_percentage_alone_implies_the_status(db, focal):
    await focal.say("/update 2 40% half the signs are up")
    await focal.say("/update 3 100%")

    assert [row[:3] for row in await _updates(db)] == [("II.2", IN_PROGRESS, 40), ("II.3", DONE, 100)]


async def test_not_finished_is_read_as_in_progress_not_as_done(db, focal):
    await focal.say("/capnhat 1 chưa hoàn thành còn 2 chương trình")

    assert [row[:2] for row in await _updates(db)] == [("II.1", IN_PROGRESS)]


async def test_an_update_typed_without_the_command_is_understood(db, focal):
    text = await focal.say("2 xong")

    assert text.startswith("Saved: task II.2 — done.")


async def test_a_note_over_the_limit_is_refused_with_its_length_and_nothing_is_stored(db, focal):
    note = "x" * (NOTE_MAX_CHARS + 1)

    text = await focal.say(f"/capnhat 1 done {note}")

    expected = f"The note is too long: {NOTE_MAX_CHARS + 1} characters, the limit is {NOTE_MAX_CHARS}. Please shorten it. Nothing was saved."
    assert text == expected
    assert await _updates(db) == []


async def test_a_long_note_in_the_flow_is_asked_again_and_the_flow_goes_on(db, focal):
    await focal.say("/capnhat 1")
    await focal.tap("Done")
    text = await focal.say("y" * (NOTE_MAX_CHARS + 5))
    await focal.say("Short note")
    await focal.tap("No evidence")

    assert "Send the note again." in text
    assert await _updates(db) == [("II.1", DONE, None, "Short note", None, JUNE)]


async def test_a_percentage_over_100_is_refused(db, focal):
    text = await focal.say("/capnhat 1 in progress 160%")

    assert text == "A percentage must be between 0 and 100, not 160%. Nothing was saved."
    assert await _updates(db) == []


async def test_an_unknown_task_number_shows_the_valid_choices(db, focal):
    text = await focal.say("/capnhat 9 done")

    assert text.startswith("Your agency has no task 9.")
    assert "1. II.1 · Quảng bá du lịch" in text and "3. II.3 · Đón đoàn" in text
    await focal.say("3")  # the status typed first was kept
    assert [row[:2] for row in await _updates(db)] == [("II.3", DONE)]


async def test_an_unreadable_status_is_asked_again_with_the_statuses(db, focal):
    await focal.say("/capnhat 1")

    text = await focal.say("maybe")

    assert text.startswith(
        "I could not read a status there. The statuses are: not started, in progress, done, blocked."
    )
    assert await _updates(db) == []


async def test_a_focal_point_cannot_update_another_agencys_task(db, focal):
    text = await focal.say("/capnhat I.1 done hijacked")

    assert text.startswith("Your agency has no task I.1.")
    assert await _updates(db) == []


async def test_editing_the_message_edits_the_update_and_keeps_the_old_text(db, focal):
    await focal.say("/capnhat 1 in progress 50% Broadcast 6 programmes")
    message_id = focal.sent_message_ids[-1]

    text = await focal.edit(message_id, "/capnhat 1 done Broadcast 12 programmes")

    assert text[0].text.startswith("Updated task II.1: done.")
    assert await _updates(db) == [("II.1", DONE, None, "Broadcast 12 programmes", None, JUNE)]
    async with db.snapshot() as session:
        kept = [
            (r.status, r.percent, r.note) for r in (await session.execute(select(UpdateRevision))).scalars()
        ]
    assert kept == [(IN_PROGRESS, 50, "Broadcast 6 programmes")]


async def test_editing_the_note_of_a_guided_update_changes_only_the_note(db, focal):
    await focal.say("/capnhat 2")
    await focal.tap("Done")
    await focal.say("Installed 40 signs")
    note_message = focal.sent_message_ids[-1]
    await focal.tap("No evidence")

    await focal.edit(note_message, "Installed 44 signs")

    assert await _updates(db) == [("II.2", DONE, None, "Installed 44 signs", None, JUNE)]


async def test_editing_a_message_that_stored_nothing_changes_nothing(db, focal):
    await focal.say("/nhiemvu")

    replies = await focal.edit(focal.sent_message_ids[-1], "/capnhat 1 done sneaky")

    assert replies == []
    assert await _updates(db) == []


async def test_a_platform_update_delivered_twice_is_stored_once(db, focal):
    first = await focal.send("/capnhat 1 done Broadcast", update_key="1001")
    again = await focal.send("/capnhat 1 done Broadcast", update_key="1001")

    assert first and again == []
    assert len(await _updates(db)) == 1


async def test_an_update_after_the_last_deadline_counts_towards_the_last_cycle(db, focal, clock):
    clock.set(dt.datetime(2020, 12, 10, 3, 0, tzinfo=dt.UTC))

    await focal.say("/capnhat 1 done late but done")

    assert [row[5] for row in await _updates(db)] == [dt.date(2020, 11, 20)]


async def test_an_update_on_a_deadline_day_counts_towards_that_deadline(db, focal, clock):
    # 23:30 on 20 June in Hanoi (16:30 UTC) is still the deadline day: days are Hanoi days.
    clock.set(dt.datetime(2020, 6, 20, 16, 30, tzinfo=dt.UTC))

    await focal.say("/capnhat 1 done")

    assert [row[5] for row in await _updates(db)] == [JUNE]


async def test_invisible_control_characters_are_dropped_before_anything_is_stored(db, focal):
    text = await focal.say("/capnhat 1 done Broadcast\x00 12\x07 programmes")

    assert text.startswith("Saved: task II.1 — done.")
    assert [row[3] for row in await _updates(db)] == ["Broadcast 12 programmes"]
