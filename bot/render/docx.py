"""A draft report in the Vietnamese administrative style (Nghị định 30/2020/NĐ-CP, Phụ lục I):
"Báo cáo kết quả thực hiện Kế hoạch số …", ready for the drafter to complete and sign.

Layout as the decree sets it: A4, margins top and bottom 20 mm, left 30 mm, right 15 mm; Times New
Roman; the issuing body (under its parent body) on the left and the national heading on the right
of a borderless table, the motto underlined along its whole length; the number under the issuing
body and the place-and-date line under the motto; the kind of document and its abstract centred in
bold; the body justified in 14 pt; recipients and signature side by side; page numbers from the
second page. The appendix (landscape) mirrors the plan's appendix — TT, content, timeframe, lead,
coordinating — with status and result columns.

The letterhead, the title, "Kính gửi", the data cut-off line and the opening paragraph come from a
Word template a clerk can edit in Word (docxtpl: `{{ issuing_body }}` and the like, see
`TEMPLATE_FIELDS`); the one shipped in the package (templates/bao-cao.docx) is drawn by
`build_template` below, and `[report] template` names one's own. The body and the appendix are
generated after it. Headings are kept with the paragraph that follows them, so that none is left
alone at the bottom of a page, and task texts are written whole.

Dates: the place-and-date line is the day the report is made; the figures are counted to the data
cut-off ("Số liệu tính đến ngày …", by default the cycle's deadline, or the day it is made when that
comes first), a separate line. Only the report's own number is left as a marked blank ("…"), with
whatever the configuration does not give (the signer, say).
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import docx
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docxtpl import DocxTemplate

from bot.i18n import _, format_number, format_short_day, ngettext
from bot.render.inert import xml_text
from bot.render.report_rows import (
    Progress,
    lead_text,
    local_day,
    period_text,
    reported_cell,
    section_title,
    task_number_text,
    task_timing_text,
)
from bot.render.text import (
    percent_text,
    reported_counts_text,
    reported_label,
    standing_text,
    timing_counts_text,
)
from storage.models.people import BLOCKED
from storage.summary import AgencySummary, Summary, TaskSummary

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
APPENDIX_WIDTHS = (Mm(11), Mm(70), Mm(23), Mm(30), Mm(30), Mm(24), Mm(20), Mm(44))


DEFAULT_TEMPLATE = Path(__file__).with_name("templates") / "bao-cao.docx"

# What a template may use, each a plain string (empty when unknown), already in the reader's language.
TEMPLATE_FIELDS = (
    "parent_body",  # "UBND THÀNH PHỐ HÀ NỘI", upper case; empty when not configured
    "issuing_body",  # "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", upper case; "…" when not configured
    "national_name",  # "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    "motto",  # "Độc lập - Tự do - Hạnh phúc"
    "number_line",  # "Số: …/BC-STTTT"
    "place_date",  # "Hà Nội, ngày 21 tháng 11 năm 2020": the day the report is made
    "kind",  # "BÁO CÁO"
    "abstract",  # "Kết quả thực hiện Kế hoạch số 87/KH-UBND ngày 24/4/2020 về …"
    "recipient_line",  # "Kính gửi: Ủy ban nhân dân Thành phố"; empty when no recipient is known
    "period_line",  # "Kỳ báo cáo: từ 1/1/2020 đến 20/6/2020"
    "cutoff_line",  # "Số liệu tính đến ngày 20/6/2020"
    "opening",  # "Thực hiện Kế hoạch số …, Sở … báo cáo kết quả như sau:"
    "plan_number",
    "cutoff",  # "20/6/2020"
    "report_day",  # "21/11/2020"
)


@dataclass(frozen=True)
class Letterhead:
    """Who issues the report and to whom; anything left None is printed as a blank to fill in."""

    parent_body: str | None = None  # "UBND THÀNH PHỐ HÀ NỘI"
    issuing_body: str | None = None  # "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"
    symbol: str | None = None  # "STTTT", as in "Số: …/BC-STTTT"
    place: str | None = None  # "Hà Nội"
    signer_title: str | None = None  # "GIÁM ĐỐC"
    signer_name: str | None = None
    recipient: str | None = None  # "Kính gửi: …"; None: the plan's issuing body, when known
    recipients: tuple[str, ...] = ("Lưu: VT.",)  # under "Nơi nhận:", after "- Như trên;"
    cutoff_day: str | int = "deadline"  # the data cut-off: the cycle's deadline, or that day of its month
    # The same for one plan, by "NUMBER-YEAR" or "NUMBER" (`[report] plan_cutoff_days`).
    plan_cutoff_days: dict = field(default_factory=dict, compare=False)

    def cutoff_day_for(self, plan) -> str | int:
        keys = (f"{plan.number}-{plan.year}", plan.number)
        return next(
            (self.plan_cutoff_days[key] for key in keys if key in self.plan_cutoff_days), self.cutoff_day
        )

    template: Path | None = None  # a Word template of one's own; None: DEFAULT_TEMPLATE
    extra: dict = field(default_factory=dict, compare=False)  # more fields for one's own template


def cutoff_date(summary: Summary, cutoff_day: str | int) -> dt.date:
    """The day the figures are counted to: the cycle's deadline (or the range's end), or the given day
    of that month (the 15th rule of Nghị định 09/2019/NĐ-CP), never after the day the report is made."""
    deadline = summary.cycle or summary.end
    if isinstance(cutoff_day, int):
        last = calendar.monthrange(deadline.year, deadline.month)[1]
        deadline = deadline.replace(day=min(cutoff_day, last))
    return min(deadline, summary.today)


def place_date_text(place: str, day: dt.date) -> str:
    """'Hà Nội, ngày 05 tháng 02 năm 2021': Nghị định 30/2020 writes days below 10 and the months
    January and February with a leading zero."""
    return _("{place}, day {day} month {month} year {year}").format(
        place=place,
        day=f"{day.day:02d}" if day.day < 10 else str(day.day),
        month=f"{day.month:02d}" if day.month < 3 else str(day.month),
        year=day.year,
    )


def recipient_of(summary: Summary, letterhead: Letterhead) -> str:
    return letterhead.recipient or summary.plan.issuing_body or ""


def template_context(summary: Summary, letterhead: Letterhead) -> dict[str, str]:
    """The values of TEMPLATE_FIELDS for this report, in the current language."""
    cutoff = cutoff_date(summary, letterhead.cutoff_day_for(summary.plan))
    recipient = recipient_of(summary, letterhead)
    issuer = letterhead.issuing_body or ""
    opening = _("Carrying out Plan No. {number}, {issuer} reports the results as follows:").format(
        number=_plan_reference(summary), issuer=issuer or BLANK
    )
    context = {
        "parent_body": (letterhead.parent_body or "").upper(),
        "issuing_body": (issuer or BLANK).upper(),
        "national_name": _("SOCIALIST REPUBLIC OF VIETNAM"),
        "motto": _("Independence - Freedom - Happiness"),
        "number_line": _number_line(letterhead),
        "place_date": place_date_text(letterhead.place or BLANK, summary.today),
        "kind": _("REPORT"),
        "abstract": _abstract(summary),
        "recipient_line": _("To: {recipient}").format(recipient=recipient) if recipient else "",
        "period_line": _("Reporting period: {period}").format(period=period_text(summary)),
        "cutoff_line": _("Figures as of {day}").format(day=format_short_day(cutoff)),
        "opening": opening,
        "plan_number": summary.plan.number,
        "cutoff": format_short_day(cutoff),
        "report_day": format_short_day(summary.today),
    }
    return {**context, **letterhead.extra}


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
    template = DocxTemplate(str(letterhead.template or DEFAULT_TEMPLATE))
    # Values are escaped for XML (autoescape): a name with "&" or "<" stays text.
    template.render(template_context(summary, letterhead), autoescape=True)
    # Reopened from bytes: the rendered template's document object keeps a handle on the body it
    # had before rendering, and what is added after would land there.
    rendered = io.BytesIO()
    template.save(rendered)
    document = docx.Document(io.BytesIO(rendered.getvalue()))

    _general(document, summary, cutoff_date(summary, letterhead.cutoff_day_for(summary.plan)), chart_png)
    _per_agency(document, summary, tz)
    _difficulties(document, summary, tz)
    _proposals(document)
    _signature(document, summary, letterhead)

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


def build_template() -> bytes:
    """The default template: letterhead, title, "Kính gửi", period, cut-off and opening as docxtpl
    fields in the decree's layout, on a page set up as the decree asks. Writes templates/bao-cao.docx
    when run as `python -m bot.render.docx`."""
    document = docx.Document()
    _set_up_styles(document)
    _set_up_page(document.sections[0], landscape=False)
    _page_numbers(document.sections[0])
    _heading_table(document)
    _paragraph(
        document, "{{ kind }}", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=BODY_PT, before=18, after=0
    )
    _paragraph(document, "{{ abstract }}", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=BODY_PT, after=2)
    _short_rule(document, Mm(40), Mm(165))
    _paragraph(document, "{%p if recipient_line %}", align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(document, "{{ recipient_line }}", align=WD_ALIGN_PARAGRAPH.CENTER, before=6, after=6)
    _paragraph(document, "{%p endif %}", align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(document, "{{ period_line }}", align=WD_ALIGN_PARAGRAPH.CENTER, italic=True, before=6, after=0)
    _paragraph(document, "{{ cutoff_line }}", align=WD_ALIGN_PARAGRAPH.CENTER, italic=True, after=12)
    _paragraph(document, "{{ opening }}")
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


# The order the schema gives the table's properties: Word and LibreOffice ignore what comes out of it.
_TABLE_PROPERTIES = (
    "tblStyle",
    "tblW",
    "jc",
    "tblInd",
    "tblBorders",
    "shd",
    "tblLayout",
    "tblCellMar",
    "tblLook",
)


def _table_property(table: Table, element) -> None:
    """Put `element` into the table's properties in schema order, replacing one of the same kind."""
    properties = table._tbl.tblPr
    name = element.tag.rsplit("}", 1)[1]
    for existing in properties.findall(qn(f"w:{name}")):
        properties.remove(existing)
    rank = _TABLE_PROPERTIES.index(name)
    later = [child for child in properties if child.tag.rsplit("}", 1)[1] in _TABLE_PROPERTIES[rank + 1 :]]
    if later:
        later[0].addprevious(element)
    else:
        properties.append(element)


