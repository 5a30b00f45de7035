"""What every channel parser shares: the error it raises and safe decoding.

A parser turns the bytes of one input into report dicts in the form of
``phoihop.reports.ReportInputSchema``, or raises ``ParseError`` with the
reason and the fields at fault; the service then quarantines the input.
Attachments travel as base64 until the service stores them by SHA-256.
"""

import base64
import json
import re

from phoihop.normalise import UrlError, canonical_url

# http(s) links in free text: up to whitespace or a closing bracket/quote.
URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'\])}]+", re.IGNORECASE)
_TRAILING = ".,;:!?…"


class ParseError(Exception):
    """Raised when an input cannot be read as reports; says why, per field."""

    def __init__(self, reason, fields=None):
        super().__init__(reason)
        self.reason = reason
        self.fields = fields or {}


def decode_utf8(data, what="input"):
    """Bytes as UTF-8 text (a BOM is allowed); name the first bad byte."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"{what} is not valid UTF-8 "
            f"(byte {exc.start}: {data[exc.start : exc.start + 1]!r})",
            {what: "not valid UTF-8"},
        ) from exc


def load_json(data, what="input"):
    """A JSON document from bytes, with the line and column of an error."""
    text = decode_utf8(data, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"{what} is not valid JSON: {exc.msg} "
            f"at line {exc.lineno} column {exc.colno}",
            {what: "not valid JSON"},
        ) from exc
    except RecursionError as exc:
        raise ParseError(f"{what} is nested too deeply", {what: "too deep"}) from exc


def require_mapping(value, what):
    if not isinstance(value, dict):
        raise ParseError(
            f"{what} must be a JSON object, not {type(value).__name__}",
            {what: "must be an object"},
        )
    return value


def text_field(record, name, what=None, required=False, max_length=None):
    """A string field of a parsed record; a wrong type is named."""
    value = record.get(name)
    label = what or name
    if value is None or value == "":
        if required:
            raise ParseError(f"{label} is missing", {label: "required"})
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ParseError(
            f"{label} must be text, not {type(value).__name__}", {label: "must be text"}
        )
    if max_length is not None and len(value) > max_length:
        raise ParseError(
            f"{label} is {len(value)} characters long, over the limit of {max_length}",
            {label: "too long"},
        )
    return value


def urls_in(text, limit=50):
    """The http(s) links found in a free text, in order, without repeats."""
    found = []
    for match in URL_IN_TEXT.finditer(text or ""):
        url = match.group(0).rstrip(_TRAILING)
        if url not in found:
            found.append(url)
        if len(found) >= limit:
            break
    return found


def attachment(data, filename=None, content_type="application/octet-stream"):
    """An attachment in the report form: bytes carried as base64."""
    return {
        "filename": filename,
        "content_type": content_type or "application/octet-stream",
        "data_base64": base64.b64encode(data).decode("ascii"),
    }


def content_items_from_text(text, urls=None, limit=50):
    """Content items for a free text: one per link, the text on the first;
    the text alone when there is no link."""
    # Links found in free text that cannot be read as URLs stay in the text
    # (nothing is lost) but do not become content items of their own.
    links = list(urls or []) or [u for u in urls_in(text, limit) if _readable(u)]
    if not links:
        return [{"captured_text": text}] if text and text.strip() else []
    items = [{"url": link} for link in links[:limit]]
    items[0]["captured_text"] = text or ""
    return items


def _readable(url):
    try:
        canonical_url(url)
    except UrlError:
        return False
    return True
