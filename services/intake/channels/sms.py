"""The SMS channel (Art. 5.1.a): a gateway's webhook payload, one message.

Messages may follow the public short-code syntax for reporting in Vietnam:
``S <number> <content>`` (a spam text message), ``V <number> <content>``
(a nuisance call) and ``LD <number> <content>`` (a fraud attempt, "lừa
đảo"). The keyword and the reported number are kept; anything else is a
free-text report. The sender's number is the only contact kept.
"""

import re

from services.intake.channels.base import (
    ParseError,
    content_items_from_text,
    load_json,
    require_mapping,
    text_field,
)

CHANNEL = "sms"
MAX_SMS_CHARS = 5000

SHORT_CODES = {
    "S": ("spam_sms", "Tin nhắn rác"),
    "V": ("nuisance_call", "Cuộc gọi rác"),
    "LD": ("fraud", "Lừa đảo"),
}
# Keyword, the reported number (national or +84 form, separators allowed),
# then the content. Case-insensitive: people type "ld" as often as "LD".
_SHORT_CODE = re.compile(
    r"^\s*(?P<code>LD|S|V)\s+(?P<number>\+?\d[\d.\- ]{2,18}\d)"
    r"\s*[:\-]?\s*(?P<content>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_ALIASES = {
    "sender": ("from", "sender", "msisdn", "phone"),
    "text": ("text", "message", "body", "content"),
    "to": ("to", "shortcode", "short_code", "service_number"),
    "id": ("id", "message_id", "sms_id"),
    "received_at": ("received_at", "timestamp", "time"),
}


def parse(data, reporter=None):
    """One report from a webhook payload (JSON object)."""
    payload = load_json(data) if isinstance(data, (bytes, str)) else data
    payload = require_mapping(payload, "payload")
    text = _pick(payload, "text", required=True)
    if len(text) > MAX_SMS_CHARS:
        raise ParseError(
            f"text is {len(text)} characters long, "
            f"over the SMS limit of {MAX_SMS_CHARS}",
            {"text": "too long"},
        )
    if not text.strip():
        raise ParseError("text is empty", {"text": "required"})
    sender = _pick(payload, "sender")
    message_id = _pick(payload, "id")

    source = {"to": _pick(payload, "to"), "gateway_message_id": message_id}
    received_at = _pick(payload, "received_at")
    if received_at:
        source["gateway_received_at"] = received_at
    content = text
    suggested = []
    short = parse_short_code(text)
    if short:
        source.update(short)
        content = short["content"] or text
        if short["short_code"] == "LD":
            suggested.append("fraud_scam")

    contact = {"phone": sender} if sender and _phone_like(sender) else None
    return [
        {
            "channel": CHANNEL,
            "reporter": {"kind": "citizen", "contact": contact}
            if contact
            else (reporter or {"kind": "anonymous"}),
            "content_items": content_items_from_text(content),
            "about": {"text": ""},
            "suggested_categories": suggested,
            "idempotency_key": f"sms:{message_id}" if message_id else None,
            "source": {k: v for k, v in source.items() if v},
        }
    ]


def parse_short_code(text):
    """The keyword, reported number and content of a short-code message."""
    match = _SHORT_CODE.match(text)
    if not match:
        return None
    code = match.group("code").upper()
    kind, label = SHORT_CODES[code]
    number = re.sub(r"[.\- ]", "", match.group("number"))

    return {
        "short_code": code,
        "short_code_kind": kind,
        "short_code_label": label,
        "reported_number": number,
        "content": match.group("content").strip(),
    }


def _pick(payload, name, required=False):
    for key in _ALIASES[name]:
        if key in payload and payload[key] not in (None, ""):
            return text_field(payload, key)
    if required:
        raise ParseError(
            f"{name} is missing (one of: {', '.join(_ALIASES[name])})",
            {name: "required"},
        )
    return None


def _phone_like(value):
    return re.fullmatch(r"\+?[0-9 .()-]{3,40}", value) is not None
