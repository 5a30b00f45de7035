"""Normalisation of what reports carry, so that the same thing compares equal.

Vietnamese text arrives with composed or decomposed diacritics (NFC, NFD)
from different keyboards and platforms; URLs arrive with mobile hosts,
tracking parameters and fragments. Deduplication and triage compare the
normalised forms built here. The URL rules are in one table,
``URL_RULES``, so that a reader (and DIC) sees them all at once.
"""

import hashlib
import posixpath
import re
import unicodedata
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# Every URL rule in one place. ``mobile_hosts`` map to the host the desktop
# site uses; ``tracking_params`` (and any parameter starting with one of
# ``tracking_prefixes``) say nothing about the content and are dropped;
# ``platforms`` recognise the network from the host (suffix match).
URL_RULES = {
    "schemes": ("http", "https"),
    "strip_www": True,
    "mobile_hosts": {
        "m.facebook.com": "facebook.com",
        "mobile.facebook.com": "facebook.com",
        "mbasic.facebook.com": "facebook.com",
        "touch.facebook.com": "facebook.com",
        "web.facebook.com": "facebook.com",
        "fb.com": "facebook.com",
        "m.youtube.com": "youtube.com",
        "music.youtube.com": "youtube.com",
        "m.tiktok.com": "tiktok.com",
        "mobile.twitter.com": "twitter.com",
        "m.twitter.com": "twitter.com",
        "mobile.x.com": "x.com",
        "m.instagram.com": "instagram.com",
        "m.zalo.me": "zalo.me",
        "m.vnexpress.net": "vnexpress.net",
        "m.dantri.com.vn": "dantri.com.vn",
        "m.baohaiphong.vn": "baohaiphong.vn",
    },
    "tracking_params": frozenset(
        {
            "fbclid",
            "gclid",
            "dclid",
            "gbraid",
            "wbraid",
            "msclkid",
            "igshid",
            "igsh",
            "mibextid",
            "rdid",
            "share_url",
            "sfnsn",
            "ref",
            "ref_src",
            "ref_url",
            "refsrc",
            "_rdr",
            "_ga",
            "_gl",
            "mc_cid",
            "mc_eid",
            "si",
            "feature",
            "is_from_webapp",
            "sender_device",
            "sender_web_id",
            "zarsrc",
            "gidzl",
            "cft",
            "tn",
        }
    ),
    "tracking_prefixes": ("utm_", "__cft__", "__tn__", "__xts__", "hc_", "fb_"),
    # host suffix -> platform; the longest matching suffix wins.
    "platforms": {
        "facebook.com": "facebook",
        "fb.watch": "facebook",
        "messenger.com": "facebook",
        "youtube.com": "youtube",
        "youtu.be": "youtube",
        "tiktok.com": "tiktok",
        "zalo.me": "zalo",
        "zalo.vn": "zalo",
        "twitter.com": "x",
        "x.com": "x",
        "instagram.com": "instagram",
        "threads.net": "threads",
        "t.me": "telegram",
        "telegram.org": "telegram",
        "reddit.com": "reddit",
        "lotus.vn": "lotus",
        "gapo.vn": "gapo",
    },
}

DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters that may be carried unencoded in a path (RFC 3986 unreserved,
# plus the sub-delimiters and separators a path keeps as they are).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


class UrlError(ValueError):
    """Raised when a URL cannot be read; ``reason`` says why in plain words."""

    def __init__(self, url, reason):
        super().__init__(f"{reason}: {url[:200]!r}")
        self.url = url
        self.reason = reason


def nfc(text):
    """Unicode NFC: composed diacritics, so "ế" is one code point."""
    return unicodedata.normalize("NFC", text)


def normalise_text(text):
    """Text as stored: NFC, no zero-width marks, newlines and ends tidied."""
    if not text:
        return ""
    text = nfc(text).translate(_ZERO_WIDTH)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]

    return "\n".join(lines).strip()


def comparable_text(text):
    """Text as compared: NFC, case folded, whitespace collapsed."""
    text = nfc(normalise_text(text).casefold())
    return _SPACES.sub(" ", text).strip()


def text_key(text):
    """The deduplication key of a text (SHA-256 of its comparable form)."""
    comparable = comparable_text(text)
    if not comparable:
        return None

    return hashlib.sha256(comparable.encode("utf-8")).hexdigest()


