"""Deduplication keys and MinHash near-duplicates."""

import json
import unicodedata

from phoihop.config import PROJECT_ROOT
from services.intake.dedup import NearDuplicates, report_keys

SOCIAL = PROJECT_ROOT.parent / "shared" / "samples" / "vfnd" / "social"


def _text(name):
    return json.loads((SOCIAL / f"{name}.json").read_text(encoding="utf-8"))["text"]


def test_keys_are_canonical_urls_then_the_text():
    keys = report_keys([{"url": "https://m.facebook.com/p/1/?fbclid=z"}], "Nội dung")
    assert keys[0] == "url:facebook.com/p/1"
    assert keys[1].startswith("text:")


def test_decomposed_text_gives_the_same_keys():
    text = "Tin giả về dịch bệnh ở Hải Phòng"
    nfd = unicodedata.normalize("NFD", text)
    assert report_keys([], text) == report_keys([], nfd)


def test_near_duplicate_posts_score_above_the_threshold_and_others_below():
    near = NearDuplicates(threshold=0.8)
    post_8, post_9, post_0 = (
        near.signature(_text(n)) for n in ("post_8", "post_9", "post_0")
    )

    assert near.similarity(post_8, post_9) >= 0.8
    assert near.similarity(post_8, post_0) < 0.3
    assert set(near.band_keys(post_8)) & set(near.band_keys(post_9))


def test_short_texts_get_no_signature():
    assert NearDuplicates(min_words=8).signature("Hello thầy") is None
