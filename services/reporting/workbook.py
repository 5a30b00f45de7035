"""The Excel workbook of a report: the same tables as the Word document.

The first sheet names the report (issuer, period, when it was generated, the
event-log entry it was computed up to) and lists its totals; every table of
the report follows on its own sheet, with a fixed layout that a reader's
own formulas (or a test) can rely on: the title in A1, the column headings
in row 3, one row per line from row 4, and the total row, in bold, last.
"""

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from phoihop.i18n import local_time

from .documents import title_lines

FONT = "Times New Roman"
HEADER_ROW = 3
HEADER_FILL = PatternFill("solid", fgColor="D9E2F3")
THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)

# Sheet names: at most 31 characters, none of : \ / ? * [ ].
SHEET_NAMES = {
    "received_by_channel": "Theo kênh",
    "received_by_category": "Theo nhóm nội dung",
    "cases_by_state": "Theo tình trạng",
    "cases_by_agency": "Theo cơ quan",
    "agency_by_state": "Cơ quan - tình trạng",
    "appraisal_outcomes": "Thẩm định",
    "measures_by_kind": "Biện pháp",
    "handling_results": "Kết quả xử lý",
    "deadline_compliance": "Thời hạn",
    "initial_info": "Thông tin ban đầu 2 giờ",
    "escalations": "Vượt thẩm quyền",
    "difficulties_summary": "Khó khăn vướng mắc",
    "difficulties": "Khó khăn theo vụ việc",
}

TOTAL_LABELS = {
    "cases_received": "Vụ việc tiếp nhận",
    "incidents": "Sự cố (Điều 7.6.d)",
    "classified_cases": "Vụ việc có nội dung mật",
    "open_at_end": "Vụ việc chưa kết thúc cuối kỳ",
    "agencies_involved": "Cơ quan, đơn vị tham gia",
    "consultations": "Đợt lấy ý kiến bằng văn bản",
    "meetings": "Cuộc họp",
    "opinions": "Ý kiến tham gia",
    "opinions_agree": "Ý kiến đồng ý",
    "opinions_disagree": "Ý kiến không đồng ý",
    "opinions_abstain": "Không có ý kiến",
    "appraisals": "Vụ việc đã thẩm định",
    "violations": "Vụ việc có vi phạm",
    "rejected": "Vụ việc không vi phạm (Điều 4.2)",
    "decisions": "Quyết định xử lý",
    "measures": "Biện pháp xử lý",
    "results_reported": "Kết quả biện pháp đã báo cáo",
    "results_done": "Biện pháp hoàn thành",
    "results_partly_done": "Biện pháp hoàn thành một phần",
    "results_not_possible": "Biện pháp không thực hiện được",
    "cases_resolved": "Vụ việc đã xử lý xong",
    "cases_closed": "Vụ việc đã đóng",
    "deadlines_due": "Thời hạn có hạn chót trong kỳ",
    "deadlines_on_time": "Thời hạn đúng hạn",
    "deadlines_late": "Thời hạn trễ hạn",
    "deadlines_missed": "Thời hạn quá hạn chưa thực hiện",
    "deadlines_pending": "Thời hạn chưa đến hạn",
    "initial_info_due": "Thông tin ban đầu phải cung cấp (2 giờ)",
    "initial_info_on_time": "Thông tin ban đầu đúng hạn",
    "initial_info_late": "Thông tin ban đầu trễ hạn",
    "initial_info_missed": "Thông tin ban đầu chưa cung cấp",
    "initial_info_pending": "Thông tin ban đầu chưa đến hạn",
    "escalations": "Vụ việc báo cáo cấp trên",
    "escalations_city": "Báo cáo Ủy ban nhân dân thành phố",
    "escalations_ministry": "Đề xuất Bộ gỡ bỏ",
    "statements": "Thông cáo báo chí đã phát hành",
    "statements_initial_info": "Thông tin ban đầu đã phát hành",
    "results_published": "Thông báo kết quả xử lý cho báo chí",
    "difficulties": "Khó khăn, vướng mắc ghi nhận",
}


def sheet_name(key, used):
    name = SHEET_NAMES.get(key) or key
    name = re.sub(r"[:\\/?*\[\]]", " ", name)[:31]
    candidate, number = name, 2
    while candidate in used:
        suffix = f" ({number})"
        candidate = name[: 31 - len(suffix)] + suffix
        number += 1
    used.add(candidate)
    return candidate


def _font(bold=False, size=11, italic=False):
    return Font(name=FONT, bold=bold, size=size, italic=italic)


