"""`nhacviec report …`, run in-process against a SQLite file holding the sample plan."""

from __future__ import annotations

import io
import json

import docx
import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.cli.report import ProgressDisplay
from tests.conftest import SAMPLE_PLAN


@pytest.fixture(autouse=True)
def cli_env(monkeypatch, tmp_path):
    for name in ("NHACVIEC_CONFIG", "NHACVIEC_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def database(tmp_path, capsys) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nhacviec.db'}"
    assert main(["--db", url, "plan", "import", str(SAMPLE_PLAN)]) == 0
    capsys.readouterr()
    return url


def run(capsys, database, *args):
    code = main(["--db", database, "report", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_report_writes_the_draft_docx_for_a_cycle(capsys, database, tmp_path):
    target = tmp_path / "bao-cao.docx"
    code, out, _err = run(capsys, database, "--cycle", "2021-06-15", "--format", "docx", "-o", str(target))

    assert code == 0
    assert (
        out.strip()
        == f"Đã ghi {target}: 30 nhiệm vụ, 0/9 đơn vị đã báo cáo ({round(target.stat().st_size / 1024)} KB)."
    )
    document = docx.Document(io.BytesIO(target.read_bytes()))
    # Addressed to the plan's issuing body; the period on the line after.
    assert [p.text for p in document.paragraphs if p.text][2:4] == [
        "Kính gửi: UBND tỉnh Lam Giang",
        "Kỳ báo cáo: từ 1/1/2021 đến 15/6/2021",
    ]


def test_a_cycle_is_given_the_way_the_chat_takes_it(capsys, database, tmp_path):
    code, _out, err = run(capsys, database, "--cycle", "15/11", "--format", "xlsx")

    assert code == 0, err
    assert (tmp_path / "bao-cao-45-KH-UBND-2021-11-15.xlsx").exists()


def test_report_names_the_file_after_the_plan_and_cycle_when_no_output_is_given(capsys, database, tmp_path):
    code, _out, _err = run(capsys, database, "--plan", "45", "--cycle", "2021-11-15", "--format", "xlsx")

    written = tmp_path / "bao-cao-45-KH-UBND-2021-11-15.xlsx"
    assert code == 0
    assert load_workbook(written).worksheets[0].max_row == 31


def test_report_covers_a_date_range_and_can_write_json_to_standard_output(capsys, database):
    code, out, _err = run(
        capsys, database, "--from", "2021-03-01", "--to", "2021-03-31", "--format", "json", "-o", "-"
    )

    assert code == 0
    data = json.loads(out)
    assert data["period"]["cycle"] is None
    assert (data["period"]["start"], data["period"]["end"]) == ("2021-03-01", "2021-03-31")
    assert data["tasks_total"] == 30


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--format", "pdf"],
            "nhacviec: không có định dạng 'pdf': hãy dùng một trong các định dạng docx, xlsx, csv, md, json, zip",
        ),
        (
            ["--format", "docx", "--cycle", "2021-06-16"],
            "nhacviec: 16/6/2021 không phải là hạn báo cáo của Kế hoạch 45/KH-UBND; các hạn báo cáo là 15/6/2021, 15/11/2021",
        ),
        (
            ["--format", "docx", "--cycle", "15/6/21x"],
            "nhacviec: --cycle '15/6/21x' không phải là ngày: hãy viết 20/6, 20/6/2020 hoặc 2020-06-20",
        ),
        (["--format", "md", "--from", "2021-03-01"], "nhacviec: khoảng thời gian cần cả --from và --to"),
        (
            ["--format", "md", "--plan", "99"],
            # The message names what was asked, then lists the plans there are.
            "  #1 45/KH-UBND (2021) · đã kết thúc · Triển khai chuyển đổi số và truyền thông chính sách năm 2021",
        ),
        (
            ["--format", "md", "--cycle", "2021-06-15", "--from", "2021-03-01", "--to", "2021-03-02"],
            "nhacviec: chỉ dùng --cycle, hoặc --from cùng --to, không dùng cả hai",
        ),
    ],
)
def test_bad_options_get_a_clear_message_and_exit_status_1(capsys, database, tmp_path, args, expected):
    code, out, err = run(capsys, database, *args)

    assert code == 1
    # The message, possibly followed by what there is to choose from (the plans, for --plan).
    assert expected in err.strip().splitlines()
    assert list(tmp_path.glob("bao-cao-*")) == []


def test_messages_follow_the_language_asked_for(capsys, database, tmp_path):
    code, out, _err = run(
        capsys, database, "--lang", "en", "--cycle", "2021-06-15", "--format", "md", "-o", "r.md"
    )

    assert code == 0
    assert out.startswith("Wrote r.md: 30 tasks, 0/9 agencies reported")
    assert (
        (tmp_path / "r.md")
        .read_text(encoding="utf-8")
        .startswith("# Results of carrying out Plan No. 45/KH-UBND")
    )


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (["--lang", "en"], [], "Wrote r.md: 30 tasks"),
        ([], ["--lang", "en"], "Wrote r.md: 30 tasks"),
        (["--lang", "en"], ["--lang", "vi"], "Đã ghi r.md: 30 nhiệm vụ"),
        ([], [], "Đã ghi r.md: 30 nhiệm vụ"),
    ],
)
def test_the_global_language_holds_unless_the_report_names_its_own(capsys, database, before, after, expected):
    # The report's own --lang once defaulted to nothing and so overwrote the global one.
    code = main(
        ["--db", database, *before, "report", "--cycle", "2021-06-15", "--format", "md", "-o", "r.md", *after]
    )

    assert code == 0
    assert capsys.readouterr().out.startswith(expected)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_large_export_shows_a_bar_on_a_terminal_and_percentages_elsewhere():
    terminal, log = FakeTerminal(), io.StringIO()
    bar, plain = ProgressDisplay(terminal), ProgressDisplay(log)
    for done in range(0, 2001, 250):
        bar(done, 2000)
        plain(done, 2000)

    assert terminal.getvalue().split("\r")[-1] == "[##############################] 100% 2.000/2.000\n"
    assert log.getvalue().splitlines() == ["0%", "10%", "20%", "30%", "50%", "60%", "70%", "80%", "100%"]


def test_a_small_export_shows_no_progress():
    log = io.StringIO()
    display = ProgressDisplay(log)
    display(30, 64)
    display(64, 64)

    assert log.getvalue() == ""
