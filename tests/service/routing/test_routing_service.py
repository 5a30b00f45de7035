"""The routing service on the real broker and database: flags, officers'
changes with reasons, escalations and their answers, refused requests."""

import pytest
from nameko.testing.services import entrypoint_hook
from routing_helpers import triage_payload

from phoihop.agencies import RegistryError
from phoihop.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationError,
)
from services.routing.service import RoutingService

DIC = {"agency": "dic", "officer": "Thanh tra viên"}
POLICE = {"agency": "police", "officer": "Điều tra viên"}
CITY = {"agency": "city", "officer": "Văn phòng UBND"}


@pytest.fixture
def routing(container_factory, service_config):
    container = container_factory(RoutingService, service_config)
    container.start()
    return container


def call(container, method, *args, **kwargs):
    with entrypoint_hook(container, method) as hook:
        return hook(*args, **kwargs)


def assign(publisher, tap, case_id, **triage):
    publisher.publish("case.triaged", triage_payload(case_id, **triage), case_id)
    assert tap.wait_for(
        lambda: (
            tap.find(key="case.assigned", case_id=case_id)
            and tap.find(key="agency.dic.case.assigned", case_id=case_id)
        )
    )
    [(_, _, event)] = tap.find(key="case.assigned", case_id=case_id)
    return event


def test_sector_without_department_reaches_dic_and_is_flagged(routing, publisher, tap):
    event = assign(publisher, tap, "c-defence", sector="defence")

    payload = event["payload"]
    assert [item["agency"] for item in payload["agencies"]] == ["dic"]
    assert payload["agencies"][0]["article"] == "7.1.a"
    assert "sector_without_agency" in payload["flags"]
    assert tap.find(key="agency.dic.case.assigned", case_id="c-defence")


def test_incident_carries_the_responsible_agencies_for_the_press_clock(
    routing, publisher, tap
):
    event = assign(
        publisher, tap, "c-incident", sector="health", incident=True, severity="high"
    )

    payload = event["payload"]
    assert payload["incident"] is True
    assert payload["responsible_agencies"] == ["dept-health"]
    assert payload["severity"] == "high"
    assert payload["state"] == "assigned"
    assert payload["previous_state"] == "triaged"


def test_assignment_starts_the_lead_clocks(routing, publisher, tap):
    assign(publisher, tap, "c-clocks", severity="critical")

    deadlines = call(routing, "list_deadlines", {"case_id": "c-clocks"})

    assert {(item["kind"], item["owner_agency"]) for item in deadlines} == {
        ("verification", "dic"),
        ("resolution", "dic"),
    }
    assert tap.wait_for(
        lambda: len(tap.find(key="agency.dic.deadline.set", case_id="c-clocks")) == 2
    )


def test_officer_adds_and_removes_an_agency_with_reasons(routing, publisher, tap):
    assign(publisher, tap, "c-change")

    reason = "có dấu hiệu lừa đảo"
    added = call(routing, "add_agency", "c-change", "police", reason, DIC)
    assert "police" in [item["agency"] for item in added["agencies"]]
    police = next(item for item in added["agencies"] if item["agency"] == "police")
    assert (police["rule"], police["article"]) == ("manual", "7.2.a")
    assert police["reason"] == "có dấu hiệu lừa đảo"

    removed = call(
        routing, "remove_agency", "c-change", "police", "không thuộc chức năng", DIC
    )
    assert "police" not in [item["agency"] for item in removed["agencies"]]

    assert tap.wait_for(
        lambda: (
            len(tap.find(key="case.assignment_changed", case_id="c-change")) == 2
            and len(tap.find(key="agency.police.case.assignment_changed")) == 2
        )
    )
    changes = [
        body["payload"]
        for _, _, body in tap.find(key="case.assignment_changed", case_id="c-change")
    ]
    assert [(c["change"], c["reason"]) for c in changes] == [
        ("added", "có dấu hiệu lừa đảo"),
        ("removed", "không thuộc chức năng"),
    ]
    # The removed agency hears that it is out.
    assert len(tap.find(key="agency.police.case.assignment_changed")) == 2
    history = call(routing, "get_assignments", "c-change")["history"]
    assert [item["action"] for item in history] == [
        "assigned",
        "agency_added",
        "agency_removed",
    ]


def test_removed_agency_stays_out_when_the_case_is_triaged_again(
    routing, publisher, tap
):
    assign(publisher, tap, "c-retriage", categories=["fraud_scam"])
    call(routing, "remove_agency", "c-retriage", "police", "đã xử lý riêng", DIC)

    publisher.publish(
        "case.triaged",
        triage_payload("c-retriage", categories=["fraud_scam", "impersonation"]),
        "c-retriage",
    )
    assert tap.wait_for(
        lambda: len(tap.find(key="case.assigned", case_id="c-retriage")) == 2
    )

    agencies = call(routing, "get_assignments", "c-retriage")["agencies"]
    assert "police" not in [item["agency"] for item in agencies]


def test_lead_transfer_is_an_event_and_moves_the_lead_clocks(routing, publisher, tap):
    assign(publisher, tap, "c-transfer", categories=["fraud_scam"])

    result = call(
        routing, "transfer_lead", "c-transfer", "police", "vụ án hình sự", DIC
    )

    assert result["lead"] == "police"
    roles = {item["agency"]: item["role"] for item in result["agencies"]}
    assert roles == {"police": "lead", "dic": "coordinating"}
    assert tap.wait_for(
        lambda: tap.find(
            key="agency.police.case.lead_transferred", case_id="c-transfer"
        )
    )
    [(_, _, event)] = tap.find(key="case.lead_transferred", case_id="c-transfer")
    assert event["payload"]["from_agency"] == "dic"
    assert event["payload"]["reason"] == "vụ án hình sự"
    open_clocks = call(
        routing, "list_deadlines", {"case_id": "c-transfer", "state": "pending"}
    )
    assert {item["owner_agency"] for item in open_clocks} == {"police"}


