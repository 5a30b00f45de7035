"""MISP event JSON, as CERT-style partners share it.

An event (``{"Event": {...}}`` or the bare event) becomes one report: its
``info`` the title, URL-like attributes its content items, other attributes
text, the creating organisation the reporter. MISP writes numbers as strings
and times as epoch seconds; both are read. Tags from common taxonomies
suggest categories.
"""

from datetime import UTC, datetime

from phoihop.normalise import UrlError, canonical_url
from services.intake.channels.base import ParseError, load_json, require_mapping

CHANNEL = "misp"
URL_TYPES = frozenset(("url", "link", "uri"))
HOST_TYPES = frozenset(("domain", "hostname"))
MAX_ATTRIBUTES = 500

# Taxonomy tag prefix -> category of the catalogue (a suggestion only).
TAG_CATEGORIES = (
    ("ecsirt:malicious-code", "malware_intrusion"),
    ("ecsirt:intrusions", "malware_intrusion"),
    ("ecsirt:fraud", "fraud_scam"),
    ("ecsirt:information-content-security", "false_information"),
    ('circl:incident-classification="phishing"', "impersonation"),
    ("misp-galaxy:threat-actor", "malware_intrusion"),
)


def parse(data, reporter=None):
    document = load_json(data) if isinstance(data, (bytes, str)) else data
    document = require_mapping(document, "event")
    event = document.get("Event", document)
    event = require_mapping(event, "Event")
    if "Attribute" not in event and "info" not in event:
        raise ParseError(
            "not a MISP event: no Event, info or Attribute", {"Event": "required"}
        )
    attributes = event.get("Attribute") or []
    if not isinstance(attributes, list):
        raise ParseError("Attribute must be a list", {"Attribute": "must be a list"})
    info = _text(event.get("info"), "info") or ""

    items, lines = [], []
    for index, attribute in enumerate(attributes[:MAX_ATTRIBUTES]):
        attribute = require_mapping(attribute, f"Attribute[{index}]")
        if attribute.get("deleted") in (True, "1", 1):
            continue
        kind = _text(attribute.get("type"), f"Attribute[{index}].type") or ""
        value = _text(attribute.get("value"), f"Attribute[{index}].value") or ""
        if not value:
            continue
        url = _as_url(kind, value)
        if url:
            items.append(
                {
                    "url": url,
                    "captured_text": _text(attribute.get("comment"), "comment") or "",
                }
            )
        else:
            lines.append(f"{attribute.get('category') or kind}: {value}")
    text = "\n".join([info, *lines]).strip()
    if not items and not text:
        raise ParseError(
            "the event has no info and no attribute", {"Attribute": "empty"}
        )
    if not items:
        items = [{"captured_text": text}]
    elif text:
        items[0]["captured_text"] = "\n".join(
            filter(None, [items[0]["captured_text"], text])
        )

    org = event.get("Orgc") or event.get("Org") or {}
    organisation = (
        _text(org.get("name"), "Orgc.name") if isinstance(org, dict) else None
    )
    uuid = _text(event.get("uuid"), "uuid")
    timestamp = _epoch(event.get("timestamp"), "timestamp")
    tags = [
        t.get("name")
        for t in event.get("Tag") or []
        if isinstance(t, dict) and t.get("name")
    ]
    source = {
        "event_uuid": uuid,
        "event_id": _text(event.get("id"), "id"),
        "date": _text(event.get("date"), "date"),
        "timestamp": timestamp.isoformat() if timestamp else None,
        "threat_level_id": _text(event.get("threat_level_id"), "threat_level_id"),
        "tags": tags,
    }
    key = None
    if uuid:
        key = f"misp:{uuid}:{int(timestamp.timestamp()) if timestamp else 0}"

    return [
        {
            "channel": CHANNEL,
            "reporter": {"kind": "partner", "organisation": organisation}
            if organisation
            else {"kind": "partner"},
            "title": info[:500] or None,
            "content_items": items,
            "about": {"text": ""},
            "suggested_categories": _categories(tags),
            "idempotency_key": key,
            "source": {k: v for k, v in source.items() if v not in (None, "", [])},
        }
    ]


def _text(value, what):
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParseError(f"{what} must be text", {what: "must be text"})
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise ParseError(
            f"{what} must be text, not {type(value).__name__}", {what: "must be text"}
        )
    return value


def _epoch(value, what):
    if value in (None, "", "0", 0):
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise ParseError(
            f"{what} is not epoch seconds: {value!r}", {what: "epoch seconds"}
        ) from exc


def _as_url(kind, value):
    if kind in URL_TYPES:
        candidate = value
    elif kind in HOST_TYPES:
        candidate = f"http://{value}"
    else:
        return None
    try:
        canonical_url(candidate)
    except UrlError:
        return None
    return candidate


def _categories(tags):
    found = []
    for tag in tags:
        for prefix, category in TAG_CATEGORIES:
            if tag.startswith(prefix) and category not in found:
                found.append(category)
    return found
