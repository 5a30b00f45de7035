"""The web/API channel: the report form as JSON (through the gateway's RPC).

Also reads the post records partners and adapters send (``post-url``,
``text``, ``images``), the shape of the public-post samples, as one report
with the post as its content item.
"""

from services.intake.channels.base import ParseError, load_json, require_mapping

CHANNEL = "api"
_POST_KEYS = ("post-url", "post_url")


def parse(data, reporter=None):
    """Reports from a JSON document: one report form, a post, or a list."""
    document = load_json(data) if isinstance(data, (bytes, str)) else data
    if isinstance(document, list):
        if not document:
            raise ParseError("the JSON list holds no report", {"input": "empty list"})
        return [_one(item, f"input[{i}]", reporter) for i, item in enumerate(document)]

    return [_one(document, "input", reporter)]


def _one(document, what, reporter):
    document = require_mapping(document, what)
    if any(key in document for key in _POST_KEYS):
        return from_post(document, reporter)
    report = dict(document)
    report.setdefault("channel", CHANNEL)
    if reporter and "reporter" not in report:
        report["reporter"] = reporter

    return report


def from_post(post, reporter=None):
    """A public post record (page, post URL, text, images) as a report."""
    url = post.get("post-url") or post.get("post_url") or post.get("url")
    text = post.get("text") or ""
    if not isinstance(text, str):
        raise ParseError("text must be text", {"text": "must be text"})
    if url is not None and not isinstance(url, str):
        raise ParseError("post-url must be text", {"post-url": "must be text"})
    images = post.get("images") or []
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise ParseError("images must be a list of links", {"images": "list of links"})

    item = {"captured_text": text}
    if url:
        item["url"] = url
    source = {"page_url": post.get("page-url"), "images": images}
    return {
        "channel": CHANNEL,
        "reporter": reporter or {"kind": "anonymous"},
        "content_items": [item],
        "about": {"text": ""},
        "source": {key: value for key, value in source.items() if value},
    }
