import pytest
from sqlalchemy import func, select

from storage.agencies import (
    find_agencies,
    get_or_create_agency,
    list_agencies,
    resolve_agency,
    split_agencies,
)
from storage.models import Agency, AgencyAlias

# Every agency cell of the reference plan's appendix, and what it names.
SPLITS = [
    ("Sở Thông tin và Truyền thông", ["Sở Thông tin và Truyền thông"]),
    (
        "Đài Tiếng nói Việt Nam, Đài Truyền hình Việt Nam, Thông tấn xã Việt Nam, Cổng thông tin điện tử Chính phủ.",
        [
            "Đài Tiếng nói Việt Nam",
            "Đài Truyền hình Việt Nam",
            "Thông tấn xã Việt Nam",
            "Cổng thông tin điện tử Chính phủ",
        ],
    ),
    (
        "- Công Giao tiếp điện tử Hà Nội - Sở Thông tin và Truyền thông",
        ["Công Giao tiếp điện tử Hà Nội", "Sở Thông tin và Truyền thông"],
    ),
    ("Ban Tuyên giáo Thành ủy và các cơ quan, đơn vị có liên quan", ["Ban Tuyên giáo Thành ủy"]),
    ("Ban Tuyên giáo Thành ủy và các đơn vị liên quan", ["Ban Tuyên giáo Thành ủy"]),
    (
        "Sở Ngoại vụ, Sở Du lịch, Sở VHHT, Trung tâm XTĐTMDL",
        ["Sở Ngoại vụ", "Sở Du lịch", "Sở VHHT", "Trung tâm XTĐTMDL"],
    ),
    (
        "Trung tâm Đào tạo CNTT & Truyền thông, thuộc Sở Thông tin và Truyền thông",
        ["Trung tâm Đào tạo CNTT & Truyền thông"],
    ),
    (
        "Ban Tuyên giáo Thành ủy, Sở Nội vụ, các Sở, ngành, Phòng VHHT quận, huyện, thị xã và các ĐTT cấp xã",
        ["Ban Tuyên giáo Thành ủy", "Sở Nội vụ", "Phòng VHHT quận, huyện, thị xã"],
    ),
    ("Các cơ quan, đơn vị liên quan", []),
    ("Các cơ quan liên quan", []),
    ("Các Sở, ban, ngành và các đơn vị liên quan", []),
    (
        "Ban Tuyên giáo Thành ủy, Sở Thông tin và Truyền thông",
        ["Ban Tuyên giáo Thành ủy", "Sở Thông tin và Truyền thông"],
    ),
    ("Đoàn thanh niên Sở VHTT", ["Đoàn thanh niên Sở VHTT"]),
    (
        "Cơ quan hợp tác quốc tế Nhật Bản (JICA), Sở Giao thông Vận tải",
        ["Cơ quan hợp tác quốc tế Nhật Bản (JICA)", "Sở Giao thông Vận tải"],
    ),
    (
        "Báo An ninh Thủ đô, Truyền hình Vì an ninh Tổ quốc, Trang thông tin điện tử của Công an Thành phố",
        [
            "Báo An ninh Thủ đô",
            "Truyền hình Vì an ninh Tổ quốc",
            "Trang thông tin điện tử của Công an Thành phố",
        ],
    ),
    ("Trung tâm Xúc tiến Đầu tư, Thương mại, Du lịch", ["Trung tâm Xúc tiến Đầu tư, Thương mại, Du lịch"]),
    (
        "Viện nghiên cứu Phát triển kinh tế - xã hội Hà Nội",
        ["Viện nghiên cứu Phát triển kinh tế - xã hội Hà Nội"],
    ),
    ("Liên hiệp Các tổ chức hữu nghị Thành phố", ["Liên hiệp Các tổ chức hữu nghị Thành phố"]),
    # Forms the sample plan and other plans use.
    ("Sở Văn hóa, Thể thao và Du lịch", ["Sở Văn hóa, Thể thao và Du lịch"]),
    ("Sở Khoa học và Công nghệ và Sở Nội vụ", ["Sở Khoa học và Công nghệ", "Sở Nội vụ"]),
    ("Các sở, ban, ngành; UBND các huyện, thành phố", ["UBND các huyện, thành phố"]),
    ("Sở Nội vụ\n- Sở Tài chính\n+ Sở Y tế", ["Sở Nội vụ", "Sở Tài chính", "Sở Y tế"]),
    ("<b>Sở Nội vụ</b>, Sở Nội vụ", ["Sở Nội vụ"]),
    ("", []),
]


