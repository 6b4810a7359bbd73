"""What a coordinator reads: /tonghop, /chuabaocao and /nhacnho, each page within the platform's
message limit."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.context import DEFAULT_TEXT_LIMIT, TEXT_LIMITS
from bot.core.handlers.overview import ATTENTION_SHOWN
from tests.bot.core.chat import ChatUser
from tests.factories import SectionSpec, make_member, make_plan


async def test_the_summary_shows_agencies_reported_statuses_and_blockers_first(
    db, core, plan, focal, coordinator
):
    await focal.say("/capnhat 1 done Broadcast 12 programmes")
    await focal.say("/capnhat 2 blocked Waiting for the district's permit")

    text = await coordinator.say("/tonghop")

    lines = text.splitlines()
    assert lines[0] == "Summary of plan 87/KH-UBND — reporting cycle ending Saturday, 20 June 2020"
    assert lines[1] == "Agencies reported: 1/3"
    assert lines[2:5] == [
        "Tasks: 8 · average progress 12%",
        "Reported: blocked 1, not reported 6, done 1",
        "Timing: not due yet 7, on time 1",
    ]
    blocked_at = text.index("⚠ Blocked (1):")
    assert blocked_at < text.index("By agency:")
    assert "• [II.2] Sở Du lịch: Lắp đặt biển chỉ dẫn du lịch tại các quận" in text
    assert "“Waiting for the district's permit” (Lan, 1 Jun 2020)" in text
    assert "✓ Sở Du lịch — 1/3 tasks done · average 33% · reported 1 Jun 2020" in text
    assert "✗ Sở TTTT — 0/3 tasks done · average 0% · not reported, no focal point registered" in text


async def test_overdue_tasks_are_listed_after_blockers(db, core, focal, coordinator, clock):
    sections = [
        SectionSpec(
            "Sở Du lịch",
            [
                ("Hội chợ du lịch quốc tế", "Tháng 5/2020", dt.date(2020, 5, 31)),
                ("Quảng bá du lịch trên kênh quốc tế", "Cả năm", dt.date(2020, 12, 31)),
            ],
        )
    ]
    async with db.transaction() as session:
        await make_plan(session, sections, number="12/KH-UBND")
    # Two plans give Sở Du lịch tasks now: the update and the summary name the plan.
    await focal.say("/capnhat 12/2 blocked no budget yet")
    clock.set(dt.datetime(2020, 6, 10, 2, 0, tzinfo=dt.UTC))

    text = await coordinator.say("/tonghop 12")

    assert text.index("⚠ Blocked (1):") < text.index("⏰ Overdue (1):") < text.index("By agency:")
    assert "• [I.1] Sở Du lịch: Hội chợ du lịch quốc tế\n   not reported · overdue · due 31 May 2020" in text


async def test_missing_lists_agencies_without_a_report_and_tasks_without_an_update(
    db, core, plan, focal, coordinator
):
    await focal.say("/capnhat 1 done Broadcast 12 programmes")

    text = await coordinator.say("/chuabaocao")

    expected = "\n".join(
        [
            "Not reported for the cycle ending Saturday, 20 June 2020: 2 of 3 agencies",
            # In Vietnamese alphabetical order.
            "✗ Sở Ngoại vụ (no focal point registered)",
            "✗ Sở TTTT (no focal point registered)",
            "",
            "Reported, but some tasks have no update this cycle:",
            "• Sở Du lịch: II.2, II.3",
        ]
    )
    assert text == expected


async def test_remind_writes_to_each_missing_agencys_focal_point_in_their_language(
    db, core, plan, coordinator
):
    async with db.transaction() as session:
        await make_member(session, "Minh", agency=plan.agencies["Sở Ngoại vụ"], user_id="minh", language="vi")

    text = await coordinator.say("/nhacnho")
    to_minh = coordinator.to("minh")

    assert text.startswith("Reminded 1 agency: Sở Ngoại vụ.")
    assert "No reachable focal point for: Sở TTTT, Sở Du lịch." in text
    assert to_minh[0].text.startswith("An nhắc: báo cáo của Sở Ngoại vụ đến hạn Thứ Bảy, 20/6/2020.")
    assert "Nhiệm vụ chưa cập nhật trong kỳ: III.1, III.2" in to_minh[0].text


async def test_an_agency_that_reported_is_not_reminded(db, core, plan, focal, coordinator):
    await focal.say("/capnhat 1 done")

    await coordinator.say("/nhacnho")

    assert coordinator.to("lan") == []


async def test_a_long_summary_is_paged_within_the_platforms_limit(db, core, coordinator):
    sections = [
        SectionSpec(
            f"Ủy ban nhân dân quận số {n}",
            [f"Nhiệm vụ tuyên truyền đối ngoại số {k} của quận {n}" for k in range(1, 6)],
        )
        for n in range(1, 61)
    ]
    async with db.transaction() as session:
        await make_plan(session, sections, number="99/KH-UBND", year=2020)
        await make_member(
            session, "Hà", role="coordinator", user_id="ha-zalo", platform="zalo", language="en"
        )
    on_zalo = ChatUser(core, "ha-zalo", platform="zalo")

    first = (await on_zalo.send("/tonghop 99"))[0]
    pages = [first]
    while any("Next" in b.label for row in pages[-1].buttons for b in row):
        pages.append((await on_zalo.tap("Next"))[0])

    assert len(pages) > 1
    assert all(len(page.text) <= TEXT_LIMITS["zalo"] for page in pages)
    assert pages[0].text.endswith(f"Page 1 of {len(pages)}")
    agencies = [f"Ủy ban nhân dân quận số {n} —" for n in range(1, 61)]
    everything = "\n".join(page.text for page in pages)
    assert all(agency in everything for agency in agencies)
    # Each page repeats the header, so any page read alone says which cycle it is.
    assert all(page.text.startswith("Summary of plan 99/KH-UBND") for page in pages)


WORDS = {
    "en": (
        "Next",
        "⏰ Overdue (80):",
        "… and 30 more: every one is in the report files",
        "Timing: overdue 80",
    ),
    "vi": (
        "Trang sau",
        "⏰ Quá hạn (80):",
        "… và 30 nhiệm vụ khác: danh sách đầy đủ có trong tệp báo cáo",
        "Thời hạn: quá hạn 80",
    ),
}


@pytest.mark.parametrize(("language", "platform"), [("en", "console"), ("vi", "zalo"), ("vi", "telegram")])
async def test_a_province_sized_attention_list_shows_the_first_tasks_and_counts_the_rest(
    db, core, clock, language, platform
):
    # Two sections of 40 tasks each, all due at the end of May: 80 overdue by mid-June.
    sections = [
        SectionSpec(
            f"Ủy ban nhân dân quận số {n}",
            [(f"Nhiệm vụ số {k} của quận {n}", "Tháng 5/2020", dt.date(2020, 5, 31)) for k in range(1, 41)],
        )
        for n in (1, 2)
    ]
    async with db.transaction() as session:
        await make_plan(session, sections, number="98/KH-UBND", year=2020)
        await make_member(
            session, "An", role="coordinator", user_id="an", language=language, platform=platform
        )
    clock.set(dt.datetime(2020, 6, 10, 2, 0, tzinfo=dt.UTC))
    an = ChatUser(core, "an", platform=platform)
    next_page, heading, more, timing = WORDS[language]

    first = (await an.send("/tonghop 98"))[0]
    pages = [first]
    while any(next_page in b.label for row in pages[-1].buttons for b in row):
        pages.append((await an.tap(next_page))[0])
    everything = "\n".join(page.text for page in pages)

    assert all(len(page.text) <= TEXT_LIMITS.get(platform, DEFAULT_TEXT_LIMIT) for page in pages)
    assert heading in everything
    listed = [line for line in everything.splitlines() if line.startswith("• [")]
    assert len(listed) == ATTENTION_SHOWN
    # Plan order: the first section's forty, then the second's first ten.
    assert listed[0].startswith("• [I.1] Ủy ban nhân dân quận số 1: Nhiệm vụ số 1 của quận 1")
    assert listed[-1].startswith("• [II.10] Ủy ban nhân dân quận số 2: Nhiệm vụ số 10 của quận 2")
    assert more in everything
    assert timing in pages[0].text
    # Each page still offers the files that hold the whole list.
    assert all(any("XLSX" in b.label.upper() for row in p.buttons for b in row) for p in pages)


async def test_a_short_attention_list_is_listed_whole(db, core, clock):
    sections = [
        SectionSpec(
            "Sở Du lịch",
            [(f"Hội chợ du lịch số {k}", "Tháng 5/2020", dt.date(2020, 5, 31)) for k in range(1, 4)],
        )
    ]
    async with db.transaction() as session:
        await make_plan(session, sections, number="97/KH-UBND", year=2020)
        await make_member(session, "An", role="coordinator", user_id="an", language="en")
    clock.set(dt.datetime(2020, 6, 10, 2, 0, tzinfo=dt.UTC))

    text = await ChatUser(core, "an").say("/tonghop 97")

    assert "⏰ Overdue (3):" in text
    assert [line for line in text.splitlines() if line.startswith("• [")] == [
        f"• [I.{k}] Sở Du lịch: Hội chợ du lịch số {k}" for k in range(1, 4)
    ]
    assert "more: every one is in the report files" not in text