def _summary(sheet, data, issuer_name):
    sheet["A1"] = f"BÁO CÁO {title_lines(data)}".upper()
    sheet["A1"].font = _font(True, 13)
    rows = [
        ("Cơ quan báo cáo", issuer_name),
        ("Kỳ báo cáo", data.period.label),
        ("Từ ngày", data.period.first.strftime("%d/%m/%Y")),
        ("Đến hết ngày", data.period.last.strftime("%d/%m/%Y")),
        ("Thời điểm lập", local_time(data.generated_at, "%H:%M %d/%m/%Y")),
        ("Nhật ký sự kiện đến mục số", (data.log_head or {}).get("seq", 0)),
        ("Mã kiểm tra SHA-256 của mục đó", (data.log_head or {}).get("hash", "")),
    ]
    for offset, (label, value) in enumerate(rows, start=HEADER_ROW):
        sheet.cell(offset, 1, label).font = _font(True)
        sheet.cell(offset, 2, value).font = _font()

    start = HEADER_ROW + len(rows) + 1
    sheet.cell(start, 1, "Chỉ tiêu").font = _font(True)
    sheet.cell(start, 2, "Số lượng").font = _font(True)
    for cell in (sheet.cell(start, 1), sheet.cell(start, 2)):
        cell.fill = HEADER_FILL
        cell.border = BORDER
    for offset, (key, value) in enumerate(data.totals.items(), start=start + 1):
        sheet.cell(offset, 1, TOTAL_LABELS.get(key, key)).border = BORDER
        cell = sheet.cell(offset, 2, value)
        cell.border = BORDER
        cell.number_format = "#,##0"
        sheet.cell(offset, 1).font = _font()
        cell.font = _font()
    sheet.column_dimensions["A"].width = 44
    sheet.column_dimensions["B"].width = 70


def _table_sheet(sheet, table):
    sheet["A1"] = table.title
    sheet["A1"].font = _font(True, 13)
    if table.note:
        sheet["A2"] = table.note
        sheet["A2"].font = _font(italic=True)
    for column, heading in enumerate(table.columns, start=1):
        cell = sheet.cell(HEADER_ROW, column, heading)
        cell.font = _font(True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = Alignment(
            wrap_text=True, vertical="center", horizontal="center"
        )

    row_number = HEADER_ROW
    lines = list(table.rows)
    if table.total is not None:
        lines.append(table.total)
    for index, values in enumerate(lines):
        row_number += 1
        is_total = table.total is not None and index == len(lines) - 1
        for column, (value, fmt) in enumerate(
            zip(values, table.formats, strict=True), start=1
        ):
            cell = sheet.cell(row_number, column, value)
            cell.border = BORDER
            cell.font = _font(is_total)
            if fmt == "int":
                cell.number_format = "#,##0"
            elif fmt == "percent":
                cell.number_format = "0.0%"
            else:
                cell.alignment = Alignment(wrap_text=True, vertical="top")

    for column, fmt in enumerate(table.formats, start=1):
        letter = get_column_letter(column)
        if fmt == "text":
            longest = max(
                [len(str(table.columns[column - 1]))]
                + [len(str(row[column - 1] or "")) for row in lines],
            )
            sheet.column_dimensions[letter].width = min(60, max(14, longest + 2))
        else:
            sheet.column_dimensions[letter].width = 14
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 1)


def render_xlsx(data, issuer_name):
    """The report's tables as .xlsx bytes."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Tổng hợp"
    _summary(summary, data, issuer_name)
    used = {summary.title}
    for key, table in data.tables.items():
        _table_sheet(workbook.create_sheet(sheet_name(key, used)), table)

    workbook.properties.title = f"Báo cáo {title_lines(data)}"
    workbook.properties.creator = issuer_name
    workbook.properties.created = data.generated_at.replace(tzinfo=None)
    workbook.properties.modified = data.generated_at.replace(tzinfo=None)
    buffer = io.BytesIO()
    workbook.save(buffer)

    return buffer.getvalue()


def read_table(workbook, key):
    """A table of a saved workbook back as ``(columns, rows, total)``;
    the inverse of the layout above, for readers and tests. The total row
    is the last one, in bold."""
    sheet = workbook[SHEET_NAMES[key]]
    columns = [cell.value for cell in sheet[HEADER_ROW] if cell.value is not None]
    lines = []
    for cells in sheet.iter_rows(min_row=HEADER_ROW + 1):
        cells = cells[: len(columns)]
        if all(cell.value is None for cell in cells):
            continue
        lines.append(cells)
    total = None
    if lines and lines[-1][0].font.bold:
        total = [cell.value for cell in lines.pop()]
    rows = [[cell.value for cell in cells] for cells in lines]

    return columns, rows, total
