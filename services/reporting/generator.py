"""Generating a report: figures, then the Word document and the workbook,
written to the reports folder with their SHA-256.

Files are written under a temporary name and renamed into place, so a
reader never sees half a document; the hash is of the bytes written.
"""

import hashlib
import os
import uuid
from pathlib import Path

from phoihop.config import PROJECT_ROOT

from . import labels
from .documents import issuer_of, render_docx
from .figures import compile_report
from .workbook import render_xlsx

FORMATS = ("docx", "xlsx")


def sha256_of(data):
    return hashlib.sha256(data).hexdigest()


def reports_folder(configured):
    """The configured folder, relative paths taken from the project root."""
    path = Path(configured)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    partial.write_bytes(data)
    os.replace(partial, path)


def file_stem(data, report_id):
    who = data.agency or "ubnd-tp"
    return f"bao-cao-{who}-{data.period.code}-{report_id[:8]}"


def generate(
    sources, period, settings, *, agency=None, now=None, log_head=None, report_id=None
):
    """Compile and write one report; returns ``(data, record)`` where the
    record lists the files with their paths, sizes and hashes."""
    report_id = report_id or uuid.uuid4().hex
    data = compile_report(sources, period, agency=agency, now=now, log_head=log_head)
    issuer, _ = issuer_of(data, settings)
    contents = {
        "docx": render_docx(data, settings),
        "xlsx": render_xlsx(data, issuer["name"]),
    }

    folder = reports_folder(settings["reports_dir"]) / period.code
    stem = file_stem(data, report_id)
    files = []
    for fmt in FORMATS:
        path = folder / f"{stem}.{fmt}"
        _write(path, contents[fmt])
        files.append(
            {
                "format": fmt,
                "name": path.name,
                "path": str(path),
                "sha256": sha256_of(contents[fmt]),
                "size_bytes": len(contents[fmt]),
            }
        )
    record = {
        "report_id": report_id,
        "report_kind": data.kind,
        "agency": agency,
        "agency_name": labels.agency(agency) if agency else None,
        "issuer": issuer["name"],
        "period": period.to_dict(),
        "files": files,
        "sha256": files[0]["sha256"],
        "format": list(FORMATS),
        "log_head": dict(log_head or {}),
        "totals": dict(data.totals),
        "generated_at": data.generated_at,
    }

    return data, record
