"""The routing service's clocks: they fire within a second of their time
while the service is restarted twice, and never once the step is done."""

import time
from datetime import datetime

import pytest
from nameko.testing.services import entrypoint_hook
from routing_helpers import triage_payload

from services.routing.service import RoutingService

# Short clocks so the test runs in seconds: verification due 24 s after
# assignment with a reminder 8 s before (room for two restarts before the
# reminder); resolution far away.
CLOCKS = {
    "deadlines": {
        "poll_seconds": 0.2,
        "kinds": {
            "verification": {
                "duration": "24s",
                "reminders_minutes": [8 / 60],
                "article": "7.1.c",
            },
            "resolution": {"duration": "1h", "article": "7.6.c"},
            "escalation_answer": {"duration": "1h", "article": "7.1.a"},
        },
    }
}


@pytest.fixture
def clock_config(service_config):
    return {**service_config, "routing": CLOCKS}


def start_routing(container_factory, config):
    container = container_factory(RoutingService, config)
    container.start()
    return container


def verification_events(tap, kind, case_id):
    return [
        (at, body)
        for at, _, body in tap.find(key=kind, case_id=case_id)
        if body["payload"]["kind"] == "verification"
    ]


def due_at(body):
    return datetime.fromisoformat(body["payload"]["due_at"]).timestamp()


def test_clocks_fire_within_a_second_across_two_restarts_and_not_once_met(
    container_factory, clock_config, publisher, tap
):
    routing = start_routing(container_factory, clock_config)
    publisher.publish("case.triaged", triage_payload("c-late"), "c-late")
    publisher.publish("case.triaged", triage_payload("c-done"), "c-done")
    assert tap.wait_for(
        lambda: (
            verification_events(tap, "deadline.set", "c-late")
            and verification_events(tap, "deadline.set", "c-done")
        )
    )

    # The awaited step happens for one case: its appraisal (consultation's
    # event) meets the verification clock.
    publisher.publish(
        "case.appraised",
        {
            "appraisal_id": "a-1",
            "outcome": "violates",
            "legal_basis": ["CYBER2018-8.1.d"],
            "art_4_2_consideration": "Nội dung bịa đặt, không phải ý kiến phê bình.",
            "appraised_by": {"agency": "dic", "officer": "Thanh tra viên"},
            "state": "appraised",
            "previous_state": "verifying",
        },
        "c-done",
    )
    assert tap.wait_for(lambda: verification_events(tap, "deadline.met", "c-done"))

    # Two restarts of the routing service while the other clock runs.
    for _ in range(2):
        routing.stop()
        tap.drain(0.5)
        routing = start_routing(container_factory, clock_config)
        tap.drain(0.5)
    [(_, _, clock)] = tap.find(key="deadline.set", case_id="c-late")[:1]
    remind_at = due_at(clock) - 8.0
    assert time.time() < remind_at, "the restarts took longer than the test allows"

    assert tap.wait_for(
        lambda: verification_events(tap, "deadline.overdue", "c-late"), timeout=35
    )
    [(reminded_at, reminder)] = verification_events(tap, "deadline.due_soon", "c-late")
    [(overdue_at, overdue)] = verification_events(tap, "deadline.overdue", "c-late")
    due = due_at(overdue)
    assert abs(overdue_at - due) < 1.0
    assert abs(reminded_at - (due - 8.0)) < 1.0
    assert overdue["payload"]["owner_agency"] == "dic"
    assert overdue["payload"]["article"] == "7.1.c"
    assert tap.wait_for(
        lambda: tap.find(key="agency.dic.deadline.overdue", case_id="c-late")
    )

    # The met clock stays silent past its due time, and nothing fires twice.
    tap.drain(1.5)
    assert verification_events(tap, "deadline.due_soon", "c-done") == []
    assert verification_events(tap, "deadline.overdue", "c-done") == []
    assert len(verification_events(tap, "deadline.overdue", "c-late")) == 1
    [(_, met)] = verification_events(tap, "deadline.met", "c-done")
    assert met["payload"]["late"] is False

    with entrypoint_hook(routing, "list_deadlines") as list_deadlines:
        states = {
            item["case_id"]: item["state"]
            for item in list_deadlines({"kind": "verification"})
        }
    assert states == {"c-late": "overdue", "c-done": "met"}


def test_rejected_case_cancels_its_resolution_clock(
    container_factory, clock_config, publisher, tap
):
    start_routing(container_factory, clock_config)
    publisher.publish("case.triaged", triage_payload("c-rejected"), "c-rejected")
    assert tap.wait_for(
        lambda: len(tap.find(key="deadline.set", case_id="c-rejected")) == 2
    )

    publisher.publish(
        "case.rejected",
        {
            "reason": "Ý kiến phê bình chính đáng (Điều 4.2)",
            "state": "rejected",
            "previous_state": "appraised",
        },
        "c-rejected",
    )

    assert tap.wait_for(
        lambda: (
            tap.find(key="deadline.cancelled", case_id="c-rejected")
            and tap.find(key="deadline.met", case_id="c-rejected")
        )
    )
    [(_, _, cancelled)] = tap.find(key="deadline.cancelled", case_id="c-rejected")
    assert cancelled["payload"]["kind"] == "resolution"
    assert cancelled["payload"]["reason"] == "case.rejected"
    [(_, _, met)] = tap.find(key="deadline.met", case_id="c-rejected")
    assert met["payload"]["kind"] == "verification"