def _no_borders(table: Table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    _table_property(table, borders)


def _no_cell_padding(table: Table) -> None:
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), "0")
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    _table_property(table, margins)


def _fixed_widths(table: Table, widths) -> None:
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    _table_property(table, layout)
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


def _heading_table(document) -> None:
    """Issuing body beside the national heading; the number under one, place and date under the other."""
    table = document.add_table(rows=2, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _no_borders(table)
    _no_cell_padding(table)
    _fixed_widths(table, (LEFT_COLUMN, RIGHT_COLUMN))
    left, right = table.rows[0].cells
    _cell_paragraph(left, "{%p if parent_body %}", first=True, size=HEADING_PT)
    _cell_paragraph(left, "{{ parent_body }}", size=HEADING_PT)
    _cell_paragraph(left, "{%p endif %}", size=HEADING_PT)
    _cell_paragraph(left, "{{ issuing_body }}", bold=True, size=HEADING_PT)
    _short_rule(left, Mm(24), LEFT_COLUMN)

    _cell_paragraph(right, "{{ national_name }}", first=True, bold=True, size=HEADING_PT)
    # The motto is underlined along its whole length: one underlined run spaces included.
    _cell_paragraph(right, "{{ motto }}", bold=True, underline=True, size=MOTTO_PT)

    number_cell, date_cell = table.rows[1].cells
    _cell_paragraph(number_cell, "{{ number_line }}", first=True, size=MOTTO_PT, before=6)
    _cell_paragraph(date_cell, "{{ place_date }}", first=True, italic=True, size=BODY_PT, before=6)


def _plan_reference(summary: Summary) -> str:
    plan = summary.plan
    if plan.issued:
        return _("{number} of {date}").format(number=plan.number, date=format_short_day(plan.issued))
    return plan.number


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


def _section_heading(document, text: str) -> Paragraph:
    return _heading(document, text, before=6)


def _heading(document, text: str, **style) -> Paragraph:
    """A bold line that must not end a page: Word and LibreOffice keep it with what follows."""
    paragraph = _paragraph(document, text, bold=True, **style)
    paragraph.paragraph_format.keep_with_next = True
    return paragraph


def _counts_sentence(reported, timing) -> str:
    """'đang thực hiện 2, hoàn thành 3 (chưa đến hạn 2, quá hạn 1, …)': both facts, each counted
    over the same tasks."""
    return _("reported: {reported}; against the deadlines: {timing}").format(
        reported=reported_counts_text(reported), timing=timing_counts_text(timing)
    )


def _general(document, summary: Summary, cutoff: dt.date, chart_png: bytes | None) -> None:
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
            # The one date the figures are counted to, as the cut-off line says.
            day=format_short_day(cutoff),
        ),
    )
    if missing:
        names = ", ".join(agency.name for agency in missing)
        _paragraph(document, _("Not yet reported: {names}.").format(names=names))
    _paragraph(
        document,
        _("As the agencies reported: {reported}. Against the tasks' deadlines: {timing}.").format(
            reported=reported_counts_text(summary.reported_counts),
            timing=timing_counts_text(summary.timing_counts),
        ),
    )
    _paragraph(
        document,
        _("Average progress of the plan: {percent}.").format(
            percent=percent_text(round(summary.average_progress))
        ),
    )
    _group_results(document, summary)
    if chart_png:
        picture = _paragraph(document, align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
        picture.paragraph_format.keep_with_next = True  # the chart stays with its caption
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
                result = f"{codes.get(task_id, '')} {reported_label(update.status)}".strip()
                if update.percent is not None and update.status != "done":
                    result += f" {percent_text(update.percent)}"
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
    text = f"{note} ({source})" if note else f"({source})"
    if task.evidence:
        text += " " + _("Evidence: {items}.").format(items="; ".join(task.evidence))
    return text


def _task_line(summary: Summary, agency: AgencySummary, task: TaskSummary, tz: dt.tzinfo) -> str:
    # The whole text: a report that cuts the task it reports on would need editing.
    content = task.content.rstrip(" .;,")
    view = agency.view(task)
    line = f"- {task.code}. {content}: {standing_text(view.reported, view.percent, view.timing)}"
    result = _result_text(summary, task, tz)
    return f"{line}. {result}" if result else f"{line}."


def _reported_cell_text(task: TaskSummary) -> str:
    text = reported_cell(task.reported)
    if task.percent is not None and task.reported not in ("done", "not_reported"):
        text += f" {percent_text(task.percent)}"
    return text


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
        + ngettext(
            "Answers for {tasks} task: {counts}; average progress {percent}.",
            "Answers for {tasks} tasks: {counts}; average progress {percent}.",
            agency.total,
        ).format(
            tasks=format_number(agency.total),
            counts=_counts_sentence(agency.reported_counts, agency.timing_counts),
            percent=percent_text(round(agency.average_progress)),
        )
    )


