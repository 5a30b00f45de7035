"""The legal-basis catalogue: every row of legal-basis.md, dates, checks."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from phoihop.errors import NotFound, ValidationError
from phoihop.legal import (
    DEFAULT_PATH,
    NO_LONGER_IN_FORCE,
    NOT_YET_IN_FORCE,
    UNKNOWN,
    CatalogueError,
    load_catalogue,
)


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def _raw():
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))


def _write(tmp_path, data, name="legal_basis.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_catalogue_holds_every_row_of_every_instrument(catalogue):
    by_instrument = {}
    for provision in catalogue.provisions.values():
        by_instrument.setdefault(provision.instrument, []).append(provision.code)

    assert len(by_instrument["PRESS2016"]) == 18
    assert len(by_instrument["CYBER2018"]) == 16
    assert len(by_instrument["D72"]) == 10
    assert len(by_instrument["D15"]) == 9


def test_every_row_has_a_vietnamese_label_and_a_kind(catalogue):
    for provision in catalogue.provisions.values():
        assert provision.label_vi.strip()
        assert provision.kind in ("content", "conduct", "sanction")


def test_instrument_validity_dates_follow_the_catalogue(catalogue):
    d72 = catalogue.instruments["D72"]
    assert d72.valid_from == date(2013, 9, 1)
    assert d72.valid_to == date(2024, 12, 24)
    assert catalogue.instruments["D15"].valid_from == date(2020, 4, 15)


def test_get_returns_the_row_and_none_for_an_unknown_code(catalogue):
    row = catalogue.get("PRESS2016-9.8")

    assert row.categories == ("false_information", "defamation")
    assert row.label_vi == "Sai sự thật, vu khống"
    assert catalogue.get("PRESS2016-99") is None
    with pytest.raises(NotFound):
        catalogue.require("PRESS2016-99")


def test_sanction_rows_carry_fines_for_organisations_and_individuals(catalogue):
    row = catalogue.get("D15-101.2")

    assert catalogue.is_sanction("D15-101.2")
    assert not catalogue.is_sanction("PRESS2016-9.5")
    assert row.fine_vnd == {
        "organisation": [20_000_000, 30_000_000],
        "individual": [10_000_000, 15_000_000],
    }
    assert row.remedy


def test_conduct_rows_are_marked_as_conduct(catalogue):
    assert catalogue.get("PRESS2016-9.12").kind == "conduct"
    assert catalogue.get("D72-5.5").kind == "conduct"


def test_codes_for_categories_only_lists_codes_in_force_on_the_date(catalogue):
    codes_2020 = catalogue.codes_for_categories(["impersonation"], on=date(2020, 1, 1))
    codes_2025 = catalogue.codes_for_categories(["impersonation"], on=date(2025, 1, 1))

    assert "D72-5.1.e" in codes_2020
    assert "D72-5.1.e" not in codes_2025
    assert "CYBER2018-18.1.c" in codes_2025


def test_codes_for_categories_leaves_sanctions_out_unless_asked(catalogue):
    content = catalogue.codes_for_categories(["gambling"])
    sanctions = catalogue.codes_for_categories(["gambling"], kinds=("sanction",))

    assert "D15-101.1.d" not in content
    assert sanctions == ["D15-101.1.d"]


def test_is_in_force_reads_an_aware_datetime_as_a_date_in_vietnam(catalogue):
    # 18:00 UTC on 30 June is 01:00 on 1 July in Hai Phong.
    evening = datetime(2026, 6, 30, 18, 0, tzinfo=UTC)
    morning = datetime(2026, 6, 30, 10, 0, tzinfo=UTC)

    assert not catalogue.is_in_force("PRESS2016-9.8", evening)
    assert catalogue.is_in_force("PRESS2016-9.8", morning)
    assert not catalogue.is_in_force("UNKNOWN-1", morning)


def test_check_names_unknown_and_expired_codes_with_the_reason(catalogue):
    problems = catalogue.check(
        ["D72-5.1.e", "NOPE-1", "PRESS2016-9.8", "D72-5.1.e"], "2025-03-01"
    )

    assert [(p.code, p.reason) for p in problems] == [
        ("D72-5.1.e", NO_LONGER_IN_FORCE),
        ("NOPE-1", UNKNOWN),
    ]
    assert "147/2024" in problems[0].message


def test_check_accepts_codes_in_force_on_the_posting_date(catalogue):
    assert catalogue.check(["D72-5.1.e", "D15-101.1.a"], date(2021, 5, 5)) == []


def test_check_refuses_a_missing_posting_date(catalogue):
    with pytest.raises(ValidationError) as info:
        catalogue.check(["PRESS2016-9.8"], None)

    assert "posted_on" in info.value.fields


def test_successor_instrument_is_added_as_data_with_a_code_map(tmp_path):
    successor = {
        "instruments": [
            {
                "code": "D147",
                "title": "Decree 147/2024/NĐ-CP",
                "title_vi": "Nghị định 147/2024/NĐ-CP",
                "valid_from": date(2024, 12, 25),
                "replaces": ["D72"],
                "code_map": {"D72-5.1.e": "D147-8.1.e"},
                "provisions": [
                    {
                        "code": "D147-8.1.e",
                        "summary": "impersonation; false information",
                        "label_vi": "Giả mạo, phát tán tin giả",
                        "categories": ["impersonation", "false_information"],
                        "kind": "content",
                    }
                ],
            }
        ]
    }
    directory = tmp_path / "catalogue"
    directory.mkdir()
    _write(directory, _raw(), "00_base.yaml")
    _write(directory, successor, "10_d147.yaml")

    catalogue = load_catalogue(directory)
    late = catalogue.check(["D72-5.1.e"], date(2025, 2, 1))
    early = catalogue.check(["D147-8.1.e"], date(2024, 1, 1))

    assert late[0].suggestions == ("D147-8.1.e",)
    assert early[0].reason == NOT_YET_IN_FORCE
    assert early[0].suggestions == ("D72-5.1.e",)
    assert "D147-8.1.e" in catalogue.codes_for_categories(
        ["impersonation"], on=date(2025, 2, 1)
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.update(kind="opinion"), "provisions[0] (PRESS2016-9.1.a): kind"),
        (lambda r: r.pop("label_vi"), "provisions[0] (PRESS2016-9.1.a): label_vi"),
        (lambda r: r.update(code="CYBER2018-1"), "code: prefix CYBER2018"),
        (lambda r: r.update(categories=["made_up"]), "unknown category 'made_up'"),
        (lambda r: r.update(code="PRESS2016-9.1.đ"), "(PRESS2016-9.1.đ): code"),
    ],
    ids=["bad-kind", "missing-label", "wrong-prefix", "unknown-category", "non-ascii"],
)
def test_invalid_row_is_refused_naming_the_row_and_field(tmp_path, change, expected):
    raw = _raw()
    change(raw["instruments"][0]["provisions"][0])

    with pytest.raises(CatalogueError) as info:
        load_catalogue(_write(tmp_path, raw))

    assert expected in str(info.value)
    assert "instruments[0]" in str(info.value)


def test_sanction_row_without_a_fine_is_refused(tmp_path):
    raw = _raw()
    d15 = next(i for i in raw["instruments"] if i["code"] == "D15")
    del d15["provisions"][0]["fine_vnd"]

    with pytest.raises(CatalogueError) as info:
        load_catalogue(_write(tmp_path, raw))

    assert "D15-101.1.a" in str(info.value)
    assert "fine_vnd" in str(info.value)


def test_duplicate_code_is_refused(tmp_path):
    raw = _raw()
    rows = raw["instruments"][0]["provisions"]
    rows.append(dict(rows[0]))

    with pytest.raises(CatalogueError, match="defined twice"):
        load_catalogue(_write(tmp_path, raw))


def test_code_map_to_a_foreign_code_is_refused(tmp_path):
    raw = _raw()
    raw["instruments"][1]["replaces"] = ["PRESS2016"]
    raw["instruments"][1]["code_map"] = {"PRESS2016-9.8": "PRESS2016-9.7"}

    with pytest.raises(CatalogueError, match="not a code of this instrument"):
        load_catalogue(_write(tmp_path, raw))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogueError, match="does not exist"):
        load_catalogue(Path(tmp_path / "absent.yaml"))