def test_escalation_to_city_is_answered_and_the_case_goes_on(routing, publisher, tap):
    assign(publisher, tap, "c-city")

    escalation = call(
        routing, "escalate", "c-city", "city", "vượt thẩm quyền xử lý của Sở", DIC
    )
    assert escalation["article"] == "7.1.a"
    assert escalation["state"] == "open"
    answered = call(
        routing,
        "answer_escalation",
        escalation["escalation_id"],
        "directed",
        "verifying",
        CITY,
        note="Giao Công an thành phố chủ trì xác minh",
    )

    assert answered["outcome"] == "directed"
    assert answered["next_state"] == "verifying"
    assert tap.wait_for(
        lambda: tap.find(key="agency.city.case.escalation_answered", case_id="c-city")
    )
    [(_, _, event)] = tap.find(key="case.escalation_answered", case_id="c-city")
    assert event["payload"]["state"] == "verifying"
    assert event["payload"]["previous_state"] == "escalated"
    [record] = call(routing, "list_escalations", {"case_id": "c-city"})
    assert record["state"] == "answered"
    clocks = call(routing, "list_deadlines", {"kind": "escalation_answer"})
    assert [(item["owner_agency"], item["state"]) for item in clocks] == [
        ("city", "met")
    ]


def test_removal_proposal_goes_to_the_ministry_under_article_7_1_g(
    routing, publisher, tap
):
    assign(publisher, tap, "c-ministry")

    escalation = call(
        routing, "escalate", "c-ministry", "ministry", "đề nghị gỡ bỏ nội dung", DIC
    )

    assert escalation["article"] == "7.1.g"
    with pytest.raises(ValidationError) as refused:
        call(routing, "escalate", "c-ministry", "ministry", "lần nữa", DIC, "7.1.h")
    assert "article" in refused.value.fields


def test_second_escalation_of_an_escalated_case_is_refused(routing, publisher, tap):
    assign(publisher, tap, "c-twice")
    call(routing, "escalate", "c-twice", "city", "vượt thẩm quyền", DIC)

    with pytest.raises(IllegalTransition):
        call(routing, "escalate", "c-twice", "ministry", "đề nghị gỡ bỏ", DIC)


def test_only_dic_escalates_and_only_the_addressee_answers(routing, publisher, tap):
    assign(publisher, tap, "c-who")
    with pytest.raises(Forbidden):
        call(routing, "escalate", "c-who", "city", "vượt thẩm quyền", POLICE)

    escalation = call(routing, "escalate", "c-who", "city", "vượt thẩm quyền", DIC)
    with pytest.raises(Forbidden):
        call(
            routing,
            "answer_escalation",
            escalation["escalation_id"],
            "directed",
            "verifying",
            POLICE,
        )
    with pytest.raises(IllegalTransition) as refused:
        call(
            routing,
            "answer_escalation",
            escalation["escalation_id"],
            "directed",
            "assigned",
            CITY,
        )
    assert "verifying" in refused.value.fields["state"]


@pytest.mark.parametrize(
    ("args", "error", "field"),
    [
        (("c-bad", "nobody", "lý do hợp lệ", DIC), ValidationError, "agency"),
        (("c-bad", "dic", "lý do hợp lệ", DIC), Conflict, "agency"),
        (("c-bad", "police", "", DIC), ValidationError, "reason"),
        (("c-bad", "police", "lý do", {"agency": ""}), ValidationError, "actor.agency"),
        (("c-bad", "police", "lý do", POLICE), Forbidden, "actor.agency"),
        (("c-none", "police", "lý do", DIC), NotFound, "case_id"),
    ],
    ids=[
        "unknown-agency",
        "already-assigned",
        "empty-reason",
        "bad-actor",
        "not-the-lead",
        "unknown-case",
    ],
)
def test_bad_requests_to_add_an_agency_name_the_field(
    routing, publisher, tap, args, error, field
):
    assign(publisher, tap, "c-bad")

    with pytest.raises(error) as refused:
        call(routing, "add_agency", *args)

    assert field in refused.value.fields


def test_lead_cannot_be_removed(routing, publisher, tap):
    assign(publisher, tap, "c-lead")

    with pytest.raises(Conflict) as refused:
        call(routing, "remove_agency", "c-lead", "dic", "không cần", DIC)

    assert "transfer the lead" in refused.value.message


def test_bad_deadline_filter_names_the_field(routing):
    with pytest.raises(ValidationError) as refused:
        call(routing, "list_deadlines", {"state": "late", "colour": "red"})

    assert set(refused.value.fields) == {"state", "colour"}


def test_bad_registry_stops_the_service_at_start_naming_agency_and_field(
    container_factory, service_config, tmp_path
):
    bad = tmp_path / "agencies.yaml"
    bad.write_text(
        "version: 1\n"
        "agencies:\n"
        "  - code: dic\n"
        "    name: {vi: Sở, en: Department}\n"
        "    kind: lead\n"
        "    article: '7.1.a'\n"
        "    edxml: {org_id: 000.00.01.H31}\n"
        "    focal_points: []\n",
        encoding="utf-8",
    )
    config = {**service_config, "routing": {"registry": {"path": str(bad)}}}
    container = container_factory(RoutingService, config)

    with pytest.raises(RegistryError) as refused:
        container.start()

    assert "agencies[dic].focal_points" in refused.value.fields
