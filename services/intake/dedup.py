"""Deduplication keys and near-duplicate detection.

Exact duplicates: a report's keys are the canonical URLs of its content
items (``url:``) and the SHA-256 of its normalised text (``text:``). The
``dedup_keys`` collection holds one document per key of an OPEN case, with
the key as ``_id``: the unique index decides which of two concurrent
reports opens the case, the other's transaction fails and is retried, and
then finds the key and joins the case. Keys are released when the case is
closed, rejected or merged.

Near-duplicates: MinHash signatures of word shingles, with locality-
sensitive hashing bands stored on the case (indexed), so candidates are
found by an index lookup; the estimated Jaccard similarity against the
threshold of the configuration decides what is proposed to an officer.
"""

import hashlib

from datasketch import MinHash

from phoihop.normalise import comparable_text, shingles, text_key, url_key


def report_keys(content_items, main_text):
    """The exact-duplicate keys of a report: URLs first, then its text."""
    keys = []
    for item in content_items:
        if item.get("url"):
            key = "url:" + url_key(item["url"])
            if key not in keys:
                keys.append(key)
    digest = text_key(main_text or "")
    if digest:
        keys.append("text:" + digest)

    return keys


def matched_by(key):
    return key.split(":", 1)[0]


class NearDuplicates:
    """MinHash with banding, built from the ``near_duplicate`` settings."""

    def __init__(
        self, threshold=0.8, num_perm=128, bands=16, shingle_words=3, min_words=8
    ):
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands = bands
        self.rows = num_perm // bands
        self.shingle_words = shingle_words
        self.min_words = min_words

    def signature(self, text):
        """The MinHash signature of a text, or None when it is too short to
        compare meaningfully."""
        if len(comparable_text(text or "").split()) < self.min_words:
            return None
        minhash = MinHash(num_perm=self.num_perm, seed=1)
        minhash.update_batch(
            [s.encode("utf-8") for s in shingles(text, self.shingle_words)]
        )

        return [int(value) for value in minhash.hashvalues]

    def band_keys(self, signature):
        """One key per band: the hash of that band's rows of the signature."""
        keys = []
        for band in range(self.bands):
            rows = signature[band * self.rows : (band + 1) * self.rows]
            digest = hashlib.blake2b(repr(rows).encode(), digest_size=8).hexdigest()
            keys.append(f"{band}:{digest}")
        return keys

    @staticmethod
    def similarity(first, second):
        """Estimated Jaccard similarity of two signatures."""
        if not first or not second or len(first) != len(second):
            return 0.0
        same = sum(1 for a, b in zip(first, second, strict=True) if a == b)
        return same / len(first)
