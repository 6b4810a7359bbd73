"""`nhacviec report [--plan NUMBER] [--cycle YYYY-MM-DD | --from D --to D] --format FMT -o FILE`

Writes the summary of a reporting cycle (by default the one holding today) or of a date range as a
draft official report (docx), a workbook (xlsx), csv, Markdown or JSON. `-o -` writes to standard
output. Large exports show their progress on standard error: a bar on a terminal, a percentage
every tenth otherwise. Messages are in `--lang`, else the configured language.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.cli import CommandError
from bot.cli.dates import day_option
from bot.cli.plan_choice import add_plan_arguments, chosen_plan
from bot.evidence import open_store
from bot.i18n import LANGUAGES, _, format_number, format_short_day, use_language
from bot.render.exports import (
    FORMATS,
    UnknownFormat,
    letterhead_from_config,
    normalize_format,
    render_summary,
)
from storage.cycles import cycle_for, reporting_deadlines
from storage.plans.lifecycle import judging_day
from storage.plans.repository import extra_deadline_dates, load_plan
from storage.summary import ALL, build_summary

# Exports of fewer tasks than this finish before a progress display would be worth reading.
PROGRESS_FROM_TASKS = 500
BAR_WIDTH = 30


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report", help="write the summary of a reporting cycle as docx, xlsx, csv, md or json"
    )
    add_plan_arguments(parser)
    parser.add_argument(
        "--cycle",
        metavar="DAY",
        help="a reporting deadline (20/6, 20/6/2020 or 2020-06-20) of the plan (default: the current cycle)",
    )
    parser.add_argument("--from", dest="start", metavar="DAY", help="first day of a date range (with --to)")
    parser.add_argument("--to", dest="end", metavar="DAY", help="last day of a date range (with --from)")
    parser.add_argument("--format", dest="fmt", required=True, metavar="FORMAT", help=" | ".join(FORMATS))
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="file to write, or - for standard output (default: a name like bao-cao-87-KH-UBND-2020-06-20.docx)",
    )
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        # Not set unless given here: a default of its own would overwrite the global `--lang`.
        default=argparse.SUPPRESS,
        help="language of the report (default: the global --lang, else [i18n] default_language)",
    )
    parser.set_defaults(handler=_report)


class ProgressDisplay:
    """progress(done, total) on a stream: a redrawn bar on a terminal, else a line per tenth."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.tty = stream.isatty()
        self.shown_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        if total < PROGRESS_FROM_TASKS:
            return
        share = done / total if total else 1.0
        if self.tty:
            filled = round(share * BAR_WIDTH)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            counts = f"{format_number(done)}/{format_number(total)}"
            self.stream.write(f"\r[{bar}] {share:4.0%} {counts}")
            if done >= total:
                self.stream.write("\n")
        else:
            tenth = int(share * 10)
            if tenth > self.shown_tenth:
                self.shown_tenth = tenth
                self.stream.write(f"{tenth * 10}%\n")
        self.stream.flush()


async def _report(app, args) -> int:
    language = args.lang or app.config.i18n.default_language
    with use_language(language):
        try:
            fmt = normalize_format(args.fmt)
        except UnknownFormat:
            raise CommandError(
                _("unknown format {given!r}: use one of {formats}").format(
                    given=args.fmt, formats=", ".join(FORMATS)
                )
            ) from None
        if args.cycle and (args.start or args.end):
            raise CommandError(_("give either --cycle or --from and --to, not both"))
        if (args.start is None) != (args.end is None):
            raise CommandError(_("a date range needs both --from and --to"))

        tz = app.config.tz
        today = app.clock.now().astimezone(tz).date()
        async with app.db.snapshot() as session:
            plan = await load_plan(session, (await chosen_plan(app, session, args)).id)
            extra = extra_deadline_dates(plan.years, app.config.plan.extra_reporting_deadlines)
            # An ended plan reads as it stood when it ended, a closed one as on the day it was closed.
            today = judging_day(plan, today, grace_days=app.config.plan.grace_days, extra=extra, tz=tz)
            # Days without a year ("20/6") fall in the plan's year, as in the chat's /xuat.
            cycle = day_option(args.cycle, "--cycle", year=plan.year)
            start = day_option(args.start, "--from", year=plan.year)
            end = day_option(args.end, "--to", year=plan.year)
            if start and end and start > end:
                raise CommandError(_("--from must not be after --to"))
            deadlines = reporting_deadlines(plan, extra)
            if cycle is not None and cycle not in deadlines:
                raise CommandError(
                    _("{day} is not a reporting deadline of plan {number}; its deadlines are {days}").format(
                        day=format_short_day(cycle),
                        number=plan.number,
                        days=", ".join(format_short_day(day) for day in deadlines),
                    )
                )
            if cycle is None and start is None:
                cycle = cycle_for(plan, today, extra=extra)
            try:
                summary = await build_summary(
                    session,
                    plan.id,
                    cycle=cycle,
                    start=start,
                    end=end,
                    today=today,
                    tz=tz,
                    extra_deadlines=extra,
                    co_lead_rule=app.config.report.co_lead_done,
                    detail=ALL,
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from None

        document = render_summary(
            summary,
            fmt,
            language=language,
            tz=tz,
            letterhead=letterhead_from_config(app.config),
            progress=ProgressDisplay(sys.stderr),
            evidence_store=open_store(app.config),
        )
        if args.output == "-":
            sys.stdout.buffer.write(document.content)
            sys.stdout.flush()
            return 0
        target = Path(args.output or document.filename)
        try:
            await asyncio.to_thread(target.write_bytes, document.content)
        except OSError as exc:
            raise CommandError(
                _("cannot write {file}: {reason}").format(file=target, reason=exc.strerror)
            ) from None
        print(
            _("Wrote {file}: {tasks} tasks, {reported}/{expected} agencies reported ({size} KB).").format(
                file=target,
                tasks=format_number(summary.total),
                reported=format_number(len(summary.reported_agencies)),
                expected=format_number(len(summary.expected_agencies)),
                size=format_number(max(1, round(len(document.content) / 1024))),
            )
        )
    return 0