def strip_diacritics(text):
    """Vietnamese without tone and vowel marks ("lừa đảo" -> "lua dao").

    People type without diacritics on phones and in SMS; triage rules match
    both forms.
    """
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))

    return bare.replace("đ", "d").replace("Đ", "D")


def words(text):
    """The words of a text in comparable form."""
    return _WORD.findall(comparable_text(text))


def shingles(text, size=3):
    """Word ``size``-grams of a text, the unit of near-duplicate comparison."""
    tokens = words(text)
    if len(tokens) < size:
        return {" ".join(tokens)} if tokens else set()

    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def platform_of(url_or_host):
    """The platform a URL or host belongs to ("facebook", ...), else "web"."""
    host = url_or_host
    if "/" in url_or_host or ":" in url_or_host:
        if "://" not in url_or_host:
            url_or_host = "http://" + url_or_host.lstrip("/")
        try:
            host = urlsplit(url_or_host).hostname or ""
        except ValueError:
            return "web"
    host = host.lower().rstrip(".")
    best = None
    for suffix, platform in URL_RULES["platforms"].items():
        if host == suffix or host.endswith("." + suffix):
            if best is None or len(suffix) > len(best[0]):
                best = (suffix, platform)

    return best[1] if best else "web"


def canonical_url(url):
    """The canonical form of a URL, by the rules of ``URL_RULES``.

    Scheme and host are lowercased, ``www.`` and mobile hosts map to the
    main host, default ports, fragments, tracking parameters and a trailing
    slash are dropped, the remaining parameters are sorted. ``youtu.be``
    short links become ``youtube.com/watch?v=``. Raises ``UrlError`` when
    the URL has no host or is not http(s).
    """
    if not isinstance(url, str):
        raise UrlError(str(url), "not a text")
    raw = nfc(url.strip()).translate(_ZERO_WIDTH)
    if not raw:
        raise UrlError(url, "empty URL")
    if any(ch.isspace() for ch in raw):
        raise UrlError(url, "URL contains spaces")
    if "://" not in raw and not raw.startswith("//"):
        first = raw.split("/", 1)[0]
        if "." not in first:
            raise UrlError(url, "URL has no scheme and no host")
        raw = "http://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise UrlError(url, f"URL cannot be parsed ({exc})") from exc

    scheme = parts.scheme.lower()
    if scheme not in URL_RULES["schemes"]:
        raise UrlError(url, f"scheme {scheme or '(none)'!r} is not http or https")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlError(url, "URL has no host")
    host = _canonical_host(url, host)

    netloc = host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{host}:{port}"
    path = _canonical_path(parts.path)
    query = _canonical_query(parts.query)
    if host == "youtu.be" and path.strip("/"):
        video = path.strip("/").split("/")[0]
        host = netloc = "youtube.com"
        path = "/watch"
        query = _canonical_query(urlencode([("v", video)]) + "&" + parts.query)

    return urlunsplit((scheme, netloc, path, query, ""))


def url_key(url):
    """The deduplication key of a URL: canonical form without the scheme,
    since the same post is reached over http and https."""
    canonical = canonical_url(url)
    return canonical.split("://", 1)[1]


def _canonical_host(url, host):
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise UrlError(url, "host is not a valid domain name") from exc
    if URL_RULES["strip_www"] and host.startswith("www."):
        host = host[4:]
    host = URL_RULES["mobile_hosts"].get(host, host)
    if not re.fullmatch(r"[a-z0-9._\-\[\]:]+", host) or ".." in host:
        raise UrlError(url, "host is not a valid domain name")

    return host


def _canonical_path(path):
    # Decode what need not be encoded, then encode consistently, so that
    # "%7E" and "~" (or "%c3%a1" and "á") give one form.
    path = quote(unquote(path), safe=_PATH_SAFE)
    path = re.sub(r"/{2,}", "/", path)
    if "/." in path:
        path = posixpath.normpath(path)
    if path in ("/", "."):
        return ""
    path = path.rstrip("/")

    return path


def _canonical_query(query):
    if not query:
        return ""
    kept = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        lowered = name.lower()
        if lowered in URL_RULES["tracking_params"]:
            continue
        if lowered.startswith(URL_RULES["tracking_prefixes"]):
            continue
        kept.append((name, value))

    return urlencode(sorted(kept), quote_via=quote)
