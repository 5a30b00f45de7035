"""HTML bodies turned into plain text with the standard library's parser.

Email (and some webhooks) may carry only an HTML body; triage and
deduplication read text. Scripts and styles are dropped, block elements
become line breaks, entities are decoded.
"""

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    "p div br li tr h1 h2 h3 h4 h5 h6 table ul ol blockquote hr section article".split()
)
_SKIP = frozenset(("script", "style", "head", "title"))


class _TextCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skipping = 0
        self.links = []

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "a":
            href = dict(attrs).get("href")
            if href and href.lower().startswith(("http://", "https://")):
                self.links.append(href)

    def handle_endtag(self, tag):
        if tag in _SKIP and self.skipping:
            self.skipping -= 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html):
    """The readable text of an HTML document, and the links it points to."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    text = "".join(collector.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)

    return text.strip(), collector.links
