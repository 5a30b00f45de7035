"""Report figures and their Word and Excel layouts, on a scripted month held
in memory (no database)."""

import io
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from docx import Document
from openpyxl import load_workbook

from services.reporting.documents import abbreviation, render_docx, vi_date_line
from services.reporting.eventlog import GENESIS_HASH, make_entry
from services.reporting.figures import WITHHELD, compile_report
from services.reporting.periods import parse_period
from services.reporting.projections import Fold
from services.reporting.service import ReportingSettings
from services.reporting.simulation import simulate, start_of_month
from services.reporting.workbook import read_table, render_xlsx

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


class MemorySources:
    """The report's sources over a log folded in memory."""

    def __init__(self, entries):
        self.entries = entries
        self.fold = Fold(None)
        for entry in entries:
            self.fold.apply(entry)

    def cases_opened(self, period):
        return [
            doc
            for doc in self.fold.cases.values()
            if doc["opened_at"] and period.contains(doc["opened_at"])
        ]

    def cases(self, ids):
        return [
            self.fold.cases[case_id] for case_id in ids if case_id in self.fold.cases
        ]

    def case_ids_of(self, agency):
        return {
            doc["_id"]
            for doc in self.fold.cases.values()
            if agency in doc["agency_codes"]
        }

    def activity(self, period):
        found = defaultdict(list)
        for entry in self.entries:
            if period.contains(entry["occurred_at"]):
                found[entry["type"]].append(entry)
        return found

    def deadlines_due(self, period):
        return [
            record
            for record in self.fold.deadlines.values()
            if record["due_at"] and period.contains(record["due_at"])
        ]


@pytest.fixture(scope="module")
def month():
    events = simulate(120, start_of_month(2026, 11), days=29, seed=3)
    entries, previous = [], GENESIS_HASH
    for seq, event in enumerate(events, start=1):
        entry = make_entry(event.envelope, seq, previous, NOW)
        previous = entry["hash"]
        entries.append(entry)
    return entries


@pytest.fixture(scope="module")
def city_report(month):
    period = parse_period("month", "2026-11")
    head = {"seq": len(month), "hash": month[-1]["hash"]}
    return compile_report(MemorySources(month), period, now=NOW, log_head=head)


@pytest.fixture(scope="module")
def settings():
    return ReportingSettings().load({})


def in_period(entries, kind):
    period = parse_period("month", "2026-11")
    return [
        entry
        for entry in entries
        if entry["type"] == kind and period.contains(entry["occurred_at"])
    ]


def test_cases_received_by_channel_are_the_cases_opened_in_the_month(
    month, city_report
):
    opened = in_period(month, "case.opened")
    expected = defaultdict(int)
    for entry in opened:
        expected[entry["event"]["payload"]["channel"]] += 1

    table = city_report.tables["received_by_channel"]
    assert city_report.totals["cases_received"] == len(opened)
    assert table.total[1] == len(opened)
    assert sorted(row[1] for row in table.rows) == sorted(expected.values())


def test_activity_totals_count_the_events_of_the_month(month, city_report):
    totals = city_report.totals
    appraised = in_period(month, "case.appraised")

    assert totals["appraisals"] == len(appraised)
    assert totals["violations"] == sum(
        1 for entry in appraised if entry["event"]["payload"]["outcome"] == "violates"
    )
    assert totals["decisions"] == len(in_period(month, "case.decided"))
    assert totals["results_reported"] == len(in_period(month, "measure.reported"))
    assert totals["escalations"] == len(in_period(month, "case.escalated"))
    assert totals["difficulties"] == sum(
        1
        for entry in in_period(month, "measure.reported")
        if entry["event"]["payload"]["difficulties"]
    )


def test_classified_cases_text_is_withheld_from_difficulties(month, city_report):
    secret = {
        entry["case_id"] for entry in month if entry["classification"] == "secret"
    }
    rows = city_report.tables["difficulties"].rows

    assert any(row[1] in secret for row in rows)
    for row in rows:
        assert (row[3] == WITHHELD) == (row[1] in secret)


