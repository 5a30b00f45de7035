"""How `phoihop cases` names a board row's agencies and categories."""

import pytest

from phoihop.cli.cases import _agencies, _row_categories, _title
from phoihop.i18n import set_language


@pytest.fixture(autouse=True)
def vietnamese():
    set_language("vi")
    yield
    set_language(None)


def test_board_row_shows_the_lead_marked_and_every_other_agency():
    row = {"lead": "dic", "agency_codes": ["dic", "police", "dept-health"]}

    shown = _agencies(row)

    assert shown == (
        "Sở Thông tin và Truyền thông (Thanh tra Sở)*, Công an thành phố, Sở Y tế"
    )


def test_suggested_categories_are_marked_as_suggestions():
    confirmed = _row_categories({"categories": ["fraud_scam"]})
    suggested = _row_categories(
        {"categories": [], "suggested_categories": ["fraud_scam"]}
    )

    assert confirmed == "Lừa đảo, chiếm đoạt tài sản"
    assert suggested == "Lừa đảo, chiếm đoạt tài sản (gợi ý)"


def test_classified_case_title_comes_from_its_timeline_or_says_classified():
    opened = {"type": "case.opened", "payload": {"title": "Lộ văn bản mật"}}
    hidden = {**opened, "payload": {}, "redacted": True}

    cleared = _title({"title": None, "classified": True, "timeline": [opened]})
    not_cleared = _title({"title": None, "classified": True, "timeline": [hidden]})
    board_row = _title({"title": None, "classified": True})

    assert cleared == "Lộ văn bản mật"
    assert not_cleared == board_row == "[nội dung mật]"
