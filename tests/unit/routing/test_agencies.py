"""The agency registry: shipped data, validation errors, validity dates."""

from datetime import date

import pytest
import yaml

from phoihop.agencies import (
    DEFAULT_LOCALITIES_PATH,
    DEFAULT_PATH,
    RegistryError,
    load_registry,
)
from phoihop.errors import NotFound

DISTRICTS = (
    "hong-bang ngo-quyen le-chan hai-an kien-an do-son duong-kinh thuy-nguyen "
    "an-duong an-lao kien-thuy tien-lang vinh-bao cat-hai bach-long-vi"
).split()

FIXED_CODES = (
    "dic police journalists propaganda internal_affairs press-hp press-thp portal "
    "city ministry"
).split()


@pytest.fixture(scope="module")
def registry():
    return load_registry(on=date(2024, 6, 1))


def write_registry(tmp_path, rows, name="agencies.yaml"):
    path = tmp_path / name
    path.write_text(
        yaml.safe_dump({"version": 1, "agencies": rows}, allow_unicode=True),
        encoding="utf-8",
    )
    return path


def shipped_rows():
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))["agencies"]


def test_shipped_registry_holds_every_agency_of_article_7(registry):
    for code in FIXED_CODES:
        assert code in registry, code
    assert registry.lead.code == "dic"
    assert len(registry.agencies(kind="department")) >= 12


@pytest.mark.parametrize("unit", DISTRICTS)
def test_each_district_of_2022_has_its_committee_until_two_tier_government(
    registry, unit
):
    agency = registry.get(f"local-{unit}")
    assert agency.kind == "locality"
    assert agency.valid_to is not None
    assert agency.valid_to <= date(2025, 6, 30)
    assert not registry.is_active(agency.code, on=date(2025, 7, 1))


def test_every_agency_names_focal_points_and_an_exchange_id(registry):
    for agency in registry:
        assert agency.focal_points, agency.code
        assert agency.edxml_org_id.count(".") == 3, agency.code
        assert agency.name_vi and agency.name_en


def test_departments_and_localities_name_a_spokesperson(registry):
    for agency in registry:
        if agency.kind in ("department", "locality"):
            assert registry.spokespersons(agency.code), agency.code


@pytest.mark.parametrize(
    ("code", "secret"),
    [
        ("dic", True),
        ("police", True),
        ("internal_affairs", True),
        ("city", True),
        ("ministry", True),
        ("journalists", False),
        ("propaganda", False),
        ("press-hp", False),
        ("dept-health", False),
        ("local-le-chan", False),
    ],
)
def test_only_cleared_agencies_may_receive_secret_content(registry, code, secret):
    assert registry.has_clearance(code, "secret") is secret
    assert registry.has_clearance(code, "public")


def test_unknown_agency_has_no_clearance_and_get_raises_not_found(registry):
    assert not registry.has_clearance("nobody", "public")
    with pytest.raises(NotFound):
        registry.get("nobody")


def test_press_agencies_are_the_media_of_article_7_7(registry):
    codes = {agency.code for agency in registry.press_agencies()}
    assert codes == {"press-hp", "press-thp", "portal"}


def test_an_duong_routes_to_its_own_committee_then_to_hong_bang(registry):
    before = registry.agencies_for(locality="an-duong", on=date(2024, 12, 31))
    after = registry.agencies_for(locality="an-duong", on=date(2025, 1, 1))
    assert [r.agency for r in before] == ["dic", "local-an-duong"]
    assert [r.agency for r in after] == ["dic", "local-hong-bang"]


def test_case_reaches_lead_first_then_each_agency_once(registry):
    found = registry.agencies_for(
        ["fraud_scam", "impersonation", "false_information"],
        sector="health",
        locality="le-chan",
        journalists_involved=True,
    )
    codes = [r.agency for r in found]
    assert codes[0] == "dic"
    assert len(codes) == len(set(codes))
    assert {"police", "dept-health", "local-le-chan", "journalists"} <= set(codes)
    police = next(r for r in found if r.agency == "police")
    assert (police.rule, police.article, police.matched) == (
        "category",
        "7.2.a",
        "fraud_scam",
    )


def test_responsible_agencies_are_the_sector_department_and_locality(registry):
    assert registry.responsible_for("health", "le-chan") == [
        "dept-health",
        "local-le-chan",
    ]
    assert registry.responsible_for("defence", None) == []


def test_sector_without_department_is_known_as_such(registry):
    assert registry.has_sector_agency("health")
    assert not registry.has_sector_agency("defence")


def test_bad_row_names_the_agency_and_the_field(tmp_path):
    rows = shipped_rows()
    police = next(row for row in rows if row["code"] == "police")
    police["focal_points"][0]["email"] = "not an address"
    path = write_registry(tmp_path, rows)

    with pytest.raises(RegistryError) as refused:
        load_registry(path)

    assert "'police'" in refused.value.message
    assert "agencies[police].focal_points.0.email" in refused.value.fields


def test_agency_without_focal_point_is_refused(tmp_path):
    rows = shipped_rows()
    rows[1]["focal_points"] = []
    path = write_registry(tmp_path, rows)

    with pytest.raises(RegistryError) as refused:
        load_registry(path)

    assert f"agencies[{rows[1]['code']}].focal_points" in refused.value.fields


def test_unknown_kind_and_bad_exchange_id_are_refused(tmp_path):
    rows = shipped_rows()
    rows[0]["kind"] = "boss"
    rows[0]["edxml"]["org_id"] = "H31"
    path = write_registry(tmp_path, rows)

    with pytest.raises(RegistryError) as refused:
        load_registry(path)

    assert set(refused.value.fields) >= {
        "agencies[dic].kind",
        "agencies[dic].edxml.org_id",
    }


def test_duplicate_code_across_files_is_refused(tmp_path):
    rows = shipped_rows()
    extra = write_registry(tmp_path, [rows[1]], name="extra.yaml")

    with pytest.raises(RegistryError) as refused:
        load_registry(DEFAULT_PATH, extra_paths=[extra])

    assert "appears twice" in refused.value.message


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(RegistryError, match="does not exist"):
        load_registry(tmp_path / "absent.yaml")


def test_wards_and_communes_load_from_another_file(tmp_path):
    ward = {
        "code": "local-ward-example",
        "name": {"vi": "Ủy ban nhân dân phường Mẫu", "en": "Example Ward"},
        "kind": "locality",
        "article": "7.6.c",
        "valid_from": "2025-07-01",
        "edxml": {"org_id": "000.01.01.H31"},
        "responsible": {"localities": ["ward-example"]},
        "focal_points": [
            {
                "name": "Cán bộ đầu mối",
                "role": "Đầu mối",
                "phone": "+84 225 000 1111",
                "email": "daumoi@ward.haiphong.invalid",
            }
        ],
        "spokespersons": [
            {
                "name": "Người phát ngôn",
                "role": "Phát ngôn",
                "phone": "+84 225 000 1112",
                "email": "phatngon@ward.haiphong.invalid",
            }
        ],
    }
    wards = write_registry(tmp_path, [ward], name="wards.yaml")

    registry = load_registry(DEFAULT_PATH, extra_paths=[DEFAULT_LOCALITIES_PATH, wards])

    found = registry.agencies_for(locality="ward-example", on=date(2025, 8, 1))
    assert [r.agency for r in found] == ["dic", "local-ward-example"]
    assert registry.agencies_for(locality="ward-example", on=date(2025, 6, 1))[1:] == []