def _per_agency(document, summary: Summary, tz: dt.tzinfo) -> None:
    _section_heading(document, _("II. RESULTS BY AGENCY"))
    for number, agency in enumerate(summary.expected_agencies, start=1):
        _heading(document, f"{number}. {agency.name}")
        _paragraph(document, _agency_status(agency, tz))
        for task in agency.tasks:
            _paragraph(document, _task_line(summary, agency, task, tz))
        hidden = agency.total - len(agency.tasks)
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
        label = _("Blocked") if task.reported == BLOCKED else _("Overdue")
        line = f"- {label}: {task.code}. {task.content.rstrip(' .;,')} ({owner})"
        result = _result_text(summary, task, tz)
        _paragraph(document, f"{line}. {result}" if result else f"{line}.")


def _proposals(document) -> None:
    _section_heading(document, _("IV. PROPOSALS AND RECOMMENDATIONS"))
    # The drafter's own words go here; the bot has nothing to propose.
    _paragraph(document, BLANK * 3)


def _signature(document, summary: Summary, letterhead: Letterhead) -> None:
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
    # "Như trên" points at the "Kính gửi" line, so it is written only when there is one.
    lines = [_("- As above;")] if recipient_of(summary, letterhead) else [f"- {BLANK};"]
    lines += [f"- {line}" for line in letterhead.recipients]
    for line in lines:
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
    _heading(document, _("APPENDIX"), align=WD_ALIGN_PARAGRAPH.CENTER, after=0)
    _heading(
        document,
        _("RESULTS OF THE TASKS IN THE APPENDIX OF PLAN No. {number}")
        .format(number=summary.plan.number)
        .upper(),
        align=WD_ALIGN_PARAGRAPH.CENTER,
        after=0,
    )
    day = summary.today
    attached = _("(Attached to Report No. {number}/BC-{symbol}, day {day} month {month} year {year})").format(
        number=BLANK, symbol=letterhead.symbol or BLANK, day=day.day, month=day.month, year=day.year
    )
    attached_line = _paragraph(document, attached, align=WD_ALIGN_PARAGRAPH.CENTER, italic=True, after=12)
    attached_line.paragraph_format.keep_with_next = True
    if not summary.complete:
        _paragraph(document, _("Only the tasks that need attention are listed."), italic=True)

    headers = [
        _("No."),
        _("Content"),
        _("Timeframe"),
        _("Lead agency"),
        _("Coordinating agencies"),
        _("Reported status"),
        _("Timing"),
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
                task_number_text(task),
                task.content,
                task.timeframe_text,
                lead_text(summary, task),
                task.coordinating_text or "",
                _reported_cell_text(task),
                task_timing_text(task),
                _result_text(summary, task, tz),
            )
            row = table.add_row()
            _keep_row_on_one_page(row)
            for index, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
                # Narrow columns read better ragged; only the content is justified, as in the plan.
                align = ALIGN_CENTRE if index in (0, 2, 5, 6) else ALIGN_JUSTIFY if index == 1 else ALIGN_LEFT
                _cell_paragraph(cell, value, first=True, size=TABLE_PT, align=align)
            written += 1
            if progress is not None and (written % 50 == 0 or written == total):
                progress(written, total)
    _fixed_widths(table, APPENDIX_WIDTHS)


if __name__ == "__main__":
    DEFAULT_TEMPLATE.parent.mkdir(exist_ok=True)
    DEFAULT_TEMPLATE.write_bytes(build_template())
    print(DEFAULT_TEMPLATE)
