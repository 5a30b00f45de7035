"""The Word document of a report, in the layout of Vietnamese administrative
documents (Decree 30/2020/NĐ-CP on clerical work).

The layout: A4, Times New Roman; at the top, the issuing body on the left
(its parent authority, its own name in bold, a short rule, the number line
"Số: .../BC-...") and the national title on the right ("CỘNG HÒA XÃ HỘI
CHỦ NGHĨA VIỆT NAM", the motto "Độc lập - Tự do - Hạnh phúc", a rule, and
the place and date); the document type "BÁO CÁO" and its summary line; the
addressee; the body in numbered sections; then "Nơi nhận:" on the left and
the signature block on the right. Page numbers are at the top, from the
second page. The number itself is left for the clerk to fill in when the
report is registered.

The figures come from ``figures.compile_report``; nothing is counted here.
"""

import io
import re
import unicodedata

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from phoihop.contracts.reporting import AGENCY_RESULTS
from phoihop.i18n import DISPLAY_TZ

from . import charts, labels

FONT = "Times New Roman"
BODY_SIZE = 14
TABLE_SIZE = 11
# A4 less the margins of Decree 30/2020 used here (left 3 cm, right 1.5 cm).
TEXT_WIDTH_CM = 16.5
NUMBER_COLUMN_CM = 1.0
NUMERIC_WIDTH_CM = 2.2
NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
PARTY_TITLE = "ĐẢNG CỘNG SẢN VIỆT NAM"
CITY_COMMITTEE = "Ủy ban nhân dân thành phố Hải Phòng"
REGULATION = (
    "Quyết định số 664/QĐ-UBND ngày 01/3/2022 của Ủy ban nhân dân thành phố "
    "ban hành Quy chế phối hợp theo dõi, phát hiện, xử lý thông tin xấu, độc "
    "trên không gian mạng liên quan đến thành phố Hải Phòng"
)

# Parent authority printed above an agency's name, by registry kind.
PARENTS = {
    "lead": "ỦY BAN NHÂN DÂN THÀNH PHỐ HẢI PHÒNG",
    "department": "ỦY BAN NHÂN DÂN THÀNH PHỐ HẢI PHÒNG",
    "press": "ỦY BAN NHÂN DÂN THÀNH PHỐ HẢI PHÒNG",
    "police": "BỘ CÔNG AN",
    "party_commission": "THÀNH ỦY HẢI PHÒNG",
    "association": "HỘI NHÀ BÁO VIỆT NAM",
}


def vi_number(value):
    """12345 -> "12.345"; a rate 0.857 -> "85,7%"; None -> "-"."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value * 100:.1f}%".replace(".", ",")
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    return str(value)


def _cell_text(value, fmt):
    if fmt == "percent":
        return vi_number(value if value is None else float(value))
    if fmt == "int":
        return vi_number(value)
    return "" if value is None else str(value)


def vi_date_line(place, moment):
    """ "Hải Phòng, ngày 01 tháng 12 năm 2026": days 1-9 and months 1-2 take
    a leading zero (Decree 30/2020, Appendix I)."""
    local = moment.astimezone(DISPLAY_TZ)
    day = f"{local.day:02d}" if local.day < 10 else str(local.day)
    month = f"{local.month:02d}" if local.month < 3 else str(local.month)
    return f"{place}, ngày {day} tháng {month} năm {local.year}"


def abbreviation(name):
    """Initials of a Vietnamese name without diacritics: "Công an thành phố"
    -> "CATP"; the part in parentheses is left out."""
    name = re.sub(r"\(.*?\)", "", name or "")
    plain = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    initials = "".join(word[0] for word in re.findall(r"[A-Za-z0-9]+", plain))
    return initials.upper() or "CQ"


def balanced_lines(text, longest=24):
    """A header name on one line, or on two of about equal length when it is
    longer than ``longest`` characters ("ỦY BAN NHÂN DÂN" / "THÀNH PHỐ HẢI
    PHÒNG"); line breaks already in the text are kept."""
    if not text:
        return []
    if "\n" in text:
        return [line.strip() for line in text.splitlines() if line.strip()]
    if len(text) <= longest:
        return [text]
    words = text.split()
    best = min(
        range(1, len(words)),
        key=lambda cut: abs(len(" ".join(words[:cut])) - len(" ".join(words[cut:]))),
    )
    return [" ".join(words[:best]), " ".join(words[best:])]


def _set_font(run, size=BODY_SIZE, bold=None, italic=None):
    run.font.name = FONT
    run.font.size = Pt(size)
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for key in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(key), FONT)
    if bold is not None:
        run.bold = bold
    if italic is not None:
        run.italic = italic
    return run


