"""Keeping classified content out of statements (Art. 4: protect state secrets).

A statement leaves the platform for the press, so before approval it is
checked against the case: a case classified ``confidential`` or ``secret``
gives no statement at all, and a draft may not repeat text from any content
item that is itself classified.

The press service never stores a classified text. For each content item it
keeps only keyed hashes of its word sequences (shingles of
``SHINGLE_WORDS`` words, HMAC-SHA256 with a random key per case, truncated);
a draft is hashed the same way and any shared shingle is a disclosure. The
refusal names the field and the character range of the offending passage in
the draft, never the classified text, so that logs stay clean too.
"""

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

from phoihop.constants import CLASSIFICATIONS

# Eight syllables (Vietnamese writes one syllable per word) is about three
# to four words: long enough that ordinary official phrasing rarely matches
# by chance, short enough to catch a quoted sentence.
SHINGLE_WORDS = 8
# Items shorter than this are not fingerprinted: two or three syllables
# ("Hải Phòng") are shared by any text about the case.
MIN_ITEM_WORDS = 4
HASH_HEX_CHARS = 16

CLASSIFIED_LEVELS = ("confidential", "secret")

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Disclosure:
    """A passage of a draft field that repeats a classified content item."""

    field: str
    start: int
    end: int
    item: int

    def to_dict(self):
        return {
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "item": self.item,
        }


def is_classified(level):
    return level in CLASSIFIED_LEVELS


def stricter(*levels):
    """The most restricted of ``levels`` (unknown or None count as public)."""
    known = [level for level in levels if level in CLASSIFICATIONS]
    if not known:
        return "public"

    return max(known, key=CLASSIFICATIONS.index)


def new_key():
    return secrets.token_hex(16)


def _words(text):
    """(word, start, end) of each word, after Unicode composition.

    NFC makes composed and decomposed diacritics compare equal; offsets are
    those of the composed text, which is what the drafter's editor shows.
    """
    composed = unicodedata.normalize("NFC", text or "")
    return [
        (m.group().casefold(), m.start(), m.end()) for m in _WORD.finditer(composed)
    ]


def _hash(key, words):
    digest = hmac.new(
        bytes.fromhex(key), " ".join(words).encode("utf-8"), hashlib.sha256
    ).hexdigest()

    return digest[:HASH_HEX_CHARS]


def _shingles(words, size):
    return [words[i : i + size] for i in range(len(words) - size + 1)]


def fingerprint(text, key, size=SHINGLE_WORDS):
    """Hashes of every ``size``-word sequence of ``text``; None if too short.

    A text shorter than ``size`` but at least ``MIN_ITEM_WORDS`` long is
    hashed whole, so a short classified sentence is still caught.
    """
    words = [word for word, _, _ in _words(text)]
    if len(words) < MIN_ITEM_WORDS:
        return None
    width = min(size, len(words))
    hashes = sorted({_hash(key, shingle) for shingle in _shingles(words, width)})

    return {"size": width, "hashes": hashes}


def boilerplate_hashes(text, key, sizes):
    """Hashes of the template's own wording, which is never a disclosure."""
    words = [word for word, _, _ in _words(text)]
    found = set()
    for size in sizes:
        found.update(_hash(key, shingle) for shingle in _shingles(words, size))

    return found


def find_disclosures(texts, items, key, boilerplate=""):
    """Passages of ``texts`` ({field: text}) repeating a fingerprinted item.

    ``items`` is a list of ``(index, fingerprint)``. Overlapping matches in
    one field are merged into one passage, named by the first item matched.
    """
    # One lookup table per shingle width: hash -> first item holding it.
    tables = {}
    for index, fp in items:
        table = tables.setdefault(fp["size"], {})
        for digest in fp["hashes"]:
            table.setdefault(digest, index)
    if boilerplate:
        for digest in boilerplate_hashes(boilerplate, key, tables):
            for table in tables.values():
                table.pop(digest, None)

    found = []
    for field, text in texts.items():
        words = _words(text)
        plain = [word for word, _, _ in words]
        spans = []
        for size, table in tables.items():
            for i in range(len(words) - size + 1):
                item = table.get(_hash(key, plain[i : i + size]))
                if item is not None:
                    spans.append((words[i][1], words[i + size - 1][2], item))
        found.extend(_merge(field, spans))

    return found


def _merge(field, spans):
    merged = []
    for start, end, item in sorted(spans):
        if merged and start <= merged[-1].end:
            last = merged.pop()
            merged.append(Disclosure(field, last.start, max(last.end, end), last.item))
        else:
            merged.append(Disclosure(field, start, end, item))

    return merged
