"""Importing plans into the database (SQLite and PostgreSQL): links, idempotence, revisions, formats."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from storage.models import Agency, Base, Plan, ProgressUpdate, Section, Task
from storage.plans.importer import CREATED, UNCHANGED, UPDATED, import_plan_file
from storage.plans.notices import PlanFormatError
from storage.plans.parser import parse_plan_file
from storage.plans.repository import get_plan, list_plans, plan_document, reporting_deadlines
from storage.plans.staging import import_file_if_empty, import_staged
from tests.conftest import SAMPLE_PLAN
from tests.plan_files import write_csv, write_docx, write_xlsx

D = dt.date


async def dump(db) -> dict[str, list[tuple]]:
    """Every row of every table, to compare the database before and after."""
    async with db.snapshot() as session:
        result = {}
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(select(table).order_by(*table.primary_key.columns))).all()
            result[table.name] = [tuple(row) for row in rows]
        return result


@pytest.fixture(autouse=True, params=["one transaction", "staged"])
def import_mode(request, monkeypatch):
    """Every test here runs both ways a plan is written: in the caller's one transaction, and staged
    in chunks (of a few tasks, so that the sample plan takes several) then swapped in."""
    monkeypatch.setattr(f"{__name__}.MODE", request.param)
    return request.param


MODE = "one transaction"


async def import_file(db, path):
    if MODE == "staged":
        return await import_staged(db, parse_plan_file(path), chunk=7)
    async with db.transaction() as session:
        return await import_plan_file(session, path)


async def document(db, number=None) -> dict:
    async with db.snapshot() as session:
        return plan_document(await get_plan(session, number))


def tasks_of(doc) -> dict[str, dict]:
    return {f"{s['numeral']}.{t['number']}": t for s in doc["sections"] for t in s["tasks"]}


# --- The reference plan -------------------------------------------------------------------------


async def test_the_reference_plan_imports_to_twelve_sections_with_their_tasks(db, reference_plan):
    report = await import_file(db, reference_plan)
    async with db.snapshot() as session:
        counts = (
            await session.execute(
                select(Section.numeral, func.count(Task.id))
                .join(Task, Task.section_id == Section.id)
                .group_by(Section.numeral, Section.position)
                .order_by(Section.position)
            )
        ).all()
    expected = [
        ("I", 8),
        ("II", 5),
        ("III", 7),
        ("IV", 9),
        ("V", 2),
        ("VI", 5),
        ("VII", 3),
        ("VIII", 8),
        ("IX", 5),
        ("X", 5),
        ("XI", 5),
        ("XII", 2),
    ]
    assert [tuple(row) for row in counts] == expected
    assert (report.status, report.sections, report.tasks) == (CREATED, 12, 64)


async def test_the_reference_plan_is_stored_as_a_coordinator_reads_it(db, reference_plan):
    await import_file(db, reference_plan)
    doc = await document(db, "87/KH-UBND")
    tasks = tasks_of(doc)
    assert (doc["number"], doc["issued"], doc["year"]) == ("87/KH-UBND", "2020-04-24", 2020)
    assert doc["title"] == "Tổ chức các hoạt động thông tin đối ngoại năm 2020"
    assert doc["reporting_deadlines"] == ["2020-06-20", "2020-11-20"]
    assert [s["agency"] for s in doc["sections"]] == [
        "Sở Thông tin và Truyền thông",
        "Sở Ngoại vụ",
        "Sở Văn hóa và Thể thao",
        "Sở Du lịch",
        "Sở Tài chính",
        "Sở Công Thương",
        "Sở Giao thông Vận tải",
        "Sở Tài nguyên và Môi trường",
        "Công an Thành phố",
        "Trung tâm Xúc tiến Đầu tư, Thương mại, Du lịch",
        "Liên hiệp các tổ chức hữu nghị Thành phố",
        "Viện Nghiên cứu phát triển kinh tế - xã hội Hà Nội",
    ]
    assert tasks["I.3"]["lead"] == ["Cổng Giao tiếp điện tử Hà Nội", "Sở Thông tin và Truyền thông"]
    assert tasks["I.6"]["coordinating"] == [
        "Sở Ngoại vụ",
        "Sở Du lịch",
        "Sở Văn hóa và Thể thao",
        "Trung tâm Xúc tiến Đầu tư, Thương mại, Du lịch",
    ]
    assert tasks["I.6"]["timeframe"] == {"text": "Quý IV/2020", "start": "2020-10-01", "end": "2020-12-31"}
    assert tasks["I.8"]["timeframe"] == {
        "text": "Quý III, IV/2020",
        "start": "2020-07-01",
        "end": "2020-12-31",
    }
    assert tasks["I.4"]["coordinating"] == ["Ban Tuyên giáo Thành ủy"]
    assert tasks["VII.2"]["lead"] == ["Cơ quan Hợp tác Quốc tế Nhật Bản", "Sở Giao thông Vận tải"]
    assert tasks["X.5"]["responsible"] is None
    assert all(t["timeframe"]["start"] and t["timeframe"]["end"] for t in tasks.values())


async def test_an_empty_lead_cell_falls_back_to_the_sections_agency_and_the_report_says_so(
    db, reference_plan
):
    report = await import_file(db, reference_plan)
    tasks = tasks_of(await document(db))
    assert [tasks[c]["lead"] for c in ("II.3", "II.4", "XII.2")] == [
        ["Sở Ngoại vụ"],
        ["Sở Ngoại vụ"],
        ["Viện Nghiên cứu phát triển kinh tế - xã hội Hà Nội"],
    ]
    expected = [
        "II.3: no lead agency given; the section's agency, Sở Ngoại vụ, is taken as lead",
        "II.4: no lead agency given; the section's agency, Sở Ngoại vụ, is taken as lead",
        "XII.2: no lead agency given; the section's agency, Viện Nghiên cứu phát triển kinh tế - xã hội Hà Nội, "
        "is taken as lead",
    ]
    assert [str(w) for w in report.warnings] == expected
    async with db.snapshot() as session:
        lead_text = await session.scalar(select(Task.lead_text).where(Task.code == "II.3"))
    assert lead_text == ""


async def test_every_spelling_of_an_agency_in_the_reference_lands_on_one_row(db, reference_plan):
    await import_file(db, reference_plan)
    async with db.snapshot() as session:
        names = list(await session.scalars(select(Agency.name).order_by(Agency.id)))
    # One row each although the plan writes, among others: Sở VHHT / Sở Văn hóa và Thể thao / SỞ VĂN HÓA
    # VÀ THỂ THAO; Công an thành phố Hà Nội / CÔNG AN THÀNH PHỐ HÀ NỘI; Trung tâm XTĐTMDL / Trung tâm Xúc
    # tiến Đầu tư, Thương mại, Du lịch; "Công Giao tiếp điện tử" (sic) / Cổng Giao tiếp điện tử.
    expected = [
        "Sở Thông tin và Truyền thông",
        "Đài Tiếng nói Việt Nam",
        "Đài Truyền hình Việt Nam",
        "Thông tấn xã Việt Nam",
        "Cổng thông tin điện tử Chính phủ",
        "Cổng Giao tiếp điện tử Hà Nội",
        "Ban Tuyên giáo Thành ủy",
        "Sở Ngoại vụ",
        "Sở Du lịch",
        "Sở Văn hóa và Thể thao",
        "Trung tâm Xúc tiến Đầu tư, Thương mại, Du lịch",
        "Trung tâm Đào tạo CNTT & Truyền thông",
        "Sở Nội vụ",
        "Phòng Văn hóa và Thông tin quận, huyện, thị xã",
        "Đoàn thanh niên Sở VHTT",
        "Đoàn thanh niên quốc tế",
        "Sở Tài chính",
        "Sở Công Thương",
        "Sở Giao thông Vận tải",
        "Cơ quan Hợp tác Quốc tế Nhật Bản",
        "Sở Tài nguyên và Môi trường",
        "Công an Thành phố",
        "Báo An ninh Thủ đô",
        "Truyền hình Vì an ninh Tổ quốc",
        "Trang thông tin điện tử của Công an Thành phố",
        "Liên hiệp các tổ chức hữu nghị Thành phố",
        "Viện Nghiên cứu phát triển kinh tế - xã hội Hà Nội",
    ]
    assert names == expected


# --- Idempotence and revisions ------------------------------------------------------------------


async def test_importing_the_same_plan_twice_changes_nothing(db):
    first = await import_file(db, SAMPLE_PLAN)
    before = await dump(db)
    again = await import_file(db, SAMPLE_PLAN)
    after = await dump(db)
    assert (first.status, again.status) == (CREATED, UNCHANGED)
    assert not again.changes and again.new_agencies == []
    assert after == before


@pytest.mark.parametrize("write", [write_docx, write_xlsx, write_csv], ids=["docx", "xlsx", "csv"])
async def test_the_same_plan_from_word_excel_or_csv_imports_to_the_same_rows(db, tmp_path, write):
    await import_file(db, SAMPLE_PLAN)
    before = await dump(db)
    other = write(SAMPLE_PLAN, tmp_path / f"ke-hoach-mau.{write.__name__.split('_')[1]}")
    report = await import_file(db, other)
    assert report.status == UNCHANGED
    assert await dump(db) == before


@pytest.mark.parametrize("write", [write_docx, write_xlsx, write_csv], ids=["docx", "xlsx", "csv"])
async def test_a_plan_imported_first_from_word_excel_or_csv_reads_like_the_text(db, tmp_path, write):
    other = write(SAMPLE_PLAN, tmp_path / f"plan.{write.__name__.split('_')[1]}")
    report = await import_file(db, other)
    doc = await document(db)
    assert (report.status, report.sections, report.tasks) == (CREATED, 7, 30)
    assert doc["reporting_deadlines"] == ["2021-06-15", "2021-11-15"]
    assert tasks_of(doc)["IV.2"]["timeframe"] == {
        "text": "Từ 01/7 đến 31/12/2021",
        "start": "2021-07-01",
        "end": "2021-12-31",
    }


def revise(text: str) -> str:
    """The sample plan as a revised edition: one deadline moved, a task reworded, one dropped, one added,
    one renumbered, one lead changed."""
    text = text.replace("trước ngày 15/6 và 15/11", "trước ngày 15/6 và 30/11")
    text = text.replace(
        "Tập huấn kỹ năng số cho cán bộ, công chức cấp xã.", "Tập huấn kỹ năng số cho cán bộ cấp xã."
    )
    lines = text.split("\n")
    # Drop II.3, so II.4 becomes II.3 (same content: a renumbering, not a rewrite).
    lines = [line for line in lines if not line.startswith("3\tĐưa tiêu chí về chuyển đổi số")]
    lines = [line.replace("4\tĐưa nội dung kỹ năng số", "3\tĐưa nội dung kỹ năng số") for line in lines]
    lines = [
        line.replace("\tQuý III/2021\tĐài PT&TH tỉnh\t", "\tQuý IV/2021\tĐài PT&TH tỉnh\t") for line in lines
    ]
    lines = [
        line.replace(
            "\tCả năm\tCông an tỉnh\tSở Thông tin và Truyền thông\t",
            "\tCả năm\tCông an tỉnh, Sở Thông tin và Truyền thông\tSở Thông tin và Truyền thông\t",
        )
        for line in lines
    ]
    last = lines.index(
        next(line for line in lines if line.startswith("4\tBáo cáo kết quả chuyển đổi số cấp huyện"))
    )
    lines.insert(
        last + 1,
        "5\tTổng kết mô hình Xã thông minh.\tQuý IV/2021\tUBND huyện Lam Sơn\t\tChủ tịch UBND huyện Lam Sơn",
    )
    return "\n".join(lines)


async def test_a_revised_plan_updates_in_place_and_reports_what_changed(db, tmp_path):
    await import_file(db, SAMPLE_PLAN)
    async with db.snapshot() as session:
        ids_before = dict((await session.execute(select(Task.code, Task.id))).all())
    revised = tmp_path / "ke-hoach-mau-sua-doi.txt"
    revised.write_text(revise(SAMPLE_PLAN.read_text(encoding="utf-8")), encoding="utf-8")
    report = await import_file(db, revised)
    changes = report.changes
    assert report.status == UPDATED
    assert (changes.deadlines_before, changes.deadlines_after) == (
        ["2021-06-15", "2021-11-15"],
        ["2021-06-15", "2021-11-30"],
    )
    assert changes.tasks_added == ["VII.5"]
    assert changes.tasks_removed == ["II.3"]
    expected_changed = [
        ("I.5", ["content"], None),
        ("II.3", ["number"], "II.4"),
        ("V.2", ["lead"], None),
        ("VI.2", ["timeframe"], None),
    ]
    assert [(c.code, c.fields, c.before_code) for c in changes.tasks_changed] == expected_changed
    async with db.snapshot() as session:
        ids_after = dict((await session.execute(select(Task.code, Task.id))).all())
        plans = await session.scalar(select(func.count(Plan.id)))
    # The renumbered task kept its row (and so its progress updates); the reworded one too.
    assert ids_after["II.3"] == ids_before["II.4"]
    assert ids_after["I.5"] == ids_before["I.5"]
    assert plans == 1
    doc = await document(db)
    assert doc["reporting_deadlines"] == ["2021-06-15", "2021-11-30"]
    assert tasks_of(doc)["V.2"]["lead"] == ["Công an tỉnh", "Sở Thông tin và Truyền thông"]
    assert tasks_of(doc)["VI.2"]["timeframe"]["start"] == "2021-10-01"


async def test_a_task_removed_by_a_revision_is_archived_with_its_progress_updates(db, tmp_path):
    await import_file(db, SAMPLE_PLAN)
    async with db.transaction() as session:
        task = await session.scalar(select(Task).where(Task.code == "II.3"))
        removed_id = task.id
        session.add(
            ProgressUpdate(
                task_id=task.id, agency_id=task.links[0].agency_id, status="in_progress", cycle=D(2021, 6, 15)
            )
        )
    revised = tmp_path / "sua-doi.txt"
    revised.write_text(revise(SAMPLE_PLAN.read_text(encoding="utf-8")), encoding="utf-8")
    report = await import_file(db, revised)

    assert report.changes.updates_kept == 1
    async with db.snapshot() as session:
        archived = await session.get(Task, removed_id)
        kept = (await session.scalars(select(ProgressUpdate.task_id))).all()
    assert archived.archived_at is not None
    assert archived.code == "II.3"
    assert kept == [removed_id]
    # The task the file now numbers II.3 is a live task of its own; the archived one is not listed.
    codes = list(tasks_of(await document(db)))
    assert codes.count("II.3") == 1


async def test_importing_the_revised_file_again_changes_nothing_and_keeps_the_archive(db, tmp_path):
    await import_file(db, SAMPLE_PLAN)
    revised = tmp_path / "sua-doi.txt"
    revised.write_text(revise(SAMPLE_PLAN.read_text(encoding="utf-8")), encoding="utf-8")
    await import_file(db, revised)
    again = await import_file(db, revised)
    assert again.status == UNCHANGED
    async with db.snapshot() as session:
        archived = (await session.scalars(select(Task.code).where(Task.archived_at.is_not(None)))).all()
    assert archived == ["II.3"]


async def test_an_appendix_on_its_own_updates_tasks_but_keeps_the_stored_deadlines(db, tmp_path):
    await import_file(db, SAMPLE_PLAN)
    text = SAMPLE_PLAN.read_text(encoding="utf-8")
    appendix = text[text.index("**PHỤ LỤC**") :].replace("\tQuý II/2021\t", "\tQuý III/2021\t")
    path = tmp_path / "phu-luc.txt"
    path.write_text(appendix, encoding="utf-8")
    report = await import_file(db, path)
    assert report.status == UPDATED
    assert [(c.code, c.fields) for c in report.changes.tasks_changed] == [("IV.5", ["timeframe"])]
    assert report.changes.deadlines_after is None
    assert (await document(db))["reporting_deadlines"] == ["2021-06-15", "2021-11-15"]


# --- Bad files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        "Biên bản họp giao ban.\n".encode(),
        SAMPLE_PLAN.read_text(encoding="utf-8").encode("latin-1", "replace"),
        SAMPLE_PLAN.read_bytes()[:-200],
        b"\x00\x01\x02binary" * 50,
    ],
    ids=["empty", "not a plan", "wrong encoding", "truncated", "binary"],
)
async def test_a_bad_file_leaves_the_database_exactly_as_it_was(db, tmp_path, content):
    await import_file(db, SAMPLE_PLAN)
    before = await dump(db)
    bad = tmp_path / "ke-hoach.txt"
    bad.write_bytes(content)
    with pytest.raises(PlanFormatError):
        await import_file(db, bad)
    assert await dump(db) == before


async def test_a_failure_half_way_through_an_import_rolls_everything_back(db, tmp_path):
    await import_file(db, SAMPLE_PLAN)
    before = await dump(db)
    revised = tmp_path / "sua-doi.txt"
    revised.write_text(revise(SAMPLE_PLAN.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await import_plan_file(session, revised)
            raise RuntimeError("the process is stopped after the writes, before the commit")
    assert await dump(db) == before


async def test_a_file_issued_another_year_under_the_same_number_and_year_is_refused(db, tmp_path):
    await import_file(db, SAMPLE_PLAN)
    before = await dump(db)
    next_year = tmp_path / "ke-hoach-45-2022.txt"
    text = SAMPLE_PLAN.read_text(encoding="utf-8").replace("tháng **3** năm 2021", "tháng **1** năm 2022")
    next_year.write_text(text, encoding="utf-8")
    with pytest.raises(PlanFormatError) as caught:
        await import_file(db, next_year)
    expected = (
        "plan 45/KH-UBND of 15/3/2021 is already imported, and this file is a different plan with the same "
        "number and year (issued 15/1/2022); nothing was imported"
    )
    assert str(caught.value) == expected
    assert await dump(db) == before


async def test_next_years_plan_with_the_same_number_is_a_second_plan_beside_the_first(db, tmp_path):
    first = await import_file(db, SAMPLE_PLAN)
    next_year = tmp_path / "ke-hoach-45-2022.txt"
    text = SAMPLE_PLAN.read_text(encoding="utf-8").replace("năm 2021", "năm 2022").replace("/2021", "/2022")
    next_year.write_text(text, encoding="utf-8")
    second = await import_file(db, next_year)
    assert second.status == CREATED
    assert second.plan_id != first.plan_id
    async with db.snapshot() as session:
        plans = sorted((p.number, p.year, p.issuer) for p in await list_plans(session))
    expected = [("45/KH-UBND", 2021, "UBND tỉnh Lam Giang"), ("45/KH-UBND", 2022, "UBND tỉnh Lam Giang")]
    assert plans == expected
    # Importing the first year's file again is still the idempotent re-import.
    again = await import_file(db, SAMPLE_PLAN)
    assert (again.status, again.plan_id) == (UNCHANGED, first.plan_id)


# --- Reading plans back -------------------------------------------------------------------------


async def test_a_plan_is_found_by_its_number_spelt_loosely_or_by_its_digits(db, reference_plan):
    await import_file(db, SAMPLE_PLAN)
    await import_file(db, reference_plan)
    async with db.snapshot() as session:
        found = [(await get_plan(session, n)).number for n in ("45/KH-UBND", "45/kh-ubnd", "45", "87")]
        missing = await get_plan(session, "99")
        listing = [(p.number, p.sections, p.tasks) for p in await list_plans(session)]
    assert found == ["45/KH-UBND", "45/KH-UBND", "45/KH-UBND", "87/KH-UBND"]
    assert missing is None
    assert listing == [("45/KH-UBND", 7, 30), ("87/KH-UBND", 12, 64)]


async def test_configured_extra_deadlines_join_the_plans_own(db):
    await import_file(db, SAMPLE_PLAN)
    async with db.snapshot() as session:
        plan = await get_plan(session)
        days = reporting_deadlines(plan, ["09-30", "06-15"])
        doc = plan_document(plan, ["09-30"])
    assert days == [D(2021, 6, 15), D(2021, 9, 30), D(2021, 11, 15)]
    assert doc["reporting_deadlines"] == ["2021-06-15", "2021-09-30", "2021-11-15"]


async def test_the_quick_start_imports_the_sample_only_into_an_empty_database(db):
    first = await import_file_if_empty(db, SAMPLE_PLAN)
    second = await import_file_if_empty(db, SAMPLE_PLAN)
    assert first.status == CREATED
    assert second is None
