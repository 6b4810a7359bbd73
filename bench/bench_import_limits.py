"""What a plan file can cost: time and peak memory of reading hostile and large plan files.

Each file is read by `parse_plan_file` in a fresh process, so that its peak resident memory is its
own: the figure printed is that process's peak RSS and, for a PDF, the peak of the child process that
reads it. The target is under 300 MB for any input, and time linear in the size of the file. The
hostile files are the ones the tests reproduce (tests/hostile_files.py, tests/pdf_files.py); the
large PDF is a generated plan of about 200 pages printed by LibreOffice (skipped without it).

    python bench/bench_import_limits.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine  # noqa: E402


def _one(path: str, limits_json: str) -> None:
    """In the measured process: read one file, print the outcome and the figures."""
    from storage.plans.limits import ImportLimits
    from storage.plans.notices import PlanFormatError
    from storage.plans.parser import parse_plan_file

    started = time.perf_counter()
    try:
        plan = parse_plan_file(path, ImportLimits(**json.loads(limits_json)))
        outcome = f"read: {len(plan.tasks)} tasks"
    except PlanFormatError as exc:
        outcome = "refused: " + str(exc).replace(str(Path(path).parent) + "/", "")[:110]
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forked parent, so a small
    # process started by a large one would report the large one's size. The PDF reader's figure is
    # ru_maxrss (all there is for a child): an upper bound, this process's size at the fork included.
    own = next(
        int(line.split()[1]) / 1024
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    child = children.ru_maxrss / 1024
    print(json.dumps({"outcome": outcome, "seconds": seconds, "cpu": cpu, "rss": own, "child_rss": child}))


def measure(path: Path, **limits: int) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--one", str(path), json.dumps(limits)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        return {
            "outcome": "CRASHED: " + done.stderr.strip().splitlines()[-1],
            "seconds": 0,
            "rss": 0,
            "child_rss": 0,
        }
    return json.loads(done.stdout)


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def docx_of_rows(folder: Path, rows: int) -> Path:
    """A Word plan whose appendix has `rows` task rows (the row limit's worth), written as a stream."""
    from tests import hostile_files as hostile

    def body():
        yield "<w:p><w:r><w:t>Số: 99/KH-UBND</w:t></w:r></w:p>".encode()
        yield "<w:p><w:r><w:t>KẾ HOẠCH</w:t></w:r></w:p><w:p><w:r><w:t>Chuyển đổi số năm 2021</w:t></w:r></w:p>".encode()

        def row(cells):
            return (
                "<w:tr>"
                + "".join(f"<w:tc><w:p><w:r><w:t>{c}</w:t></w:r></w:p></w:tc>" for c in cells)
                + "</w:tr>"
            )

        yield ("<w:tbl>" + row(["TT", "Nội dung", "Tiến độ", "Cơ quan chủ trì", "Cơ quan phối hợp"])).encode()
        from bench.bench_plan_import import roman

        batch = []
        for n in range(rows - 1):
            if n % 1000 == 0:  # a section every thousand rows: task numbers have at most four digits
                batch.append(row([roman(n // 1000 + 1), f"BAN QUẢN LÝ SỐ {n // 1000 + 1}", "", "", ""]))
                continue
            batch.append(
                row(
                    [
                        str(n % 1000),
                        f"Nhiệm vụ {n}: triển khai và báo cáo.",
                        "Quý IV/2021",
                        "Sở Tài chính",
                        "Sở Nội vụ",
                    ]
                )
            )
            if len(batch) >= 1000:
                yield "".join(batch).encode()
                batch = []
        yield ("".join(batch) + "</w:tbl>").encode()

    base = folder / "base.docx"
    if not base.exists():
        from tests.conftest import SAMPLE_PLAN
        from tests.plan_files import write_docx

        write_docx(SAMPLE_PLAN, base)
    return hostile._replace_part(
        base, folder / f"dong-{rows}.docx", "word/document.xml", hostile._document(body())
    )


def large_pdf(folder: Path, sections: int, tasks: int) -> Path | None:
    from bench.bench_plan_import import large_plan
    from tests.plan_files import soffice, write_pdf

    if soffice() is None:
        return None
    text = large_plan(folder / "lon.txt", sections, tasks)
    return write_pdf(text, folder / "lon.pdf", one_table=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--quick", action="store_true", help="skip the 200-page PDF (LibreOffice takes a minute)"
    )
    args = parser.parse_args()

    from tests import hostile_files as hostile
    from tests.conftest import SAMPLE_PLAN
    from tests.pdf_files import inflating_pdf, many_pages

    print(f"# {machine()}")
    print(f"{'file':<46} {'on disk':>9} {'wall':>7} {'CPU':>7} {'peak RSS':>9} {'PDF child':>9}  outcome")
    with tempfile.TemporaryDirectory() as tmp:
        made = iter(range(1000))

        def folder_() -> Path:
            # A folder per file: the generators use fixed names.
            path = Path(tmp) / str(next(made))
            path.mkdir()
            return path

        folder = Path(tmp)
        cases: list[tuple[str, Path, dict]] = [
            ("sample plan, text", SAMPLE_PLAN, {}),
            (
                "CSV, 19,000 continuation rows",
                _write(folder, "a.csv", hostile.csv_with_continuation_rows(19_000)),
                {},
            ),
            (
                "CSV, 100,000 continuation rows (limit raised)",
                _write(folder, "b.csv", hostile.csv_with_continuation_rows(100_000)),
                {"max_table_rows": 200_000},
            ),
            (
                "CSV, 1,000,000 continuation rows",
                _write(folder, "c.csv", hostile.csv_with_continuation_rows(1_000_000)),
                {},
            ),
            ("DOCX expanding to 300 MB", hostile.docx_expanding_to(folder_(), 300), {}),
            (
                "DOCX of 8M empty paragraphs (48 MB)",
                hostile.docx_of_empty_paragraphs(folder_(), 8_000_000),
                {},
            ),
            (
                "DOCX of 10M empty paragraphs (60 MB)",
                hostile.docx_of_empty_paragraphs(folder_(), 10_000_000),
                {},
            ),
            ("DOCX lying about its size (100 MB)", hostile.docx_lying_about_its_size(folder_(), 100), {}),
            ("DOCX, 19,990-row appendix", docx_of_rows(folder_(), 19_990), {}),
            ("XLSX with a DTD", hostile.xlsx_with_a_dtd(folder_()), {}),
            ("XLSX declaring 10 rows, holding all", hostile.xlsx_declaring_fewer_rows(folder_()), {}),
            ("XLSX of 1,000,000 rows", hostile.xlsx_of_rows(folder_(), 1_000_000), {}),
            ("PDF inflating to 400 MB", _write(folder, "bom.pdf", inflating_pdf(400)), {}),
            ("PDF of 600 pages", _write(folder, "trang.pdf", many_pages(600)), {}),
        ]
        if not args.quick:
            pdf = large_pdf(folder, 30, 40)
            if pdf is not None:
                cases.append(("PDF, generated plan of 1,200 tasks", pdf, {}))
        for label, path, limits in cases:
            figures = measure(path, **limits)
            size = path.stat().st_size / 1024
            pages = ""
            if path.suffix == ".pdf" and "1,200" in label:
                import pdfplumber

                with pdfplumber.open(path) as document:
                    pages = f" ({len(document.pages)} pages)"
            print(
                f"{label + pages:<46} {size:>7.0f}KB {figures['seconds']:>6.2f}s {figures['cpu']:>6.2f}s "
                f"{figures['rss']:>7.0f}MB "
                f"{figures['child_rss']:>7.0f}MB  {figures['outcome']}"
            )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        _one(sys.argv[2], sys.argv[3])
    else:
        main()
