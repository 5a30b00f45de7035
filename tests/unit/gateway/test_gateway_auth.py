"""The access policy, key format and hashing, and redaction: pure logic."""

import pytest

from phoihop.auth import (
    POLICY,
    ROLES,
    Caller,
    case_agencies,
    check_action,
    check_case,
    check_roles,
    format_key,
    hash_secret,
    is_cleared,
    parse_key,
    redact,
)
from phoihop.errors import Forbidden, ValidationError


def caller(agency="police", *roles, clearance="internal"):
    return Caller(
        key_id="0123456789abcdef",
        agency=agency,
        officer="Trần Văn B",
        roles=frozenset(roles or ("officer",)),
        clearance=clearance,
    )


CASE = {
    "case_id": "HP-1",
    "classification": "secret",
    "title": "Lộ bí mật nhà nước",
    "state": "verifying",
    "agencies": [{"agency": "dic", "role": "lead"}, {"agency": "police"}],
    "content_items": [{"url": "https://example.org/x", "captured_text": "bí mật"}],
    "timeline": [
        {"type": "case.opened", "classification": "secret", "payload": {"title": "x"}},
    ],
}


def test_every_policy_rule_names_known_roles_and_a_reason():
    for action, rule in POLICY.items():
        assert rule.roles and rule.roles <= set(ROLES), action
        assert rule.scope in ("global", "case", "lead"), action
        assert rule.why, action


def test_lead_only_action_is_refused_to_another_agency_with_the_reason():
    with pytest.raises(Forbidden) as refused:
        check_action(caller("police", "dic_inspector"), "cases.decide")

    assert "lead agency" in refused.value.message
    assert "agency" in refused.value.fields


def test_role_without_the_action_is_refused_naming_the_roles_needed():
    with pytest.raises(Forbidden) as refused:
        check_action(caller("dic", "spokesperson"), "cases.decide")

    assert "dic_inspector" in refused.value.fields["role"]


def test_assigned_agency_may_read_the_case_and_another_may_not():
    check_case(caller("police"), "cases.read", CASE)

    with pytest.raises(Forbidden) as refused:
        check_case(caller("journalists"), "cases.read", CASE)
    assert "not assigned" in refused.value.message


def test_lead_agency_reads_every_case():
    check_case(caller("dic"), "cases.read", {"case_id": "HP-2", "agencies": []})


def test_case_agencies_reads_every_shape_of_assignment():
    case = {
        "lead": "dic",
        "agencies": ["police", {"agency": "dept-health"}],
        "assignments": [{"agency": "press-hp"}],
    }

    assert case_agencies(case) == {"dic", "police", "dept-health", "press-hp"}


@pytest.mark.parametrize(
    ("agency", "roles", "field"),
    [
        ("police", ["dic_inspector"], "roles"),
        ("police", ["admin"], "roles"),
        ("dic", [], "roles"),
        ("dic", ["superuser"], "roles"),
    ],
    ids=["inspector-outside-dic", "admin-outside-dic", "no-role", "unknown-role"],
)
def test_invalid_roles_are_refused_naming_the_field(agency, roles, field):
    with pytest.raises(ValidationError) as refused:
        check_roles(agency, roles)

    assert field in refused.value.fields


def test_key_round_trips_and_malformed_keys_are_not_parsed():
    key = format_key("0123456789abcdef", "s3cr_et-part")

    assert parse_key(key) == ("0123456789abcdef", "s3cr_et-part")
    for bad in (
        "",
        "phk_",
        "phk_xyz_secret",
        "abc_0123456789abcdef_s",
        "phk_0123456789abcdef_",
    ):
        assert parse_key(bad) is None


def test_hash_depends_on_salt_and_pepper():
    base = hash_secret("secret", b"salt-1", b"pepper")

    assert base != hash_secret("secret", b"salt-2", b"pepper")
    assert base != hash_secret("secret", b"salt-1", b"other")
    assert base == hash_secret("secret", b"salt-1", b"pepper")


def test_clearance_order_and_unknown_levels_fail_closed():
    assert is_cleared("secret", "confidential")
    assert not is_cleared("internal", "confidential")
    assert not is_cleared("secret-ish", "public")
    assert not is_cleared("confidential", "typo-level")
    assert is_cleared("secret", "typo-level")


def test_classified_case_is_redacted_for_uncleared_caller_keeping_the_facts():
    shown = redact(CASE, caller("police", clearance="confidential"))

    assert shown["redacted"] is True
    assert shown["state"] == "verifying" and shown["case_id"] == "HP-1"
    assert "bí mật" not in str(shown)
    assert shown["agencies"] == CASE["agencies"]


def test_cleared_caller_sees_the_case_as_it_is():
    shown = redact(CASE, caller("police", clearance="secret"))

    assert shown["title"] == "Lộ bí mật nhà nước"
    assert "redacted" not in shown


def test_classified_event_in_an_open_case_is_redacted_alone():
    case = {
        **CASE,
        "classification": "internal",
        "timeline": [
            {
                "type": "x",
                "classification": "secret",
                "payload": {"reasoning": "chi tiết mật"},
            },
            {
                "type": "y",
                "classification": "public",
                "payload": {"reasoning": "công khai"},
            },
        ],
    }

    shown = redact(case, caller("police", clearance="internal"))

    assert shown["title"] == "Lộ bí mật nhà nước"
    assert shown["timeline"][0]["redacted"] is True
    assert "chi tiết mật" not in str(shown)
    assert shown["timeline"][1]["payload"]["reasoning"] == "công khai"
