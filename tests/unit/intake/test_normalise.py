"""Text and URL normalisation: one form for the same content."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phoihop.normalise import (
    UrlError,
    canonical_url,
    platform_of,
    shingles,
    strip_diacritics,
    text_key,
    url_key,
)


def test_composed_and_decomposed_vietnamese_have_one_key():
    text = "Thông tin sai sự thật về Hải Phòng"
    decomposed = unicodedata.normalize("NFD", text)

    assert decomposed != text
    assert text_key(text) == text_key(decomposed)


def test_case_and_spacing_do_not_change_the_key():
    assert text_key("Lừa  đảo\nTRÚNG thưởng ") == text_key("lừa đảo trúng thưởng")


def test_empty_text_has_no_key():
    assert text_key("  \u200b ") is None


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "HTTPS://M.Facebook.com/groups/x/permalink/1/?fbclid=a&utm_source=b#c",
            "https://facebook.com/groups/x/permalink/1",
        ),
        (
            "https://www.facebook.com/groups/x/permalink/1/",
            "https://facebook.com/groups/x/permalink/1",
        ),
        ("https://youtu.be/abc123?si=share", "https://youtube.com/watch?v=abc123"),
        ("http://Example.COM:80/a/./b/../c?b=2&a=1", "http://example.com/a/c?a=1&b=2"),
        ("https://example.com:8443/", "https://example.com:8443"),
        ("vnexpress.net/tin-gia-123.html", "http://vnexpress.net/tin-gia-123.html"),
        (
            "https://mobile.twitter.com/user/status/9",
            "https://twitter.com/user/status/9",
        ),
    ],
    ids=[
        "mobile-tracking-fragment",
        "www-trailing-slash",
        "youtu-be",
        "port-dots-order",
        "other-port",
        "no-scheme",
        "mobile-twitter",
    ],
)
def test_canonical_url_follows_the_rule_table(url, canonical):
    assert canonical_url(url) == canonical


def test_http_and_https_share_a_dedup_key():
    assert url_key("http://facebook.com/p/1") == url_key("https://m.facebook.com/p/1/")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http:///path", "no host"),
        ("ftp://example.com/x", "not http"),
        ("just words", "spaces"),
        ("nohost", "no scheme and no host"),
        ("", "empty"),
    ],
)
def test_unreadable_url_is_refused_with_the_reason(url, reason):
    with pytest.raises(UrlError) as refused:
        canonical_url(url)
    assert reason in refused.value.reason


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://m.facebook.com/x", "facebook"),
        ("https://fb.watch/abc", "facebook"),
        ("https://vt.tiktok.com/x", "tiktok"),
        ("https://zalo.me/g/1", "zalo"),
        ("https://t.me/kenh", "telegram"),
        ("https://baohaiphong.vn/a", "web"),
    ],
)
def test_platform_is_recognised_from_the_host(url, platform):
    assert platform_of(url) == platform


def test_diacritics_are_stripped_for_unaccented_matching():
    assert strip_diacritics("Lừa đảo Đồ Sơn") == "Lua dao Do Son"


def test_shingles_are_word_trigrams():
    assert shingles("một hai ba bốn") == {"một hai ba", "hai ba bốn"}


@given(st.text(max_size=300))
def test_canonical_url_never_fails_other_than_with_a_reason(url):
    try:
        result = canonical_url(url)
    except UrlError as exc:
        assert exc.reason
    else:
        assert canonical_url(result) == result
