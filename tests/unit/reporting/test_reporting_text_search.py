"""The case board's text search: the phrase from the start of a word, found
through the word index on the phrase's longest word."""

import re

import pytest

from services.reporting.fold import fold_text, search_words
from services.reporting.queries import text_query


def matches(query, title):
    """What the database does with the query, on one board document."""
    search = fold_text(title)
    words = search_words(search)
    bounds = query.get("search_words")
    if bounds and not any(bounds["$gte"] <= w < bounds["$lt"] for w in words):
        return False
    return re.search(query["search"]["$regex"], search) is not None


@pytest.mark.parametrize(
    ("text", "title", "found"),
    [
        ("ngan hang", "Giả mạo ngân hàng Vietcombank", True),
        ("Ngân hàng", "gia mao ngan hang", True),
        ("gia mao ngan", "Giả mạo ngân hàng", True),
        ("gan hang", "Giả mạo ngân hàng", False),
        ("hang gia", "Giả mạo ngân hàng", False),
        ("đồ sơn", "Tin sai về Đồ Sơn", True),
        ("case-01j", "x case-01jexample", True),
        ("01j", "x case-01jexample", True),
        ("#tin", "đăng #tinnong", True),
    ],
)
def test_phrase_from_the_start_of_a_word(text, title, found):
    assert matches(text_query(text), title) is found


def test_the_index_bound_is_the_longest_word_of_the_phrase():
    query = text_query("tin giả Vietcombank")

    assert query["search_words"]["$gte"] == "vietcombank"
    # Every longer word that begins with it falls inside the bound.
    assert "vietcombankzz9" < query["search_words"]["$lt"] < "vietcombanl"


def test_a_phrase_without_latin_words_is_searched_without_the_index():
    query = text_query("«»")

    assert "search_words" not in query
    assert query["search"]["$regex"] == re.escape("«»")