def _paragraph(
    container,
    text="",
    *,
    size=BODY_SIZE,
    bold=False,
    italic=False,
    align=None,
    indent=False,
    after=6,
    before=0,
):
    paragraph = container.add_paragraph()
    if text:
        _set_font(paragraph.add_run(text), size, bold, italic)
    fmt = paragraph.paragraph_format
    fmt.space_after = Pt(after)
    fmt.space_before = Pt(before)
    if align is not None:
        paragraph.alignment = align
    if indent:
        fmt.first_line_indent = Cm(1)
    return paragraph


def _rule(container, indent_cm):
    """A short horizontal line under a heading (a bottom-bordered, empty,
    indented paragraph): under the body's name, the motto and the title."""
    paragraph = container.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.left_indent = Cm(indent_cm)
    fmt.right_indent = Cm(indent_cm)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(6)
    # A short empty line: its bottom border is the rule, close under the text.
    fmt.line_spacing = Pt(6)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (
        ("w:val", "single"),
        ("w:sz", "6"),
        ("w:space", "1"),
        ("w:color", "000000"),
    ):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)
    return paragraph


def _page_number_header(section):
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = _set_font(paragraph.add_run(), 13)
    for kind, text in (("begin", None), (None, " PAGE "), ("end", None)):
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        else:
            instruction = OxmlElement("w:instrText")
            instruction.set(qn("xml:space"), "preserve")
            instruction.text = text
            run._r.append(instruction)


def _setup(document):
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = Cm(2)
    section.bottom_margin = Cm(2)
    section.left_margin = Cm(3)
    section.right_margin = Cm(1.5)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_SIZE)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for key in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(key), FONT)
    _page_number_header(section)


def _cell_lines(cell, lines):
    """Fill a header cell with ``(text, size, bold, italic)`` lines, centred."""
    first = True
    for text, size, bold, italic in lines:
        if text is None:
            continue
        paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
        first = False
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.space_after = Pt(0)
        _set_font(paragraph.add_run(text), size, bold, italic)