def test_word_document_has_the_administrative_layout(city_report, settings):
    document = Document(io.BytesIO(render_docx(city_report, settings)))
    header = document.tables[0]
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    # A long name may be set on two lines: compare the words.
    header_text = " ".join(
        " ".join(cell.text.split()) for row in header.rows for cell in row.cells
    )

    assert "ỦY BAN NHÂN DÂN THÀNH PHỐ HẢI PHÒNG" in header_text
    assert "SỞ THÔNG TIN VÀ TRUYỀN THÔNG" in header_text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in header_text
    assert "Độc lập - Tự do - Hạnh phúc" in header_text
    assert "Số: .../BC-STTTT" in header_text
    assert "Hải Phòng, ngày 03 tháng 12 năm 2026" in header_text
    assert "BÁO CÁO" in text
    assert "tháng 11 năm 2026" in text
    assert "II. KHÓ KHĂN, VƯỚNG MẮC" in text
    closing = "\n".join(cell.text for cell in document.tables[-1].rows[0].cells)
    assert "Nơi nhận:" in closing
    assert "KT. GIÁM ĐỐC" in closing
    assert len(document.inline_shapes) >= 3
    fonts = {
        run.font.name
        for paragraph in document.paragraphs
        for run in paragraph.runs
        if run.text
    }
    assert fonts == {"Times New Roman"}


def test_agency_result_report_is_addressed_to_the_city_and_copied_to_dic(
    month, settings
):
    period = parse_period("month", "2026-11")
    sources = MemorySources(month)
    data = compile_report(sources, period, agency="police", now=NOW)
    document = Document(io.BytesIO(render_docx(data, settings)))
    header_text = "\n".join(
        cell.text for row in document.tables[0].rows for cell in row.cells
    )
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    closing = document.tables[-1].rows[0].cells[0].text

    assert "CÔNG AN THÀNH PHỐ" in header_text
    assert "Số: .../BC-CATP" in header_text
    assert "Kính gửi: Ủy ban nhân dân thành phố Hải Phòng." in text
    assert "Sở Thông tin và Truyền thông (để tổng hợp)" in closing
    assert data.totals["cases_received"] == sum(
        1
        for entry in in_period(month, "case.opened")
        if "police" in sources.fold.cases[entry["case_id"]]["agency_codes"]
    )


def test_workbook_tables_read_back_as_compiled(city_report):
    workbook = load_workbook(io.BytesIO(render_xlsx(city_report, "Sở TT&TT")))

    assert workbook.sheetnames[0] == "Tổng hợp"
    for key in ("received_by_channel", "cases_by_agency", "deadline_compliance"):
        table = city_report.tables[key]
        columns, rows, total = read_table(workbook, key)
        assert columns == table.columns
        assert rows == [list(row) for row in table.rows]
        assert total == (list(table.total) if table.total else None)


@pytest.mark.parametrize(
    ("moment", "line"),
    [
        (
            datetime(2026, 2, 3, 3, 0, tzinfo=UTC),
            "Hải Phòng, ngày 03 tháng 02 năm 2026",
        ),
        (
            datetime(2026, 11, 20, 3, 0, tzinfo=UTC),
            "Hải Phòng, ngày 20 tháng 11 năm 2026",
        ),
        (
            datetime(2026, 3, 31, 18, 0, tzinfo=UTC),
            "Hải Phòng, ngày 01 tháng 4 năm 2026",
        ),
    ],
    ids=["leading-zeros", "no-zeros", "local-next-day"],
)
def test_date_line_follows_the_clerical_rules(moment, line):
    assert vi_date_line("Hải Phòng", moment) == line


def test_abbreviation_takes_initials_without_diacritics():
    assert abbreviation("Sở Y tế") == "SYT"
    assert abbreviation("Sở Thông tin và Truyền thông (Thanh tra Sở)") == "STTVTT"
