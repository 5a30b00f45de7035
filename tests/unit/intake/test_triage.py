"""Triage rules: Vietnamese keywords to categories and legal basis."""

from datetime import date

import pytest
import yaml

from phoihop.errors import ConfigError
from phoihop.legal import load_catalogue
from services.intake.triage import DEFAULT_PATH, load_rules


@pytest.fixture(scope="module")
def rules():
    return load_rules(load_catalogue())


def test_giveaway_scam_suggests_fraud_with_the_rule_that_fired(rules):
    result = rules.suggest(
        "80 XE Vin-fast MIỄN PHÍ 100%, bình luận số điện thoại của bạn",
        on=date(2025, 5, 1),
    )

    fraud = [s for s in result["suggestions"] if s["category"] == "fraud_scam"]
    assert fraud[0]["rule"] == "fraud-giveaway"
    assert fraud[0]["matched"]
    assert "CYBER2018-18.1.b" in fraud[0]["legal_basis"]


def test_keywords_match_text_typed_without_diacritics(rules):
    result = rules.suggest("co nguoi lua dao chuyen tien o Le Chan")

    assert "fraud_scam" in result["categories"]
    assert result["locality"] == "le-chan"


def test_keywords_match_whole_words_only(rules):
    assert "gambling" not in rules.suggest("chúng tôi cá độc đáo")["categories"]


def test_suggested_codes_are_those_in_force_on_the_date(rules):
    early = rules.suggest("tài liệu mật bị lộ", on=date(2020, 1, 1))
    late = rules.suggest("tài liệu mật bị lộ", on=date(2025, 1, 1))

    assert "D72-5.1.c" in early["suggestions"][0]["legal_basis"]
    assert "D72-5.1.c" not in late["suggestions"][0]["legal_basis"]


def test_plain_criticism_fires_nothing(rules):
    result = rules.suggest(
        "Tôi góp ý về chất lượng dịch vụ xe buýt, mong được cải thiện"
    )
    assert result["categories"] == []


def test_rule_with_an_unknown_category_stops_the_load(tmp_path):
    raw = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    raw["rules"][0]["categories"] = ["rumours"]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")

    with pytest.raises(ConfigError) as refused:
        load_rules(load_catalogue(), path)
    assert "rules[0] (fraud-giveaway): categories" in str(refused.value)