@pytest.mark.parametrize(("cell", "expected"), SPLITS)
def test_a_cell_naming_several_agencies_is_cut_into_one_name_each(cell, expected):
    assert split_agencies(cell) == expected


SPELLINGS_OF_ONE_AGENCY = [
    (
        "Sở Thông tin và Truyền thông",
        [
            "Sở TTTT",
            "SỞ THÔNG TIN VÀ TRUYỀN THÔNG",
            "so thong tin va truyen thong",
            "Sở TT&TT",
            "Sở Thông tin & Truyền thông",
            "sở tttt",
        ],
    ),
    (
        "Sở Văn hóa và Thể thao",
        ["Sở VHTT", "Sở VH TT", "Sở VHHT", "SỞ VĂN HÓA VÀ THỂ THAO", "Sở Văn hoá và Thể thao"],
    ),
    (
        "Trung tâm Xúc tiến Đầu tư, Thương mại, Du lịch",
        [
            "XTĐT-TMDL",
            "Trung tâm XTĐTMDL",
            "Trung tâm XTĐT-TMDL",
            "TRUNG TÂM XÚC TIẾN ĐẦU TƯ, THƯƠNG MẠI, DU LỊCH",
        ],
    ),
    ("Công an Thành phố", ["Công an thành phố Hà Nội", "CÔNG AN THÀNH PHỐ HÀ NỘI", "CATP"]),
    ("Sở Giao thông Vận tải", ["Sở GTVT", "SỞ GIAO THÔNG VẬN TẢI"]),
    ("Sở Tài nguyên và Môi trường", ["Sở TNMT", "SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG"]),
    ("Cổng Giao tiếp điện tử Hà Nội", ["Công Giao tiếp điện tử Hà Nội", "Cổng Giao tiếp điện tử Thành phố"]),
    ("UBND các quận, huyện, thị xã", ["UBND quận, huyện, thị xã", "UBND quận/huyện/thị xã"]),
    ("Thông tấn xã Việt Nam", ["TTXVN"]),
    ("Đài Phát thanh và Truyền hình Hà Nội", ["Đài PT&TH Hà Nội"]),
]


@pytest.mark.parametrize(("name", "spellings"), SPELLINGS_OF_ONE_AGENCY)
async def test_one_agency_named_several_ways_is_one_row(db, name, spellings):
    async with db.transaction() as session:
        for spelling in [name, *spellings]:
            await get_or_create_agency(session, spelling)
    async with db.snapshot() as session:
        rows = [(a.id, a.name) for a in await list_agencies(session)]
        resolved = {(await resolve_agency(session, s)).id for s in spellings}
    expected = [name]
    assert [n for _id, n in rows] == expected
    assert resolved == {rows[0][0]}


async def test_an_agency_the_table_does_not_know_is_registered_as_written(db):
    async with db.transaction() as session:
        first = await get_or_create_agency(session, "Đoàn thanh niên quốc tế")
        again = await get_or_create_agency(session, "ĐOÀN THANH NIÊN QUỐC TẾ")
    expected = "Đoàn thanh niên quốc tế"
    assert first.id == again.id
    assert first.name == expected


