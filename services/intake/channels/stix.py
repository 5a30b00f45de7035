"""STIX 2.1 bundles, as CERT-style partners share them.

A bundle becomes one report: indicators (name, description, pattern),
URL and domain observables, and report objects give the content items and
the text; the identity that created them is the reporter. URLs are taken
from ``url:value`` and ``domain-name:value`` comparisons in patterns and
from ``url`` and ``domain-name`` objects.
"""

import re

from phoihop.normalise import UrlError, canonical_url
from services.intake.channels.base import ParseError, load_json, require_mapping

CHANNEL = "stix"
MAX_OBJECTS = 2000
_PATTERN_VALUE = re.compile(
    r"(?P<object>url|domain-name):value\s*=\s*'(?P<value>(?:[^'\\]|\\.)*)'"
)
_TEXT_TYPES = ("indicator", "report", "malware", "attack-pattern", "campaign", "note")


def parse(data, reporter=None):
    bundle = load_json(data) if isinstance(data, (bytes, str)) else data
    bundle = require_mapping(bundle, "bundle")
    if bundle.get("type") != "bundle":
        raise ParseError(
            f"type is {bundle.get('type')!r}, not 'bundle'", {"type": "must be bundle"}
        )
    objects = bundle.get("objects")
    if not isinstance(objects, list) or not objects:
        raise ParseError(
            "objects must be a non-empty list", {"objects": "non-empty list"}
        )

    by_id, urls, lines, titles = {}, [], [], []
    for index, obj in enumerate(objects[:MAX_OBJECTS]):
        obj = require_mapping(obj, f"objects[{index}]")
        kind = obj.get("type")
        if not isinstance(kind, str):
            raise ParseError(
                f"objects[{index}].type is missing",
                {f"objects[{index}].type": "required"},
            )
        version = obj.get("spec_version")
        if version is not None and version != "2.1":
            raise ParseError(
                f"objects[{index}] is STIX {version}, only 2.1 is read",
                {f"objects[{index}].spec_version": "must be 2.1"},
            )
        if isinstance(obj.get("id"), str):
            by_id[obj["id"]] = obj
        if kind in ("url", "domain-name") and isinstance(obj.get("value"), str):
            _add_url(urls, obj["value"] if kind == "url" else f"http://{obj['value']}")
        if kind == "indicator" and isinstance(obj.get("pattern"), str):
            for match in _PATTERN_VALUE.finditer(obj["pattern"]):
                value = match.group("value").replace("\\'", "'")
                _add_url(
                    urls, value if match.group("object") == "url" else f"http://{value}"
                )
        if kind in _TEXT_TYPES:
            name = obj.get("name") if isinstance(obj.get("name"), str) else None
            if name and kind in ("indicator", "report"):
                titles.append(name)
            parts = [f"[{kind}] {name or obj.get('id', '')}"]
            for key in ("description", "pattern"):
                if isinstance(obj.get(key), str) and obj[key].strip():
                    parts.append(obj[key].strip())
            lines.append(" | ".join(parts))
    if not (urls or lines):
        raise ParseError(
            "the bundle holds no indicator, observable or report",
            {"objects": "nothing to report"},
        )

    text = "\n".join(lines)
    items = [{"url": url} for url in urls] or [{"captured_text": text}]
    if urls:
        items[0]["captured_text"] = text
    creator = _creator(objects, by_id)
    return [
        {
            "channel": CHANNEL,
            "reporter": {"kind": "partner", "organisation": creator}
            if creator
            else {"kind": "partner"},
            "title": (titles[0] if titles else bundle.get("id") or "STIX bundle")[:500],
            "content_items": items,
            "about": {"text": ""},
            "idempotency_key": f"stix:{bundle['id']}"[:300]
            if isinstance(bundle.get("id"), str)
            else None,
            "source": {"bundle_id": bundle.get("id"), "object_count": len(objects)},
        }
    ]


def _add_url(urls, value):
    try:
        canonical_url(value)
    except UrlError:
        return
    if value not in urls:
        urls.append(value)


def _creator(objects, by_id):
    for obj in objects:
        ref = obj.get("created_by_ref") if isinstance(obj, dict) else None
        identity = by_id.get(ref) if isinstance(ref, str) else None
        if identity and isinstance(identity.get("name"), str):
            return identity["name"][:500]
    for obj in objects:
        if (
            isinstance(obj, dict)
            and obj.get("type") == "identity"
            and isinstance(obj.get("name"), str)
        ):
            return obj["name"][:500]
    return None
