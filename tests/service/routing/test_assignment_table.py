"""Every agency row of the Art. 7 table, on the running routing service: a
case with the matching categories, sector or locality reaches that agency
(its own ``agency.<code>.case.assigned`` copy), with the article recorded;
the City People's Committee and the Ministry are reached by escalation."""

from datetime import UTC, datetime

import pytest
from nameko.containers import ServiceContainer
from nameko.testing.services import entrypoint_hook
from routing_helpers import Publisher, Tap, triage_payload

from phoihop.agencies import load_registry
from services.routing.service import RoutingService

# The day the triage happened: the districts of 2022 were still the local
# government then (they ended on 2025-06-30).
TRIAGED_ON = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)
DIC_OFFICER = {"agency": "dic", "officer": "Thanh tra viên"}

REGISTRY = load_registry(on=TRIAGED_ON.date())


def fixed_rows():
    """The named rows of the table: (id, agency, triage, article)."""
    return [
        ("dic", "dic", {"categories": ["defamation"]}, "7.1.a"),
        ("police", "police", {"categories": ["fraud_scam"]}, "7.2.a"),
        (
            "journalists",
            "journalists",
            {"categories": ["defamation"], "journalists_involved": True},
            "7.3.b",
        ),
        (
            "propaganda",
            "propaganda",
            {"categories": ["historical_distortion"]},
            "7.4.c",
        ),
        (
            "internal_affairs",
            "internal_affairs",
            {"sector": "anti-corruption"},
            "7.5.a",
        ),
        ("press-hp", "press-hp", {"categories": ["false_information"]}, "7.7.b"),
        ("press-thp", "press-thp", {"categories": ["false_information"]}, "7.7.b"),
        ("portal", "portal", {"categories": ["false_information"]}, "7.7.b"),
    ]


def department_rows():
    return [
        (agency.code, agency.code, {"sector": agency.sectors[0].code}, "7.6.c")
        for agency in REGISTRY.agencies(kind="department")
    ]


def locality_rows():
    return [
        (agency.code, agency.code, {"locality": agency.localities[0].code}, "7.6.c")
        for agency in REGISTRY.agencies(kind="locality")
    ]


ROWS = fixed_rows() + department_rows() + locality_rows()
ESCALATIONS = [("city", "city", "7.1.a"), ("ministry", "ministry", "7.1.g")]


def case_id_for(row_id):
    return f"table-{row_id}"


@pytest.fixture(scope="module")
def routed(test_env):
    """One routing service; every row's case triaged through it once."""
    config = test_env.config()
    container = ServiceContainer(RoutingService, config)
    container.start()
    tap = Tap(config, ["case.#", "agency.#"])
    publisher = Publisher(config)
    try:
        for row_id, _, triage, _ in ROWS:
            case_id = case_id_for(row_id)
            publisher.publish(
                "case.triaged",
                triage_payload(case_id, **triage),
                case_id,
                occurred_at=TRIAGED_ON,
            )
        for row_id, _, _ in ESCALATIONS:
            case_id = case_id_for(f"escalation-{row_id}")
            publisher.publish(
                "case.triaged",
                triage_payload(case_id, categories=["false_information"]),
                case_id,
                occurred_at=TRIAGED_ON,
            )
        expected = len(ROWS) + len(ESCALATIONS)
        assert tap.wait_for(
            lambda: len(tap.find(key="case.assigned")) == expected, timeout=60
        ), sorted({key for _, key, _ in tap.messages})
        for row_id, to, article in ESCALATIONS:
            with entrypoint_hook(container, "escalate") as escalate:
                escalate(
                    case_id_for(f"escalation-{row_id}"),
                    to,
                    "vượt thẩm quyền của Sở",
                    DIC_OFFICER,
                    article=article,
                )
        assert tap.wait_for(
            lambda: len(tap.find(key="case.escalated")) == len(ESCALATIONS)
        )
        tap.drain(0.5)
        yield container, tap
    finally:
        publisher.close()
        tap.close()
        container.stop()


@pytest.mark.parametrize(
    ("agency", "triage", "article"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_case_reaches_the_agency_of_its_row_with_the_article(
    routed, agency, triage, article
):
    _, tap = routed
    case_id = case_id_for(agency)

    [(_, _, event)] = tap.find(key="case.assigned", case_id=case_id)
    copies = tap.find(key=f"agency.{agency}.case.assigned", case_id=case_id)

    assert len(copies) == 1
    by_agency = {item["agency"]: item for item in event["payload"]["agencies"]}
    assert by_agency[agency]["article"] == article
    assert by_agency[agency]["rule"]
    assert event["payload"]["lead"] == "dic"
    assert by_agency["dic"]["role"] == "lead"
    assert tap.find(key="agency.dic.case.assigned", case_id=case_id)


@pytest.mark.parametrize(
    ("to", "article"),
    [row[1:] for row in ESCALATIONS],
    ids=[row[0] for row in ESCALATIONS],
)
def test_escalation_reaches_the_city_or_ministry_with_the_article(routed, to, article):
    _, tap = routed
    case_id = case_id_for(f"escalation-{to}")

    [(_, _, event)] = tap.find(key=f"agency.{to}.case.escalated", case_id=case_id)

    assert event["payload"]["to"] == to
    assert event["payload"]["article"] == article
    assert event["payload"]["state"] == "escalated"
    assert event["payload"]["previous_state"] == "assigned"


def test_every_registry_agency_is_covered_by_the_table():
    covered = {row[1] for row in ROWS} | {row[1] for row in ESCALATIONS}

    assert covered == {agency.code for agency in REGISTRY}


def test_department_case_names_the_department_responsible(routed):
    _, tap = routed
    [(_, _, event)] = tap.find(key="case.assigned", case_id=case_id_for("dept-health"))

    assert event["payload"]["responsible_agencies"] == ["dept-health"]
    assert event["payload"]["flags"] == []