async def test_a_name_first_seen_in_capitals_takes_the_spelling_of_a_later_mixed_case_mention(db):
    async with db.transaction() as session:
        await get_or_create_agency(session, "BAN QUẢN LÝ KHU DU LỊCH HỒ XANH")
        await get_or_create_agency(session, "Ban Quản lý khu du lịch Hồ Xanh")
    async with db.snapshot() as session:
        names = [a.name for a in await list_agencies(session)]
    expected = ["Ban Quản lý khu du lịch Hồ Xanh"]
    assert names == expected


async def test_a_known_agency_is_registered_with_its_short_name_and_aliases(db):
    async with db.transaction() as session:
        agency = await get_or_create_agency(session, "sở tttt")
    async with db.snapshot() as session:
        row = await session.get(Agency, agency.id)
        stored = (row.name, row.short_name)
        aliases = {a.alias for a in row.aliases}
    assert stored == ("Sở Thông tin và Truyền thông", "Sở TTTT")
    assert {"Sở TT&TT", "Sở TTTT"} <= aliases


async def test_resolving_an_unregistered_name_finds_nobody_and_writes_nothing(db):
    async with db.snapshot() as session:
        found = await resolve_agency(session, "Sở Ngoại vụ")
    async with db.snapshot() as session:
        count = await session.scalar(select(func.count(Agency.id)))
    assert found is None
    assert count == 0


async def test_text_that_names_nobody_registers_nothing(db):
    async with db.transaction() as session:
        results = [await get_or_create_agency(session, text) for text in ("", "  ", "-", "x" * 400)]
    async with db.snapshot() as session:
        count = await session.scalar(select(func.count(Agency.id)))
    assert results == [None, None, None, None]
    assert count == 0


async def test_an_alias_key_is_never_claimed_twice(db):
    async with db.transaction() as session:
        await get_or_create_agency(session, "Sở Văn hóa và Thể thao")
        await get_or_create_agency(session, "Sở Văn hóa, Thể thao và Du lịch")
    async with db.snapshot() as session:
        keys = list(await session.scalars(select(AgencyAlias.key)))
        agency_keys = list(await session.scalars(select(Agency.key)))
    assert len(keys) == len(set(keys))
    assert not set(keys) & set(agency_keys)


@pytest.mark.parametrize(
    ("query", "expected_first"),
    [
        ("so tttt", "Sở Thông tin và Truyền thông"),
        ("tttt", "Sở Thông tin và Truyền thông"),
        ("thong tin", "Sở Thông tin và Truyền thông"),
        ("Sở Du", "Sở Du lịch"),
        ("du lich", "Sở Du lịch"),
        ("cong an", "Công an Thành phố"),
        ("vhtt", "Sở Văn hóa và Thể thao"),
        ("ngoai vu", "Sở Ngoại vụ"),
        ("SỞ NGOẠI VỤ", "Sở Ngoại vụ"),
    ],
)
async def test_users_find_an_agency_by_typing_part_of_its_name_without_diacritics(db, query, expected_first):
    async with db.transaction() as session:
        for name in (
            "Sở Thông tin và Truyền thông",
            "Sở Du lịch",
            "Sở Văn hóa và Thể thao",
            "Trung tâm Xúc tiến Đầu tư, Thương mại, Du lịch",
            "Công an Thành phố",
            "Sở Ngoại vụ",
        ):
            await get_or_create_agency(session, name)
    async with db.snapshot() as session:
        found = [a.name for a in await find_agencies(session, query)]
    assert found[0] == expected_first


async def test_finding_ranks_a_prefix_before_a_match_in_the_middle(db):
    async with db.transaction() as session:
        for name in ("Sở Du lịch", "Trung tâm Xúc tiến Đầu tư, Thương mại, Du lịch"):
            await get_or_create_agency(session, name)
    async with db.snapshot() as session:
        found = [a.name for a in await find_agencies(session, "du lich")]
        nothing = await find_agencies(session, "zzz")
        empty = await find_agencies(session, "  ")
    expected = ["Sở Du lịch", "Trung tâm Xúc tiến Đầu tư, Thương mại, Du lịch"]
    assert found == expected
    assert nothing == [] and empty == []
