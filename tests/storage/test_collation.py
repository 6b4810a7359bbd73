"""Vietnamese alphabetical order: the Unicode Collation Algorithm with CLDR's Vietnamese rules."""

from __future__ import annotations

import random

from storage.agencies import get_or_create_agency, list_agencies
from storage.collation import vi_sort_key


def test_names_sort_as_a_vietnamese_reader_expects():
    expected = [
        "an",
        "ăn",
        "ân",
        "ba",
        "bà",
        "bả",
        "bã",
        "bá",
        "bạ",
        "Công an Thành phố",
        "Cơ quan Hợp tác",
        "Du lịch",
        "Đài Phát thanh",
        "Ea",
        "Ế",
        "Sở Tài chính",
        "Sở Thông tin và Truyền thông",
        "tu",
        "tư",
        "Ủy ban",
    ]
    shuffled = random.Random(7).sample(expected, len(expected))

    assert sorted(shuffled, key=vi_sort_key) == expected


async def test_the_agency_registry_lists_agencies_in_vietnamese_order(db):
    async with db.transaction() as session:
        for name in (
            "Sở Thông tin và Truyền thông",
            "Đài Phát thanh và Truyền hình",
            "Sở Tài chính",
            "Sở Du lịch",
        ):
            await get_or_create_agency(session, name)

    async with db.snapshot() as session:
        names = [agency.name for agency in await list_agencies(session)]

    expected = ["Đài Phát thanh và Truyền hình", "Sở Du lịch", "Sở Tài chính", "Sở Thông tin và Truyền thông"]
    assert names == expected
