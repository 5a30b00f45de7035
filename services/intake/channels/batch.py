"""CSV and XLSX batch files: one report per row, rows read in order.

The header names the columns; text, link, title, sector, locality and
category columns are recognised under their usual English and Vietnamese
names, any other column is kept with the report. A row that cannot be read
becomes a ``RowError`` (quarantined by the service with its row number);
the rest of the file goes on. Each row's idempotency key is the file's
SHA-256 and the row number, so importing the same file twice adds nothing.
"""

import csv
import hashlib
import io
import sys
from dataclasses import dataclass, field

from phoihop.normalise import nfc, strip_diacritics
from services.intake.channels.base import ParseError, decode_utf8

# A field may hold a whole article (VFND texts run to tens of kilobytes);
# the service's own text limit decides what is too long, per row.
csv.field_size_limit(min(sys.maxsize, 64 * 1024 * 1024))

COLUMNS = {
    "text": ("text", "content", "noi dung", "captured_text", "message", "body"),
    "url": ("url", "link", "duong dan", "post-url", "post_url"),
    "title": ("title", "tieu de", "subject", "trich yeu"),
    "sector": ("sector", "linh vuc", "nganh"),
    "locality": ("locality", "dia ban", "dia phuong"),
    "category": ("category", "categories", "phan loai", "loai"),
    "incident": ("incident", "su co"),
}


class _Semicolon(csv.excel):
    delimiter = ";"


@dataclass
class Row:
    """One row read from a batch file."""

    number: int
    values: dict
    raw: str
    report: dict | None = None


@dataclass
class RowError:
    """One row that could not be read, and why."""

    number: int
    raw: str
    reason: str
    fields: dict = field(default_factory=dict)


def file_key(data):
    return hashlib.sha256(data).hexdigest()


def _column_of(header):
    name = strip_diacritics(nfc(header or "")).strip().lower().replace("_", " ")
    for column, aliases in COLUMNS.items():
        if name in {a.replace("_", " ") for a in aliases}:
            return column
    return None


def read_csv(data):
    """The rows of a CSV file; raises ParseError when the file itself is bad."""
    text = decode_utf8(data, "file")
    # Comma-separated unless the header line has no comma at all; sniffing
    # whole samples misreads texts full of commas and quotes.
    first_line = text.split("\n", 1)[0]
    dialect = csv.excel
    if "," not in first_line:
        dialect = csv.excel_tab if "\t" in first_line else _Semicolon
    # Strict: a quote left open would otherwise swallow the rest of the
    # file into one field and open a case with it; strict makes it a row
    # error, kept in quarantine with the reason.
    reader = csv.reader(io.StringIO(text, newline=""), dialect, strict=True)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise ParseError("the file is empty", {"file": "no header row"}) from exc
    except csv.Error as exc:
        raise ParseError(
            f"the header row cannot be read: {exc}", {"file": "bad header"}
        ) from exc
    header = _check_header(header)
    number = 1
    while True:
        number += 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(
                number, "", f"row {number} cannot be read: {exc}", {"row": str(exc)}
            )
            continue
        yield _row(number, header, values)


def read_xlsx(data):
    """The rows of the first sheet of an XLSX workbook."""
    from openpyxl import load_workbook

    try:
        # openpyxl parses the workbook's XML with defusedxml when it is
        # installed (it is a dependency of ours), so XML bombs are refused.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds
        raise ParseError(
            f"the file is not a readable XLSX workbook: {exc}", {"file": "not XLSX"}
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        try:
            header = next(rows)
        except StopIteration as exc:
            raise ParseError("the sheet is empty", {"file": "no header row"}) from exc
        header = _check_header(["" if v is None else str(v) for v in header])
        for number, values in enumerate(rows, start=2):
            cells = ["" if v is None else str(v) for v in values]
            if not any(cell.strip() for cell in cells):
                continue
            yield _row(number, header, cells)
    finally:
        workbook.close()


def _check_header(header):
    columns = [_column_of(name) for name in header]
    if "text" not in columns and "url" not in columns:
        raise ParseError(
            "the header has no text or link column (looked for: "
            + ", ".join(COLUMNS["text"] + COLUMNS["url"])
            + ")",
            {"header": "needs a text or url column"},
        )
    return header


def _raw_line(header, values):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerow(values)
    return buffer.getvalue()


def _row(number, header, values):
    raw = _raw_line(header, values)
    if len(values) > len(header):
        extra = [v for v in values[len(header) :] if v.strip()]
        if extra:
            return RowError(
                number,
                raw,
                f"row {number} has {len(values)} fields, the header {len(header)}",
                {"row": "too many fields"},
            )
    record = {}
    others = {}
    for name, value in zip(header, values, strict=False):
        column = _column_of(name)
        if column and column not in record:
            record[column] = value
        elif name or value:
            others[name or f"column_{len(others) + 1}"] = value[:2000]
    if not (record.get("text", "").strip() or record.get("url", "").strip()):
        return RowError(
            number,
            raw,
            f"row {number} has neither text nor a link",
            {"text": "required without url"},
        )

    return Row(number, record, raw, report=_report(record, others))


def _report(record, others):
    item = {}
    if record.get("url", "").strip():
        item["url"] = record["url"].strip()
    if record.get("text", "").strip():
        item["captured_text"] = record["text"]
    categories = [
        c.strip() for c in record.get("category", "").replace(";", ",").split(",")
    ]
    incident = record.get("incident", "").strip().lower() in (
        "1",
        "true",
        "yes",
        "có",
        "x",
    )

    return {
        "title": (record.get("title") or "").strip()[:500] or None,
        "content_items": [item],
        "about": {
            "sector": (record.get("sector") or "").strip() or None,
            "locality": (record.get("locality") or "").strip() or None,
            "text": "",
        },
        "suggested_categories": [c for c in categories if c],
        "incident": incident,
        "source": {"columns": others} if others else {},
    }
