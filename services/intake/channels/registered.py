"""Reports an officer registers by hand: phone calls and postal letters.

Art. 5.1.a (phone) and 5.1.b (documents by post). The officer who took the
call or opened the letter types what it said; scanned pages come as
attachments. The officer and agency are recorded as who registered it; the
caller or sender is the reporter, with a minimal contact.
"""

import base64
import binascii

from services.intake.channels.base import (
    ParseError,
    attachment,
    content_items_from_text,
    load_json,
    require_mapping,
    text_field,
)

MAX_SUMMARY = 100_000


def parse_phone(data, reporter=None):
    """A phone call log entry: who called, when, what was said."""
    record = _record(data)
    summary = text_field(record, "summary", required=True, max_length=MAX_SUMMARY)
    called_at = text_field(record, "called_at", required=True)
    caller = _person(record.get("caller"), "caller")
    source = {
        "called_at": called_at,
        "duration_seconds": record.get("duration_seconds"),
        "registered_by": reporter,
    }

    return [_report("phone", record, summary, caller, reporter, source)]


def parse_letter(data, reporter=None):
    """A postal letter: sender, reference, dates, summary and scans."""
    record = _record(data)
    summary = text_field(record, "summary", max_length=MAX_SUMMARY)
    subject = text_field(record, "subject", max_length=500)
    received_on = text_field(record, "received_on", required=True)
    if not (summary or subject or record.get("attachments")):
        raise ParseError(
            "a letter needs a summary, a subject or a scanned page",
            {"summary": "required without subject or scans"},
        )
    sender = _person(record.get("sender"), "sender")
    source = {
        "received_on": received_on,
        "reference": text_field(record, "reference", max_length=200),
        "sender_address": text_field(
            record.get("sender") or {}, "address", "sender.address", max_length=500
        ),
        "registered_by": reporter,
    }
    report = _report("post", record, summary or subject or "", sender, reporter, source)
    report["title"] = subject

    return [report]


def _record(data):
    record = load_json(data) if isinstance(data, (bytes, str)) else data
    return require_mapping(record, "record")


def _person(value, what):
    if value is None:
        return None
    value = require_mapping(value, what)
    agency = text_field(value, "agency", f"{what}.agency", max_length=64)
    if agency:
        return {
            "kind": "agency",
            "agency": agency,
            "officer": text_field(value, "name", f"{what}.name", max_length=200),
        }
    contact = {
        "name": text_field(value, "name", f"{what}.name", max_length=200),
        "phone": text_field(value, "phone", f"{what}.phone", max_length=40),
        "email": text_field(value, "email", f"{what}.email", max_length=254),
    }
    contact = {k: v for k, v in contact.items() if v}
    return {"kind": "citizen", "contact": contact or None}


def _report(channel, record, text, person, reporter, source):
    urls = record.get("urls") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ParseError("urls must be a list of links", {"urls": "list of links"})
    incident = record.get("incident", False)
    if not isinstance(incident, bool):
        raise ParseError(
            "incident must be true or false", {"incident": "true or false"}
        )

    return {
        "channel": channel,
        "reporter": person or {"kind": "anonymous"},
        "content_items": content_items_from_text(text, urls),
        "attachments": _attachments(record.get("attachments") or []),
        "about": {
            "sector": text_field(record, "sector", max_length=500),
            "locality": text_field(record, "locality", max_length=500),
            "text": "",
        },
        "incident": incident,
        "idempotency_key": text_field(record, "idempotency_key", max_length=300),
        "source": {k: v for k, v in source.items() if v is not None},
    }


def _attachments(items):
    if not isinstance(items, list):
        raise ParseError(
            "attachments must be a list", {"attachments": "must be a list"}
        )
    files = []
    for index, item in enumerate(items):
        item = require_mapping(item, f"attachments[{index}]")
        encoded = text_field(
            item, "data_base64", f"attachments[{index}].data_base64", required=True
        )
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ParseError(
                f"attachments[{index}].data_base64 is not valid base64",
                {f"attachments[{index}].data_base64": "not valid base64"},
            ) from exc
        files.append(attachment(data, item.get("filename"), item.get("content_type")))
    return files