def _header(document, issuer, date_line, national):
    table = document.add_table(rows=2, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _set_widths(table, (Cm(7.0), Cm(9.5)))

    # Sizes of Decree 30/2020, Appendix I: names of the authority and of
    # the body 12-13 (the body in bold), national title 12-13 bold, motto
    # 13-14 bold, number 13, place and date 13-14 italic.
    left, right = table.rows[0].cells
    _cell_lines(
        left,
        [
            *[
                (line, 12, False, False)
                for line in balanced_lines(issuer.get("parent"))
            ],
            *[
                (line, 12, True, False)
                for line in balanced_lines(issuer["name"].upper())
            ],
        ],
    )
    _rule(left, 2.2)
    if national:
        _cell_lines(
            right, [(NATIONAL_TITLE, 12, True, False), (MOTTO, 13, True, False)]
        )
        _rule(right, 2.4)
    else:
        _cell_lines(right, [(PARTY_TITLE, 13, True, False)])
        _rule(right, 2.8)

    number, place = table.rows[1].cells
    _cell_lines(number, [(f"Số: .../BC-{issuer['abbreviation']}", 13, False, False)])
    _cell_lines(place, [(date_line, 13, False, True)])


def _set_widths(table, widths):
    """Fixed column widths, as both Word and LibreOffice read them."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width


def column_widths(formats, total=TEXT_WIDTH_CM):
    """Widths in cm of a data table's columns: the number (TT) column,
    then each value column; text columns share what numbers leave."""
    numbers = [fmt for fmt in formats if fmt != "text"]
    texts = len(formats) - len(numbers)
    rest = total - NUMBER_COLUMN_CM - NUMERIC_WIDTH_CM * len(numbers)
    text_width = rest / texts if texts else 0
    if texts and text_width < 2.5:
        numeric = (total - NUMBER_COLUMN_CM - 2.5 * texts) / len(numbers)
        return [NUMBER_COLUMN_CM] + [
            2.5 if fmt == "text" else numeric for fmt in formats
        ]
    return [NUMBER_COLUMN_CM] + [
        text_width if fmt == "text" else NUMERIC_WIDTH_CM for fmt in formats
    ]


class _Numbering:
    def __init__(self):
        self.table = 0
        self.chart = 0


def _table(document, table, numbering):
    numbering.table += 1
    _paragraph(
        document,
        f"Bảng {numbering.table}. {table.title}",
        size=12,
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        before=6,
        after=3,
    )
    rows = list(table.rows)
    if not rows and table.total is None:
        _paragraph(
            document,
            "(Không có số liệu trong kỳ.)",
            size=12,
            italic=True,
            align=WD_ALIGN_PARAGRAPH.CENTER,
        )
        return
    grid = document.add_table(rows=1, cols=len(table.columns) + 1)
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    header = grid.rows[0].cells
    for cell, text in zip(header, ["TT", *table.columns], strict=True):
        _fill(cell, text, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        _shade(cell, "D9E2F3")
    for index, row in enumerate(rows, start=1):
        cells = grid.add_row().cells
        _fill(cells[0], str(index), align=WD_ALIGN_PARAGRAPH.CENTER)
        for cell, value, fmt in zip(cells[1:], row, table.formats, strict=True):
            _fill(cell, _cell_text(value, fmt), align=_alignment(fmt))
    if table.total is not None:
        cells = grid.add_row().cells
        _fill(cells[0], "")
        for cell, value, fmt in zip(cells[1:], table.total, table.formats, strict=True):
            _fill(cell, _cell_text(value, fmt), bold=True, align=_alignment(fmt))
    _set_widths(grid, [Cm(width) for width in column_widths(table.formats)])
    if table.note:
        _paragraph(document, f"Ghi chú: {table.note}", size=11, italic=True, before=3)
    else:
        _paragraph(document, "", after=3)


def _alignment(fmt):
    if fmt in ("int", "percent"):
        return WD_ALIGN_PARAGRAPH.RIGHT
    return WD_ALIGN_PARAGRAPH.LEFT


def _fill(cell, text, bold=False, align=None):
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_after = Pt(0)
    if align is not None:
        paragraph.alignment = align
    _set_font(paragraph.add_run(text), TABLE_SIZE, bold)


def _shade(cell, colour):
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), colour)
    cell._tc.get_or_add_tcPr().append(shading)


def _chart(document, png, caption, numbering):
    if not png:
        return
    numbering.chart += 1
    document.add_picture(io.BytesIO(png), width=Cm(15.5))
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(
        document,
        f"Biểu đồ {numbering.chart}. {caption}",
        size=12,
        italic=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )


def _heading(document, text, level=1):
    _paragraph(
        document,
        text,
        bold=True,
        italic=level > 1,
        indent=True,
        before=6 if level == 1 else 3,
        after=3,
    )


def _body(document, text):
    paragraph = _paragraph(document, text, indent=True)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    return paragraph


def _closing(document, recipients, signer):
    table = document.add_table(rows=1, cols=2)
    _set_widths(table, (Cm(8.5), Cm(8.0)))
    left, right = table.rows[0].cells
    paragraph = left.paragraphs[0]
    paragraph.paragraph_format.space_after = Pt(0)
    _set_font(paragraph.add_run("Nơi nhận:"), 12, True, True)
    for index, line in enumerate(recipients):
        mark = "." if index == len(recipients) - 1 else ";"
        text = line.rstrip(";.") + mark
        item = left.add_paragraph()
        item.paragraph_format.space_after = Pt(0)
        _set_font(item.add_run(f"- {text}"), 11)

    lines = [
        (signer.get("authority") or None, 14, True, False),
        (signer.get("title") or None, 14, True, False),
        (signer.get("note") or None, 13, False, True),
    ]
    _cell_lines(right, lines)
    for _ in range(4):
        right.add_paragraph()
    _cell_lines_after(right, signer.get("name") or "")


def _cell_lines_after(cell, name):
    paragraph = cell.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _set_font(paragraph.add_run(name), 14, True)


def _footnote(document, data):
    head = data.log_head or {}
    text = (
        "Số liệu trong báo cáo được tổng hợp từ nhật ký sự kiện của hệ thống "
        f"phối hợp, tính đến mục số {head.get('seq', 0)} "
        f"(mã kiểm tra SHA-256: {head.get('hash', '')})."
    )
    paragraph = _paragraph(document, text, size=10, italic=True, before=12)
    paragraph.runs[0].font.color.rgb = RGBColor(0x55, 0x55, 0x55)


def _t(data, key):
    return vi_number(data.totals.get(key, 0))


def _city_body(document, data, numbering, settings):
    tables = data.tables
    _heading(document, "I. KẾT QUẢ THỰC HIỆN")

    _heading(document, "1. Tiếp nhận thông tin", 2)
    channels = tables["received_by_channel"].rows[:3]
    main = ", ".join(
        f"{label[:1].lower()}{label[1:]} ({vi_number(count)})"
        for label, count in channels
    )
    _body(
        document,
        f"Trong kỳ, Sở tiếp nhận {_t(data, 'cases_received')} vụ việc có dấu hiệu "
        f"thông tin xấu, độc trên không gian mạng, trong đó {_t(data, 'incidents')} "
        "vụ việc là sự cố phát sinh thuộc ngành, lĩnh vực, địa bàn"
        + (f"; tiếp nhận nhiều nhất qua: {main}." if main else "."),
    )
    _table(document, tables["received_by_channel"], numbering)
    _table(document, tables["received_by_category"], numbering)
    _chart(
        document,
        charts.horizontal_bars(
            "Vụ việc tiếp nhận theo nhóm nội dung",
            [(row[0], row[1]) for row in tables["received_by_category"].rows],
        ),
        "Vụ việc tiếp nhận theo nhóm nội dung",
        numbering,
    )

    _heading(document, "2. Phân công chủ trì, phối hợp xử lý", 2)
    _body(
        document,
        f"{_t(data, 'agencies_involved')} cơ quan, đơn vị được phân công chủ trì "
        "hoặc phối hợp xử lý theo chức năng, nhiệm vụ quy định tại Điều 7 của "
        f"Quy chế. Đến cuối kỳ, {_t(data, 'open_at_end')} vụ việc đang trong quá "
        "trình xử lý.",
    )
    _table(document, tables["cases_by_agency"], numbering)
    _table(document, tables["cases_by_state"], numbering)
    _chart(
        document,
        charts.stacked_bars(
            "Vụ việc theo cơ quan chủ trì, phối hợp",
            [row[0] for row in tables["cases_by_agency"].rows],
            [
                (
                    "Chủ trì",
                    "primary",
                    [row[1] for row in tables["cases_by_agency"].rows],
                ),
                (
                    "Phối hợp",
                    "secondary",
                    [row[2] for row in tables["cases_by_agency"].rows],
                ),
            ],
        ),
        "Vụ việc theo cơ quan chủ trì, phối hợp",
        numbering,
    )
    _appraisal_and_handling(document, data, numbering)
    _deadlines(document, data, numbering)
    _escalations(document, data, numbering)
    _difficulties_and_proposals(document, data, numbering, settings, "II", "III")


def _appraisal_and_handling(document, data, numbering, first=3):
    tables = data.tables
    _heading(document, f"{first}. Kiểm tra, xác minh, thẩm định", 2)
    _body(
        document,
        f"Tổ chức {_t(data, 'consultations')} đợt lấy ý kiến bằng văn bản và "
        f"{_t(data, 'meetings')} cuộc họp (Điều 5.2), tiếp nhận "
        f"{_t(data, 'opinions')} ý kiến của các cơ quan. Đã thẩm định "
        f"{_t(data, 'appraisals')} vụ việc, trong đó {_t(data, 'violations')} vụ "
        f"việc có vi phạm; {_t(data, 'rejected')} vụ việc được kết luận không phải "
        "thông tin xấu, độc, bảo đảm không cản trở quyền tự do báo chí, tự do "
        "ngôn luận (Điều 4.2).",
    )
    _table(document, tables["appraisal_outcomes"], numbering)

    _heading(document, f"{first + 1}. Quyết định và biện pháp xử lý", 2)
    _body(
        document,
        f"Ban hành {_t(data, 'decisions')} quyết định xử lý với "
        f"{_t(data, 'measures')} biện pháp, mỗi quyết định nêu rõ căn cứ pháp lý "
        "(Điều 3 của Quy chế).",
    )
    _table(document, tables["measures_by_kind"], numbering)

    _heading(document, f"{first + 2}. Kết quả xử lý", 2)
    _body(
        document,
        f"Các cơ quan báo cáo kết quả {_t(data, 'results_reported')} biện pháp: "
        f"{_t(data, 'results_done')} hoàn thành, {_t(data, 'results_partly_done')} "
        f"hoàn thành một phần, {_t(data, 'results_not_possible')} không thực hiện "
        f"được. {_t(data, 'cases_resolved')} vụ việc đã xử lý xong, "
        f"{_t(data, 'cases_closed')} vụ việc đã đóng; đã cung cấp "
        f"{_t(data, 'results_published')} thông báo kết quả xử lý cho báo chí "
        "(Điều 6.6).",
    )
    _table(document, tables["handling_results"], numbering)


def _deadlines(document, data, numbering, number=6):
    tables = data.tables
    _heading(document, f"{number}. Chấp hành thời hạn", 2)
    _body(
        document,
        f"Trong kỳ có {_t(data, 'deadlines_due')} thời hạn có hạn chót trong kỳ: "
        f"{_t(data, 'deadlines_on_time')} thực hiện đúng hạn, "
        f"{_t(data, 'deadlines_late')} trễ hạn, {_t(data, 'deadlines_missed')} quá "
        f"hạn chưa thực hiện, {_t(data, 'deadlines_pending')} chưa đến hạn. "
        "Về cung cấp thông tin ban đầu cho cơ quan báo chí "
        "chậm nhất 2 giờ kể từ khi sự cố phát sinh (Điều 7.6.d): "
        f"{_t(data, 'initial_info_due')} trường hợp, "
        f"{_t(data, 'initial_info_on_time')} đúng hạn, "
        f"{_t(data, 'initial_info_late')} trễ hạn, "
        f"{_t(data, 'initial_info_missed')} chưa cung cấp, "
        f"{_t(data, 'initial_info_pending')} chưa đến hạn.",
    )
    compliance = tables["deadline_compliance"]
    _table(document, compliance, numbering)
    _table(document, tables["initial_info"], numbering)
    _chart(
        document,
        charts.stacked_bars(
            "Chấp hành thời hạn theo loại",
            [row[0] for row in compliance.rows],
            [
                ("Đúng hạn", "good", [row[2] for row in compliance.rows]),
                ("Trễ hạn", "warn", [row[3] for row in compliance.rows]),
                ("Quá hạn", "bad", [row[4] for row in compliance.rows]),
            ],
        ),
        "Chấp hành thời hạn theo loại",
        numbering,
    )


def _escalations(document, data, numbering, number=7):
    _heading(document, f"{number}. Vụ việc vượt thẩm quyền", 2)
    _body(
        document,
        f"{_t(data, 'escalations')} vụ việc được báo cáo cấp trên: "
        f"{_t(data, 'escalations_city')} vụ việc báo cáo Ủy ban nhân dân thành phố "
        f"(Điều 7.1.a, 7.1.h), {_t(data, 'escalations_ministry')} vụ việc đề xuất "
        "Bộ gỡ bỏ nội dung vi phạm (Điều 7.1.g).",
    )
    if data.tables["escalations"].rows:
        _table(document, data.tables["escalations"], numbering)


def _difficulties_and_proposals(document, data, numbering, settings, second, third):
    _heading(document, f"{second}. KHÓ KHĂN, VƯỚNG MẮC")
    difficulties = data.tables["difficulties_summary"]
    if difficulties.rows:
        _body(
            document,
            f"Các cơ quan ghi nhận {_t(data, 'difficulties')} lượt khó khăn, vướng "
            f"mắc khi thực hiện Quy chế (Điều 8.3), gồm "
            f"{vi_number(len(difficulties.rows))} nội dung:",
        )
        _table(document, difficulties, numbering)
    else:
        _body(document, "Trong kỳ, các cơ quan không ghi nhận khó khăn, vướng mắc.")

    _heading(document, f"{third}. ĐỀ XUẤT, KIẾN NGHỊ")
    for line in settings.get("proposals") or ():
        _body(document, line)


def _agency_body(document, data, numbering, settings):
    tables = data.tables
    _heading(document, "I. TÌNH HÌNH VÀ KẾT QUẢ XỬ LÝ")
    _heading(document, "1. Vụ việc được phân công", 2)
    _body(
        document,
        f"Trong kỳ, {data.agency_name} được phân công chủ trì hoặc phối hợp xử lý "
        f"{_t(data, 'cases_received')} vụ việc; đến cuối kỳ "
        f"{_t(data, 'open_at_end')} vụ việc đang trong quá trình xử lý. Đã tham gia "
        f"{_t(data, 'opinions')} ý kiến (đồng ý {_t(data, 'opinions_agree')}, không "
        f"đồng ý {_t(data, 'opinions_disagree')}, không có ý kiến "
        f"{_t(data, 'opinions_abstain')}).",
    )
    _table(document, tables["received_by_category"], numbering)
    _table(document, tables["cases_by_state"], numbering)
    _appraisal_and_handling(document, data, numbering, first=2)
    _chart(
        document,
        charts.horizontal_bars(
            "Kết quả thực hiện biện pháp",
            list(
                zip(
                    tables["handling_results"].columns[1:4],
                    (tables["handling_results"].total or [None, 0, 0, 0])[1:4],
                    strict=True,
                )
            ),
            colour="good",
        ),
        "Kết quả thực hiện biện pháp",
        numbering,
    )
    _deadlines(document, data, numbering, number=5)
    _escalations(document, data, numbering, number=6)
    _difficulties_and_proposals(document, data, numbering, settings, "II", "III")


def issuer_of(data, settings):
    """Who issues the report: DIC for the City report, else the agency."""
    if data.kind != AGENCY_RESULTS:
        return dict(settings["issuer"]), True
    name = labels.agency(data.agency)
    kind = labels.agency_kind(data.agency)
    parent = PARENTS.get(kind)
    issuer = {
        "parent": parent,
        "name": name,
        "abbreviation": abbreviation(name),
        "place": settings["issuer"].get("place", "Hải Phòng"),
    }
    return issuer, kind != "party_commission"


def title_lines(data):
    if data.kind == AGENCY_RESULTS:
        return (
            f"Kết quả xử lý thông tin xấu, độc trên không gian mạng {data.period.label}"
        )
    return (
        "Kết quả phối hợp theo dõi, phát hiện, xử lý thông tin xấu, độc trên "
        f"không gian mạng {data.period.label}"
    )


def render_docx(data, settings):
    """The report as .docx bytes."""
    document = Document()
    _setup(document)
    issuer, national = issuer_of(data, settings)
    _header(
        document,
        issuer,
        vi_date_line(issuer.get("place") or "Hải Phòng", data.generated_at),
        national,
    )

    _paragraph(
        document,
        "BÁO CÁO",
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        before=18,
        after=0,
    )
    _paragraph(
        document, title_lines(data), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, after=0
    )
    _rule(document, 6.5)
    _paragraph(
        document,
        f"Kính gửi: {CITY_COMMITTEE}.",
        align=WD_ALIGN_PARAGRAPH.CENTER,
        before=6,
        after=12,
    )

    reporter = (
        issuer["name"]
        if data.kind == AGENCY_RESULTS
        else (settings["issuer"].get("short_name") or issuer["name"].capitalize())
    )
    _body(
        document,
        f"Thực hiện {REGULATION}, {reporter} báo cáo kết quả thực hiện "
        f"{data.period.label} như sau:",
    )
    numbering = _Numbering()
    if data.kind == AGENCY_RESULTS:
        _agency_body(document, data, numbering, settings)
        recipients = [
            "Như trên",
            "Sở Thông tin và Truyền thông (để tổng hợp)",
            "Lưu: VT",
        ]
        signer = {
            "authority": "THỦ TRƯỞNG CƠ QUAN",
            "note": "(Ký, ghi rõ họ tên, đóng dấu)",
        }
    else:
        _city_body(document, data, numbering, settings)
        recipients = list(settings.get("recipients") or ())
        signer = dict(settings.get("signer") or {})
    _body(
        document,
        f"Trên đây là báo cáo của {reporter} về kết quả thực hiện "
        f"{data.period.label}, kính báo cáo Ủy ban nhân dân thành phố xem xét, "
        "chỉ đạo./.",
    )
    _closing(document, recipients, signer)
    _footnote(document, data)

    document.core_properties.title = f"Báo cáo {title_lines(data)}"
    document.core_properties.author = issuer["name"]
    document.core_properties.created = data.generated_at.replace(tzinfo=None)
    buffer = io.BytesIO()
    document.save(buffer)

    return buffer.getvalue()
