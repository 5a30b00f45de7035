"""The request and event schemas of consultation: what they accept, and the
field each refusal names."""

import pytest
from marshmallow import ValidationError as SchemaError

from phoihop.contracts.consultation import (
    AppraisalRequest,
    ConveneMeetingRequest,
    MeasureRequest,
    OpenRoundRequest,
    ResultRequest,
)
from phoihop.errors import ValidationError
from phoihop.events import build_event


def refused_fields(schema, data):
    with pytest.raises(SchemaError) as refused:
        schema().load(data)
    return refused.value.messages


def test_round_due_date_is_read_as_utc():
    loaded = OpenRoundRequest().load(
        {
            "question": "Có vi phạm không?",
            "invited": ["police"],
            "due_at": "2026-12-10T17:00:00+07:00",
        }
    )

    assert loaded["due_at"].isoformat() == "2026-12-10T10:00:00+00:00"


def test_round_refuses_an_agency_invited_twice():
    messages = refused_fields(
        OpenRoundRequest, {"question": "?", "invited": ["police", "police"]}
    )

    assert "invited" in messages


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"outcome": "violates", "art_4_2_consideration": "x"}, "legal_basis"),
        ({"outcome": "does_not_violate", "art_4_2_consideration": "x"}, "reason"),
        (
            {"outcome": "violates", "legal_basis": ["PRESS2016-9.8"]},
            "art_4_2_consideration",
        ),
        ({"outcome": "maybe", "art_4_2_consideration": "x"}, "outcome"),
    ],
    ids=["violation-cites-law", "rejection-says-why", "art-4-2-required", "outcome"],
)
def test_appraisal_refusals_name_the_field(data, field):
    assert field in refused_fields(AppraisalRequest, data)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "removal_request", "agency": "dic"}, "target"),
        ({"kind": "sanction_proposal", "agency": "dic"}, "sanction_code"),
        ({"kind": "rebuttal", "agency": "propaganda", "target": "platform"}, "target"),
        (
            {
                "kind": "police_referral",
                "agency": "police",
                "sanction_code": "D15-101.1.a",
            },
            "sanction_code",
        ),
        ({"kind": "pray", "agency": "dic"}, "kind"),
    ],
    ids=[
        "removal-target",
        "sanction-code",
        "target-only-for-removal",
        "sanction-only-for-proposal",
        "unknown-kind",
    ],
)
def test_measure_refusals_name_the_field(data, field):
    assert field in refused_fields(MeasureRequest, data)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"result": "done"}, "evidence"),
        ({"result": "partly_done", "evidence": [{"description": "x"}]}, "note"),
        ({"result": "not_possible"}, "note"),
    ],
    ids=["done-needs-evidence", "partly-says-what", "not-possible-says-why"],
)
def test_result_refusals_name_the_field(data, field):
    assert field in refused_fields(ResultRequest, data)


def test_not_possible_needs_no_evidence_but_a_note():
    loaded = ResultRequest().load(
        {"result": "not_possible", "note": "Tài khoản đã bị xóa."}
    )

    assert loaded["evidence"] == []
    assert loaded["difficulties"] == ""


def test_meeting_needs_a_place_or_a_link():
    messages = refused_fields(
        ConveneMeetingRequest,
        {
            "agenda": ["Xác minh"],
            "starts_at": "2026-12-10T02:00:00Z",
            "invited": ["police"],
        },
    )

    assert "place" in messages


def test_case_moving_events_refuse_a_missing_state():
    with pytest.raises(ValidationError) as refused:
        build_event("case.closed", {"reason": "xong"})

    assert set(refused.value.fields) == {"payload.state", "payload.previous_state"}


def test_decision_event_refuses_an_empty_plan():
    with pytest.raises(ValidationError) as refused:
        build_event(
            "case.decided",
            {
                "decision_id": "decision-1",
                "legal_basis": ["PRESS2016-9.8"],
                "measures": [],
                "appraisal_id": "appraisal-1",
                "state": "decided",
                "previous_state": "appraised",
            },
        )

    assert "payload.measures" in refused.value.fields
