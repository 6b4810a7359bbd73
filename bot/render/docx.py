"""A draft report in the Vietnamese administrative style (Nghị định 30/2020/NĐ-CP, Phụ lục I):
"Báo cáo kết quả thực hiện Kế hoạch số …", ready for the drafter to complete and sign.

Layout as the decree sets it: A4, margins top and bottom 20 mm, left 30 mm, right 15 mm; Times New
Roman; the issuing body (under its parent body) on the left and the national heading on the right
of a borderless table, the motto underlined along its whole length; the number under the issuing
body and the place-and-date line under the motto; the kind of document and its abstract centred in
bold; the body justified in 14 pt; recipients and signature side by side; page numbers from the
second page. The appendix (landscape) mirrors the plan's appendix — TT, content, timeframe, lead,
coordinating — with status and result columns.

What the bot cannot know — the report's number and date, the signer, the issuing body when not
configured — is left as a marked blank ("…") for the drafter.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import docx
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from bot.i18n import _, format_number, format_short_day, ngettext
from bot.render.inert import xml_text
from bot.render.report_rows import (
    Progress,
    capitalized,
    lead_text,
    local_day,
    period_text,
    section_title,
    status_label,
)
from bot.render.text import reported_label
from storage.summary import BLOCKED, STATUSES, AgencySummary, Summary, TaskSummary

MIME_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FONT = "Times New Roman"
BLANK = "…"

# Nghị định 30/2020/NĐ-CP, Phụ lục I: top and bottom 20–25 mm, left 30–35 mm, right 15–20 mm.
MARGINS = {"top": Mm(20), "bottom": Mm(20), "left": Mm(30), "right": Mm(15)}
A4 = (Mm(210), Mm(297))
BODY_PT = 14
HEADING_PT = 12  # the national heading and the issuing body: 12–13 pt
MOTTO_PT = 13  # "Độc lập - Tự do - Hạnh phúc": 13–14 pt
TABLE_PT = 12
# The heading table: the issuing body's column is the narrower one.
# With no cell padding, 12 pt Times New Roman bold fits "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
# (87 mm) and "SỞ THÔNG TIN VÀ TRUYỀN THÔNG" (73 mm) each on one line.
LEFT_COLUMN, RIGHT_COLUMN = Mm(75), Mm(90)
# The appendix on landscape A4: 297 − 30 − 15 = 252 mm of text width.
APPENDIX_WIDTHS = (Mm(12), Mm(76), Mm(27), Mm(34), Mm(35), Mm(25), Mm(43))


@dataclass(frozen=True)
class Letterhead:
    """Who issues the report; anything left None is printed as a blank to fill in."""

    parent_body: str | None = None  # "UBND THÀNH PHỐ HÀ NỘI"
    issuing_body: str | None = None  # "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"
    symbol: str | None = None  # "STTTT", as in "Số: …/BC-STTTT"
    place: str | None = None  # "Hà Nội"
    signer_title: str | None = None  # "GIÁM ĐỐC"
    signer_name: str | None = None


def render_docx(
    summary: Summary,
    *,
    tz: dt.tzinfo,
    letterhead: Letterhead | None = None,
    chart_png: bytes | None = None,
    progress: Progress | None = None,
) -> bytes:
    """The report as .docx bytes, in the current language (bot.i18n.use_language)."""
    letterhead = letterhead or Letterhead()
    document = docx.Document()
    _set_up_styles(document)
    _set_up_page(document.sections[0], landscape=False)
    _page_numbers(document.sections[0])

    _heading_table(document, summary, letterhead)
    _title(document, summary)
    _general(document, summary, chart_png)
    _per_agency(document, summary, tz)
    _difficulties(document, summary, tz)
    _proposals(document)
    _signature(document, letterhead)

    appendix = document.add_section(WD_SECTION.NEW_PAGE)
    _set_up_page(appendix, landscape=True)
    appendix.different_first_page_header_footer = False
    _appendix(document, summary, letterhead, tz, progress)

    core = document.core_properties
    core.title = xml_text(_("Results of carrying out Plan No. {number}").format(number=summary.plan.number))
    core.author = letterhead.issuing_body or ""
    core.comments = "nhacviec"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- page and styles


def _set_up_styles(document) -> None:
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    # Word picks the font per script from rFonts; Vietnamese letters fall in several ranges, so
    # every slot names Times New Roman, or some letters would come out in another face.
    # The template's defaults name theme fonts, which win over plain names: replace them too.
    defaults = document.styles.element.find(qn("w:docDefaults"))
    default_fonts = (
        defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}")
        if defaults is not None
        else None
    )
    for fonts in (normal.element.get_or_add_rPr().get_or_add_rFonts(), default_fonts):
        if fonts is None:
            continue
        for attribute in list(fonts.attrib):
            if attribute.endswith("Theme"):
                del fonts.attrib[attribute]
        for slot in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            fonts.set(qn(slot), FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "vi-VN")
    normal.element.get_or_add_rPr().append(lang)
    paragraph = normal.paragraph_format
    paragraph.space_before = Pt(0)
    paragraph.space_after = Pt(6)  # the decree asks at least 6 pt between paragraphs
    paragraph.line_spacing = 1.0


def _set_up_page(section, *, landscape: bool) -> None:
    width, height = A4
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (height, width) if landscape else (width, height)
    section.top_margin = MARGINS["top"]
    section.bottom_margin = MARGINS["bottom"]
    section.left_margin = MARGINS["left"]
    section.right_margin = MARGINS["right"]
    section.header_distance = Mm(10)
    section.footer_distance = Mm(10)


def _page_numbers(section) -> None:
    """Page numbers centred in the header, from the second page on (as the decree asks)."""
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


# ---------------------------------------------------------------- small builders


def _run(
    paragraph: Paragraph, text: str, *, bold=False, italic=False, underline=False, size: float | None = None
):
    # Every piece of text in the report passes here: characters XML cannot hold are dropped.
    run = paragraph.add_run(xml_text(text))
    run.bold = bold or None
    run.italic = italic or None
    run.underline = underline or None
    if size is not None:
        run.font.size = Pt(size)
    return run


def _paragraph(
    container,
    text: str = "",
    *,
    align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    bold=False,
    italic=False,
    size: float | None = None,
    indent: bool = True,
    before: float = 0,
    after: float = 6,
) -> Paragraph:
    paragraph = container.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_before = Pt(before)
    paragraph.paragraph_format.space_after = Pt(after)
    if indent and align == WD_ALIGN_PARAGRAPH.JUSTIFY:
        paragraph.paragraph_format.first_line_indent = Mm(10)
    if text:
        _run(paragraph, text, bold=bold, italic=italic, size=size)
    return paragraph


def _short_rule(container, width: Mm, available: Mm) -> None:
    """A short centred horizontal line (under the issuing body, under the abstract): the bottom
    border of an empty paragraph whose indents leave `width` between them."""
    paragraph = container.add_paragraph()
    side = int((available - width) / 2)
    paragraph.paragraph_format.left_indent = side
    paragraph.paragraph_format.right_indent = side
    paragraph.paragraph_format.space_before = Pt(0)
    paragraph.paragraph_format.space_after = Pt(0)
    # Exactly 5 pt tall: the line sits clear of the descenders above it.
    paragraph.paragraph_format.line_spacing = Pt(5)
    paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _no_borders(table: Table) -> None:
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    properties.append(borders)


def _no_cell_padding(table: Table) -> None:
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), "0")
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    table._tbl.tblPr.append(margins)


def _fixed_widths(table: Table, widths) -> None:
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width


def _cell_paragraph(cell: _Cell, text: str = "", *, first: bool = False, **style) -> Paragraph:
    """Write into a cell: its own first (empty) paragraph when `first`, else a new one."""
    paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
    paragraph.alignment = style.pop("align", WD_ALIGN_PARAGRAPH.CENTER)
    paragraph.paragraph_format.space_after = Pt(style.pop("after", 0))
    paragraph.paragraph_format.space_before = Pt(style.pop("before", 0))
    if text:
        _run(paragraph, text, **style)
    return paragraph


# ---------------------------------------------------------------- the first page


def _number_line(letterhead: Letterhead) -> str:
    return _("No.: {number}/BC-{symbol}").format(number=BLANK, symbol=letterhead.symbol or BLANK)


def _heading_table(document, summary: Summary, letterhead: Letterhead) -> None:
    """Issuing body beside the national heading; the number under one, place and date under the other."""
    table = document.add_table(rows=2, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_borders(table)
    _no_cell_padding(table)
    _fixed_widths(table, (LEFT_COLUMN, RIGHT_COLUMN))
    left, right = table.rows[0].cells
    first = True
    if letterhead.parent_body:
        _cell_paragraph(left, letterhead.parent_body.upper(), first=True, size=HEADING_PT)
        first = False
    _cell_paragraph(left, (letterhead.issuing_body or BLANK).upper(), first=first, bold=True, size=HEADING_PT)
    _short_rule(left, Mm(24), LEFT_COLUMN)

    _cell_paragraph(right, _("SOCIALIST REPUBLIC OF VIETNAM"), first=True, bold=True, size=HEADING_PT)
    # The motto is underlined along its whole length: one underlined run spaces included.
    _cell_paragraph(right, _("Independence - Freedom - Happiness"), bold=True, underline=True, size=MOTTO_PT)

    number_cell, date_cell = table.rows[1].cells
    _cell_paragraph(number_cell, _number_line(letterhead), first=True, size=MOTTO_PT, before=6)
    place_date = _("{place}, day {day} month {month} year {year}").format(
        place=letterhead.place or BLANK, day=BLANK, month=BLANK, year=summary.today.year
    )
    _cell_paragraph(date_cell, place_date, first=True, italic=True, size=BODY_PT, before=6)


def _abstract(summary: Summary) -> str:
    plan = summary.plan
    text = _("Results of carrying out Plan No. {number}").format(number=plan.number)
    if plan.issued:
        text = _("Results of carrying out Plan No. {number} of {date}").format(
            number=plan.number, date=format_short_day(plan.issued)
        )
    if plan.title:
        text += " " + _("on {title}").format(title=plan.title[:1].lower() + plan.title[1:])
    return text


def _title(document, summary: Summary) -> None:
    _paragraph(
        document, _("REPORT"), align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=BODY_PT, before=18, after=0
    )
    _paragraph(
        document, _abstract(summary), align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=BODY_PT, after=2
    )
    _short_rule(document, Mm(40), Mm(165))
    period = _("Reporting period: {period}").format(period=period_text(summary))
    _paragraph(document, period, align=WD_ALIGN_PARAGRAPH.CENTER, italic=True, before=6, after=12)


def _section_heading(document, text: str) -> None:
    _paragraph(document, text, bold=True, before=6)


def _counts_sentence(counts) -> str:
    parts = [
        f"{status_label(status).lower()} {format_number(counts[status])}"
        for status in STATUSES
        if counts[status]
    ]
    return "; ".join(parts) if parts else "—"


def _general(document, summary: Summary, chart_png: bytes | None) -> None:
    _section_heading(document, _("I. REPORTING BY THE AGENCIES"))
    expected, reported, missing = (
        summary.expected_agencies,
        summary.reported_agencies,
        summary.missing_agencies,
    )
    _paragraph(
        document,
        _(
            "The plan assigns {tasks} tasks, led by {expected} agencies. As of {day}, {reported} of "
            "{expected} agencies have reported on the period."
        ).format(
            tasks=format_number(summary.total),
            expected=format_number(len(expected)),
            reported=format_number(len(reported)),
            day=format_short_day(summary.as_of),
        ),
    )
    if missing:
        names = ", ".join(agency.name for agency in missing)
        _paragraph(document, _("Not yet reported: {names}.").format(names=names))
    _paragraph(document, _("Status of the tasks: {counts}.").format(counts=_counts_sentence(summary.counts)))
    _group_results(document, summary)
    if chart_png:
        picture = _paragraph(document, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
        picture.add_run().add_picture(io.BytesIO(chart_png), width=Mm(160))
        _paragraph(
            document,
            _("Chart: completion of the tasks, by lead agency"),
            align=WD_ALIGN_PARAGRAPH.CENTER,
            italic=True,
            size=12,
        )


def _group_results(document, summary: Summary) -> None:
    """A group's tasks are each member's: its results are listed per member, who has not reported too."""
    codes = {task.id: task.code for task in summary.tasks}
    for group in summary.groups:
        _paragraph(
            document,
            _("{group}: {reported} of {total} units reported.").format(
                group=group.name, reported=format_number(group.reported), total=format_number(group.total)
            ),
        )
        for unit in group.units:
            if not unit.updates:
                _paragraph(document, f"- {unit.name}: " + _("not reported") + ".")
                continue
            results = []
            for task_id, update in unit.updates.items():
                result = f"{codes.get(task_id, '')} {reported_label(update.status).lower()}".strip()
                if update.note.strip():
                    result += f" ({update.note.strip()})"
                results.append(result)
            _paragraph(document, f"- {unit.name}: " + "; ".join(results) + ".")


def _result_text(summary: Summary, task: TaskSummary, tz: dt.tzinfo) -> str:
    """'Đã phát sóng 12 chương trình (Nguyễn Thị Lan, 2/6/2020)', or a blank when nothing was said."""
    latest = task.latest
    if latest is None:
        return ""
    author = latest.member_name or summary.agency_label(latest.agency_id)
    when = local_day(latest.created_at, tz)
    source = ", ".join(part for part in (author, when) if part)
    note = latest.note.strip()
    return f"{note} ({source})" if note else f"({source})"


def _task_line(summary: Summary, task: TaskSummary, tz: dt.tzinfo) -> str:
    content = task.content.rstrip(" .;,")
    content = content if len(content) <= 220 else content[:219].rstrip() + "…"
    line = f"- {task.code}. {content}: {status_label(task.status).lower()}"
    result = _result_text(summary, task, tz)
    return f"{line}. {result}" if result else f"{line}."


def _agency_status(agency: AgencySummary, tz: dt.tzinfo) -> str:
    if agency.reported:
        when = local_day(agency.last_update_at, tz)
        text = (
            _("Reported in the period (latest update {day}).").format(day=when)
            if when
            else _("Reported in the period.")
        )
    else:
        text = _("Has not reported in the period.")
    return (
        text
        + " "
        + ngettext("Leads {tasks} task: {counts}.", "Leads {tasks} tasks: {counts}.", agency.total).format(
            tasks=format_number(agency.total), counts=_counts_sentence(agency.counts)
        )
    )


def _per_agency(document, summary: Summary, tz: dt.tzinfo) -> None:
    _section_heading(document, _("II. RESULTS BY AGENCY"))
    for number, agency in enumerate(summary.expected_agencies, start=1):
        _paragraph(document, f"{number}. {agency.name}", bold=True)
        _paragraph(document, _agency_status(agency, tz))
        for task in agency.lead_tasks:
            _paragraph(document, _task_line(summary, task, tz))
        hidden = agency.total - len(agency.lead_tasks)
        if hidden > 0:
            _paragraph(
                document,
                ngettext(
                    "({count} more task is not detailed in this summary.)",
                    "({count} more tasks are not detailed in this summary.)",
                    hidden,
                ).format(count=format_number(hidden)),
                italic=True,
            )


def _difficulties(document, summary: Summary, tz: dt.tzinfo) -> None:
    _section_heading(document, _("III. DIFFICULTIES AND OBSTACLES"))
    if not summary.attention:
        _paragraph(document, _("No task is blocked or overdue."))
        return
    for task in summary.attention:
        owner = lead_text(summary, task)
        label = _("Blocked") if task.status == BLOCKED else _("Overdue")
        line = f"- {label}: {task.code}. {task.content.rstrip(' .;,')} ({owner})"
        result = _result_text(summary, task, tz)
        _paragraph(document, f"{line}. {result}" if result else f"{line}.")


def _proposals(document) -> None:
    _section_heading(document, _("IV. PROPOSALS AND RECOMMENDATIONS"))
    # The drafter's own words go here; the bot has nothing to propose.
    _paragraph(document, BLANK * 3)


def _signature(document, letterhead: Letterhead) -> None:
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    _fixed_widths(table, (Mm(80), Mm(85)))
    recipients, signer = table.rows[0].cells
    _cell_paragraph(
        recipients,
        _("Recipients:"),
        first=True,
        bold=True,
        italic=True,
        size=12,
        align=WD_ALIGN_PARAGRAPH.LEFT,
        before=12,
    )
    for line in (_("- As above;"), _("- Archived: VT, {blank}.").format(blank=BLANK)):
        _cell_paragraph(recipients, line, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _cell_paragraph(
        signer, (letterhead.signer_title or BLANK).upper(), first=True, bold=True, size=BODY_PT, before=12
    )
    for _blank in range(4):
        _cell_paragraph(signer, "", size=BODY_PT)
    _cell_paragraph(signer, letterhead.signer_name or BLANK, bold=True, size=BODY_PT)


# ---------------------------------------------------------------- the appendix


ALIGN_CENTRE, ALIGN_JUSTIFY, ALIGN_LEFT = (
    WD_ALIGN_PARAGRAPH.CENTER,
    WD_ALIGN_PARAGRAPH.JUSTIFY,
    WD_ALIGN_PARAGRAPH.LEFT,
)


def _keep_row_on_one_page(row) -> None:
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def _repeat_as_header(row) -> None:
    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _appendix(
    document, summary: Summary, letterhead: Letterhead, tz: dt.tzinfo, progress: Progress | None
) -> None:
    _paragraph(document, _("APPENDIX"), align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, after=0)
    _paragraph(
        document,
        _("RESULTS OF THE TASKS IN THE APPENDIX OF PLAN No. {number}")
        .format(number=summary.plan.number)
        .upper(),
        align=WD_ALIGN_PARAGRAPH.CENTER,
        bold=True,
        after=0,
    )
    attached = _("(Attached to Report No. {number}/BC-{symbol}, day {day} month {month} year {year})").format(
        number=BLANK, symbol=letterhead.symbol or BLANK, day=BLANK, month=BLANK, year=summary.today.year
    )
    _paragraph(document, attached, align=WD_ALIGN_PARAGRAPH.CENTER, italic=True, after=12)
    if not summary.complete:
        _paragraph(document, _("Only the tasks that need attention are listed."), italic=True)

    headers = [
        _("No."),
        _("Content"),
        _("Timeframe"),
        _("Lead agency"),
        _("Coordinating agencies"),
        _("Status"),
        _("Result"),
    ]
    table = document.add_table(rows=1, cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        _cell_paragraph(cell, text, first=True, bold=True, size=TABLE_PT)
    _repeat_as_header(table.rows[0])

    total = len(summary.tasks)
    written = 0
    for section in summary.sections:
        if not section.tasks:
            continue
        cells = table.add_row().cells
        _cell_paragraph(cells[0], section.numeral, first=True, bold=True, size=TABLE_PT)
        merged = cells[1].merge(cells[-1])
        title = section_title(summary, section.id).upper()
        _cell_paragraph(merged, title, first=True, bold=True, size=TABLE_PT, align=WD_ALIGN_PARAGRAPH.LEFT)
        for task in section.tasks:
            values = (
                str(task.number),
                task.content,
                task.timeframe_text,
                lead_text(summary, task),
                task.coordinating_text or "",
                capitalized(status_label(task.status)),
                _result_text(summary, task, tz),
            )
            row = table.add_row()
            _keep_row_on_one_page(row)
            for index, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
                # Narrow columns read better ragged; only the content is justified, as in the plan.
                align = ALIGN_CENTRE if index in (0, 2, 5) else ALIGN_JUSTIFY if index == 1 else ALIGN_LEFT
                _cell_paragraph(cell, value, first=True, size=TABLE_PT, align=align)
            written += 1
            if progress is not None and (written % 50 == 0 or written == total):
                progress(written, total)
    _fixed_widths(table, APPENDIX_WIDTHS)
