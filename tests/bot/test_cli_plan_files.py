"""`nhacviec plan import` with a PDF, a scan and a file past the configured limits: what the person
importing reads, in Vietnamese by default, and a database left as it was."""

from __future__ import annotations

import pytest

from tests.bot.test_cli_plan import cli_env, db_path, english, rows, run  # noqa: F401 (fixtures)
from tests.conftest import SAMPLE_PLAN
from tests.office import soffice
from tests.pdf_files import scanned_pdf
from tests.plan_files import write_pdf


@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) prints the test PDF; CI installs it")
def test_the_signed_pdf_imports_like_the_text_and_says_the_same(capsys, db_path, english, tmp_path):  # noqa: F811
    pdf = write_pdf(SAMPLE_PLAN, tmp_path / "ke-hoach-45.pdf", landscape=True)
    code, out, _err = run(capsys, db_path, "plan", "import", str(pdf), config=english)
    assert code == 0
    _code, expected, _err = run(
        capsys, tmp_path / "from-text.db", "plan", "import", str(SAMPLE_PLAN), config=english
    )
    assert out == expected
    assert out.splitlines()[0] == (
        "Imported plan 45/KH-UBND: Triển khai chuyển đổi số và truyền thông chính sách năm 2021"
    )
    code, out, _err = run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=english)
    assert out.splitlines()[0] == "Plan 45/KH-UBND is unchanged: this file holds nothing new."


def test_a_scan_is_refused_in_vietnamese_with_what_to_import_instead(capsys, db_path, tmp_path):  # noqa: F811
    run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN))
    before = rows(db_path)
    scan = tmp_path / "ke-hoach-scan.pdf"
    scan.write_bytes(scanned_pdf())
    code, out, err = run(capsys, db_path, "plan", "import", str(scan))
    assert code == 1
    assert out == ""
    assert (
        "ke-hoach-scan.pdf không có lớp chữ: đây là ảnh quét, không đọc được (không hỗ trợ nhận dạng chữ "
        "OCR); hãy nhập tệp Word (.docx) hoặc Excel (.xlsx) của kế hoạch"
    ) in err
    assert rows(db_path) == before


def test_the_limits_come_from_the_plan_section_of_the_configuration(capsys, db_path, tmp_path):  # noqa: F811
    config = tmp_path / "config.toml"
    config.write_text('[i18n]\ndefault_language = "en"\n[plan]\nmax_table_rows = 40\n', encoding="utf-8")
    code, out, err = run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=str(config))
    assert code == 1
    assert (
        "ke-hoach-mau.txt has more than 40 table rows, more than the import allows ([plan] max_table_rows)"
        in err
    )
    assert "Nothing was imported; the database is unchanged." in err


def test_a_limit_below_its_floor_is_a_configuration_error(capsys, db_path, tmp_path):  # noqa: F811
    config = tmp_path / "config.toml"
    config.write_text("[plan]\nmax_megabytes = 0\n", encoding="utf-8")
    code, _out, err = run(capsys, db_path, "plan", "import", str(SAMPLE_PLAN), config=str(config))
    assert code != 0
    assert "max_megabytes" in err
