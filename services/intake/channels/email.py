"""The email channel (Art. 5.1.a): one MIME message becomes one report.

Read with the standard library's ``email`` package and its modern policy,
which decodes encoded-word subjects, quoted-printable and base64 bodies. The
plain-text body is preferred; an HTML-only body is turned into text. Every
other part is an attachment. A message without a From header is accepted
(the reporter is then anonymous) and the absence is recorded. The
Message-ID is the idempotency key, so a message fetched twice is one report.
"""

import hashlib
from email import policy
from email.errors import HeaderParseError
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from services.intake.channels.base import (
    ParseError,
    attachment,
    content_items_from_text,
)
from services.intake.channels.html_text import html_to_text

CHANNEL = "email"
MAX_ATTACHMENTS = 50
MESSAGE_HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "sender",
    "mime-version",
    "content-type",
)


def parse(data, reporter=None):
    """One report from the bytes of one RFC 5322 message."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if not data.strip():
        raise ParseError("the message is empty", {"message": "empty"})
    message = BytesParser(policy=policy.default).parsebytes(data)
    if not message.keys():
        raise ParseError("the input has no mail headers", {"message": "no headers"})
    # Any text with a colon on its first line parses as a header; a message
    # carries at least one of the headers of RFC 5322 or MIME (forwarded
    # parts may carry only Content-Type).
    # By name only: reading a header parses it, and a malformed one raises.
    if not any(name.lower() in MESSAGE_HEADERS for name in message.keys()):
        raise ParseError(
            "the input has none of the headers of a mail message "
            "(From, To, Subject, Date, Message-ID, Content-Type)",
            {"message": "not a mail message"},
        )

    subject = _header(message, "subject") or ""
    sender = _sender(message)
    body, links = _body(message)
    files = _attachments(message)
    if not (body.strip() or subject.strip() or files):
        raise ParseError(
            "the message has no subject, no text and no attachment",
            {"message": "nothing to report"},
        )

    message_id = (_header(message, "message-id") or "").strip()
    key = (
        f"email:{message_id}"
        if message_id
        else "email:sha256:" + hashlib.sha256(data).hexdigest()
    )
    source = {
        "message_id": message_id or None,
        "subject": subject,
        "from": _header(message, "from"),
        "to": _header(message, "to"),
        "date": _date(message),
        "missing_from": sender is None,
        "defects": [type(d).__name__ for d in message.defects][:20],
    }
    text = body if body.strip() else subject
    return [
        {
            "channel": CHANNEL,
            "reporter": sender or {"kind": "anonymous"},
            "title": subject[:500] or None,
            "content_items": content_items_from_text(text, links),
            "attachments": files,
            "about": {"text": subject if body.strip() else ""},
            "idempotency_key": key[:300],
            "source": {k: v for k, v in source.items() if v not in (None, "", [])},
        }
    ]


def _text(value):
    """Header text as valid Unicode. Raw 8-bit bytes in a header (allowed by
    SMTPUTF8, sent by careless clients too) come out of the parser as lone
    surrogates, which no database can store: read them as UTF-8, and what
    is not UTF-8 as the replacement character."""
    if value is None:
        return None
    return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _header(message, name):
    try:
        value = message.get(name)
    except (HeaderParseError, ValueError, IndexError):
        return None
    return _text(value)


def _sender(message):
    try:
        header = message.get("from")
        addresses = getattr(header, "addresses", ()) if header is not None else ()
    except (HeaderParseError, ValueError, IndexError):
        addresses = ()
    for address in addresses:
        email = _text(address.addr_spec)
        if email and "@" in email:
            contact = {"email": email[:254]}
            if address.display_name:
                contact["name"] = _text(address.display_name)[:200]
            return {"kind": "citizen", "contact": contact}
    return None


def _date(message):
    value = _header(message, "date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError):
        return value


def _content(part):
    # get_content() decodes the transfer encoding and the charset; an
    # unknown charset falls back to UTF-8 with replacement so the text is
    # still read (the raw message is kept for audit).
    if part.get_content_maintype() == "text" and part.get_param("charset") is None:
        # No charset named: the standard says ASCII, but 8-bit Vietnamese
        # text without one is UTF-8 far more often than anything else.
        return _utf8_payload(part)
    try:
        content = part.get_content()
        return _text(content) if isinstance(content, str) else content
    except (LookupError, UnicodeError, AssertionError, KeyError):
        return _utf8_payload(part)


def _utf8_payload(part):
    payload = part.get_payload(decode=True) or b""
    return payload.decode("utf-8", "replace")


def _body(message):
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except (KeyError, AttributeError):
        part = None
    if part is None:
        return "", []
    content = _content(part)
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    links = []
    if part.get_content_subtype() == "html":
        content, links = html_to_text(content)
    # Further inline text parts (a mixed message may carry several) are
    # read too, so no text of the message is left out of the report.
    for other in message.walk():
        if other is part or other.is_multipart() or other.get_filename():
            continue
        if other.get_content_type() != "text/plain" or other.get_content_disposition():
            continue
        extra = _content(other)
        if isinstance(extra, str) and extra.strip() and extra.strip() not in content:
            content = content.rstrip() + "\n\n" + extra.strip()

    return content, links


def _attachments(message):
    files = []
    try:
        parts = list(message.iter_attachments())
    except (KeyError, AttributeError, TypeError):
        parts = []
    for part in parts:
        if part.is_multipart():
            continue
        content = _content(part)
        if isinstance(content, str):
            content = content.encode("utf-8")
        elif not isinstance(content, bytes):
            content = part.get_payload(decode=True) or b""
        filename = _text(part.get_filename())
        files.append(attachment(content, filename, part.get_content_type()))
        if len(files) >= MAX_ATTACHMENTS:
            break
    return files
