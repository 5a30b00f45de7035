"""The disclosure check: classified text is found in a draft by its hashed
word sequences, without the press service keeping the text itself."""

import unicodedata

import pytest

from services.press.disclosure import (
    find_disclosures,
    fingerprint,
    is_classified,
    new_key,
    stricter,
)

SECRET_ITEM = (
    "Theo tài liệu nội bộ, kế hoạch điều động lực lượng tại cảng Đình Vũ "
    "sẽ bắt đầu vào rạng sáng thứ Hai tuần tới với ba trăm cán bộ"
)


@pytest.fixture
def key():
    return new_key()


def test_draft_quoting_classified_item_is_found_with_its_range(key):
    items = [(0, fingerprint(SECRET_ITEM, key))]
    quote = "kế hoạch điều động lực lượng tại cảng Đình Vũ sẽ bắt đầu vào rạng sáng"
    body = f"Sở Y tế thông tin: {quote}. Đề nghị người dân bình tĩnh."

    [found] = find_disclosures({"body": body}, items, key)

    assert found.field == "body"
    assert found.item == 0
    assert body[found.start : found.end] == quote


def test_decomposed_diacritics_and_case_do_not_hide_a_quote(key):
    items = [(3, fingerprint(SECRET_ITEM, key))]
    quote = "KẾ HOẠCH ĐIỀU ĐỘNG LỰC LƯỢNG TẠI CẢNG ĐÌNH VŨ SẼ BẮT ĐẦU"
    body = unicodedata.normalize("NFD", quote)

    found = find_disclosures({"title": body}, items, key)

    assert [d.item for d in found] == [3]


def test_draft_in_own_words_passes(key):
    items = [(0, fingerprint(SECRET_ITEM, key))]
    body = (
        "Cơ quan chức năng đang xác minh thông tin lan truyền trên mạng xã hội "
        "về hoạt động tại khu vực cảng; đề nghị người dân không chia sẻ."
    )

    assert find_disclosures({"body": body}, items, key) == []


def test_short_classified_sentence_is_caught_whole(key):
    short = "mật khẩu kho số bảy"
    items = [(1, fingerprint(short, key))]

    found = find_disclosures({"body": f"Nội dung: {short}."}, items, key)

    assert len(found) == 1


def test_items_of_a_few_syllables_are_not_fingerprinted(key):
    assert fingerprint("Hải Phòng", key) is None


def test_template_wording_shared_with_an_item_is_not_a_disclosure(key):
    boilerplate = (
        "đề nghị người dân chỉ tiếp nhận chia sẻ thông tin từ các nguồn chính thống"
    )
    item = f"Bài đăng viết: {boilerplate} nhưng thực ra là tin giả"
    items = [(0, fingerprint(item, key))]

    found = find_disclosures(
        {"body": f"Cuối cùng, {boilerplate}."}, items, key, boilerplate=boilerplate
    )

    assert found == []


def test_fingerprint_keeps_no_text(key):
    fp = fingerprint(SECRET_ITEM, key)

    stored = " ".join(fp["hashes"])
    assert "cảng" not in stored
    assert all(len(h) == 16 for h in fp["hashes"])


def test_another_key_does_not_match(key):
    items = [(0, fingerprint(SECRET_ITEM, new_key()))]

    assert find_disclosures({"body": SECRET_ITEM}, items, key) == []


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        (("public", "secret"), "secret"),
        (("internal", None), "internal"),
        ((None, "bogus"), "public"),
        (("confidential", "internal"), "confidential"),
    ],
    ids=["secret-wins", "none-ignored", "unknown-is-public", "confidential-wins"],
)
def test_stricter_classification(levels, expected):
    assert stricter(*levels) == expected


def test_only_confidential_and_secret_are_classified():
    assert [is_classified(level) for level in ("public", "internal")] == [False, False]
    assert is_classified("confidential") and is_classified("secret")


def test_overlapping_quotes_of_two_items_read_as_one_passage(key):
    first = "một hai ba bốn năm sáu bảy tám chín mười"
    second = "năm sáu bảy tám chín mười mười một mười hai mười ba"
    items = [(0, fingerprint(first, key)), (1, fingerprint(second, key))]
    body = "một hai ba bốn năm sáu bảy tám chín mười mười một mười hai mười ba"

    [found] = find_disclosures({"body": body}, items, key)

    assert (found.start, found.end, found.item) == (0, len(body), 0)
