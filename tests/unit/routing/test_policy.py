"""The assignment policy: rules, articles, flags and officers' overrides."""

from datetime import date

import pytest

from phoihop.agencies import load_registry
from phoihop.errors import Conflict, ValidationError
from services.routing import policy

ON = date(2024, 6, 3)


@pytest.fixture(scope="module")
def registry():
    return load_registry(on=ON)


def triage(**overrides):
    data = {
        "categories": ["defamation"],
        "sector": None,
        "locality": None,
        "incident": False,
        "journalists_involved": False,
        "classification": "internal",
    }
    data.update(overrides)
    return data


def codes(plan):
    return [item["agency"] for item in plan.agencies]


def test_dic_leads_every_case_by_article_7_1(registry):
    plan = policy.AssignmentPolicy(registry).plan(triage())

    assert plan.lead == "dic"
    assert plan.agencies[0] == {
        "agency": "dic",
        "role": "lead",
        "rule": "lead",
        "article": "7.1.a",
        "matched": "dic",
        "reason": "",
    }


def test_each_coordinating_agency_records_the_rule_that_matched(registry):
    plan = policy.AssignmentPolicy(registry).plan(
        triage(categories=["fraud_scam"], sector="health", locality="le-chan")
    )

    found = {item["agency"]: (item["rule"], item["matched"]) for item in plan.agencies}
    assert found["police"] == ("category", "fraud_scam")
    assert found["dept-health"] == ("sector", "health")
    assert found["local-le-chan"] == ("locality", "le-chan")
    assert plan.responsible_agencies == ["dept-health", "local-le-chan"]


def test_unknown_sector_and_locality_are_flagged(registry):
    plan = policy.AssignmentPolicy(registry).plan(
        triage(sector="defence", locality="nowhere")
    )

    assert codes(plan) == ["dic"]
    assert "sector_without_agency" in plan.flags
    assert "locality_without_agency" in plan.flags


def test_district_after_two_tier_government_is_flagged_until_wards_load(registry):
    plan = policy.AssignmentPolicy(registry).plan(
        triage(locality="le-chan"), on=date(2025, 8, 1)
    )

    assert codes(plan) == ["dic"]
    assert plan.flags == ["locality_without_agency"]


def test_incident_without_a_responsible_agency_is_flagged(registry):
    plan = policy.AssignmentPolicy(registry).plan(triage(incident=True))

    assert "incident_without_responsible_agency" in plan.flags


def test_secret_case_with_uncleared_agency_is_flagged_for_redaction(registry):
    secret = triage(categories=["state_secrets"], classification="secret")
    with_press = triage(categories=["false_information"], classification="secret")

    assert policy.AssignmentPolicy(registry).plan(secret).flags == []
    assert "redacted_for_uncleared_agencies" in (
        policy.AssignmentPolicy(registry).plan(with_press).flags
    )


def test_overrides_survive_a_new_triage(registry):
    overrides = policy.Overrides(
        added={
            "dept-justice": policy.assignment(
                "dept-justice", "coordinating", "manual", "7.6.c", "", "cần tư vấn"
            )
        },
        removed={"police": "không thuộc chức năng"},
        lead="police",
        lead_reason="vụ án hình sự",
    )

    plan = policy.AssignmentPolicy(registry).plan(
        triage(categories=["fraud_scam"]), overrides=overrides
    )

    # A removal by hand wins over the rule; the lead transfer brings the
    # agency back as lead, since the officer chose it explicitly.
    assert plan.lead == "police"
    assert codes(plan)[0] == "police"
    assert "dept-justice" in codes(plan)
    assert {item["agency"]: item["role"] for item in plan.agencies}["dic"] == (
        "coordinating"
    )


def test_add_remove_and_transfer_refuse_what_makes_no_sense(registry):
    plan = policy.AssignmentPolicy(registry).plan(triage())

    with pytest.raises(ValidationError):
        policy.add_agency(plan.agencies, "nobody", "lý do", registry)
    with pytest.raises(Conflict):
        policy.add_agency(plan.agencies, "dic", "lý do", registry)
    with pytest.raises(Conflict):
        policy.remove_agency(plan.agencies, "police")
    with pytest.raises(Conflict):
        policy.remove_agency(plan.agencies, "dic")
    with pytest.raises(Conflict):
        policy.transfer_lead(plan.agencies, "dic", "lý do", registry)
    with pytest.raises(ValidationError):
        policy.transfer_lead(
            plan.agencies, "local-an-duong", "lý do", registry, on=date(2025, 1, 2)
        )


def test_transfer_keeps_the_old_lead_coordinating(registry):
    plan = policy.AssignmentPolicy(registry).plan(triage())

    old, agencies = policy.transfer_lead(plan.agencies, "police", "lý do", registry)

    assert old == "dic"
    assert [(item["agency"], item["role"]) for item in agencies] == [
        ("police", "lead"),
        ("dic", "coordinating"),
    ]
    assert agencies[0]["rule"] == "lead_transferred"
    assert agencies[0]["article"] == "7.2.a"
