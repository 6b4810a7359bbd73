"""One call from a summary to a file: what `/xuat docx|xlsx` sends and `nhacviec report` writes.

    document = await export_summary(session, plan.id, "docx", cycle=cycle, today=today, language="vi")
    Reply(text, documents=[document])

Formats: docx (the draft official report), xlsx, csv, md, json, and zip (the DOCX, the XLSX and the
evidence files per agency). The chart that goes with `/tonghop`
is `chart_image(summary)`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.core.messages import Document, Image
from bot.evidence import Store
from bot.i18n import DEFAULT_LANGUAGE, _, use_language
from bot.render import json_report, tables
from bot.render.report_rows import Progress, export_stem, period_text
from storage.progress_rules import ALL_LEADS
from storage.summary import ALL, DEFAULT_TZ, Summary, build_summary

# python-docx, openpyxl and matplotlib (with numpy) cost a running bot tens of megabytes and most
# of a second to import: they load on the first export or chart, in the functions that use them.
if TYPE_CHECKING:
    from bot.render.docx import Letterhead

FORMATS = ("docx", "xlsx", "csv", "md", "json", "zip")
ALIASES = {"word": "docx", "doc": "docx", "excel": "xlsx", "xls": "xlsx", "markdown": "md"}


class UnknownFormat(ValueError):
    def __init__(self, given: str):
        self.given = given
        super().__init__(f"unknown format {given!r}: use one of {', '.join(FORMATS)}")


def normalize_format(given: str) -> str:
    """'DOCX', ' word ' -> 'docx'; raises UnknownFormat (naming the formats there are) otherwise."""
    value = given.strip().lower().lstrip(".")
    value = ALIASES.get(value, value)
    if value not in FORMATS:
        raise UnknownFormat(given)
    return value


def letterhead_from_config(config) -> Letterhead:
    """The `[report]` section of the configuration as a letterhead; the issuing body and the place
    come from `[organisation]` (the coordinating department, its city) unless `[report]` names them."""
    from bot.render.docx import Letterhead

    section = config.report
    organisation = config.organisation
    return Letterhead(
        parent_body=section.parent_body,
        issuing_body=section.issuing_body or organisation.name,
        symbol=section.symbol,
        place=section.place or organisation.city,
        signer_title=section.signer_title,
        signer_name=section.signer_name,
        recipient=section.recipient,
        recipients=tuple(section.recipients),
        cutoff_day=section.cutoff_day,
        plan_cutoff_days=dict(section.plan_cutoff_days),
        template=section.template,
    )


def render_summary(
    summary: Summary,
    fmt: str,
    *,
    language: str = DEFAULT_LANGUAGE,
    tz: dt.tzinfo = DEFAULT_TZ,
    letterhead: Letterhead | None = None,
    progress: Progress | None = None,
    evidence_store: Store | None = None,
) -> Document:
    fmt = normalize_format(fmt)
    if fmt == "zip":
        # The DOCX and XLSX as they are sent alone, and the evidence files per agency beside them.
        parts = [
            render_summary(summary, part, language=language, tz=tz, letterhead=letterhead, progress=progress)
            for part in ("docx", "xlsx")
        ]
        from bot.render.bundle import render_bundle

        with use_language(language):
            bundle = render_bundle(summary, parts, evidence_store, stem=export_stem(summary))
        return dataclasses.replace(bundle, caption=parts[0].caption)
    if fmt == "docx":
        from bot.render import docx as docx_render
        from bot.render.chart import completion_chart
    elif fmt == "xlsx":
        from bot.render import xlsx
    with use_language(language):
        stem = export_stem(summary)
        caption = _("Results of carrying out Plan No. {number}, {period}").format(
            number=summary.plan.number, period=period_text(summary)
        )
        if fmt == "docx":
            chart = completion_chart(summary) if summary.expected_agencies else None
            content = docx_render.render_docx(
                summary, tz=tz, letterhead=letterhead, chart_png=chart, progress=progress
            )
            mime_type = docx_render.MIME_TYPE
        elif fmt == "xlsx":
            content, mime_type = xlsx.render_xlsx(summary, tz=tz, progress=progress), xlsx.MIME_TYPE
        elif fmt == "csv":
            content, mime_type = tables.render_csv(summary, tz=tz, progress=progress), tables.CSV_MIME_TYPE
        elif fmt == "md":
            content = tables.render_markdown(summary, tz=tz).encode("utf-8")
            mime_type = tables.MARKDOWN_MIME_TYPE
        else:
            content, mime_type = json_report.render_json(summary), json_report.MIME_TYPE
    return Document(filename=f"{stem}.{fmt}", content=content, mime_type=mime_type, caption=caption)


async def export_summary(
    session,
    plan_id: int,
    fmt: str,
    *,
    cycle: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    today: dt.date,
    language: str = DEFAULT_LANGUAGE,
    tz: dt.tzinfo = DEFAULT_TZ,
    extra_deadlines: Iterable[dt.date] = (),
    letterhead: Letterhead | None = None,
    progress: Progress | None = None,
    co_lead_rule: str = ALL_LEADS,
) -> Document:
    """Summarise the plan for the cycle (or range) and render it: the whole of `/xuat` in one call.

    Raises UnknownFormat before touching the database, and whatever build_summary raises.
    """
    fmt = normalize_format(fmt)
    summary = await build_summary(
        session,
        plan_id,
        cycle=cycle,
        start=start,
        end=end,
        today=today,
        tz=tz,
        extra_deadlines=extra_deadlines,
        co_lead_rule=co_lead_rule,
        detail=ALL,
    )
    return render_summary(summary, fmt, language=language, tz=tz, letterhead=letterhead, progress=progress)


def chart_image(summary: Summary, *, language: str = DEFAULT_LANGUAGE) -> Image:
    """Completion by agency, as the image `/tonghop` sends along."""
    from bot.render.chart import completion_chart

    with use_language(language):
        caption = _("Completion by agency — plan {number}").format(number=summary.plan.number)
        content = completion_chart(summary)
    return Image(filename=f"{export_stem(summary)}.png", content=content, caption=caption)
