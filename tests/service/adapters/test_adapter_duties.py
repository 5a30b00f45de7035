"""Each agency's built-in adapter receives the cases of its Art. 7 duties and
no other, through the host, from events published by the outbox relay."""

from datetime import date

import pytest
from adapter_support import (
    Publisher,
    adapters_config,
    case_assigned,
    delete_adapter_queues,
    delivered_events,
    escalation,
    jsonl_transport,
    wait_for,
)
from nameko.containers import ServiceContainer

from phoihop.agencies import shipped_registry
from services.adapters.host import AdapterHost
from services.adapters.service import AdaptersService

# Before the two-tier local government of 2025-07-01, while the districts the
# regulation names are the local committees.
ON = date(2024, 6, 1)

INSTANCES = {
    "dic": {},
    "police": {},
    "journalists": {},
    "propaganda": {},
    "internal_affairs": {},
    "dept-health": {"plugin": "department", "agency": "dept-health"},
    "local-hong-bang": {"plugin": "locality", "agency": "local-hong-bang"},
    "press-hp": {},
    "press-thp": {},
    "portal": {},
    "city": {},
    "ministry": {},
}

# (case id, categories, sector, locality, journalists involved)
CASES = [
    ("case-scam", ["fraud_scam"], None, None, False),
    ("case-health-rumour", ["false_information"], "health", None, False),
    ("case-history", ["historical_distortion"], None, None, False),
    ("case-journalist", ["journalist_harassment"], None, None, True),
    ("case-anti-state", ["anti_state"], None, None, False),
    ("case-local", ["defamation"], None, "hong-bang", False),
    ("case-court", ["defamation"], "judiciary", None, False),
    ("case-lead-only", ["privacy"], None, None, False),
]

ESCALATIONS = [("case-to-city", "city"), ("case-to-ministry", "ministry")]


@pytest.fixture(scope="module")
def deliveries(test_env, tmp_path_factory):
    """Run the host with every built-in adapter, publish the cases once and
    collect what each adapter delivered."""
    registry = shipped_registry()
    root = tmp_path_factory.mktemp("duties")
    instances = {
        name: {**settings, "transports": [jsonl_transport(root / name)]}
        for name, settings in INSTANCES.items()
    }
    config = adapters_config(test_env.config(), instances)
    container = ServiceContainer(AdaptersService, config)
    container.start()
    host = next(d for d in container.dependencies if isinstance(d, AdapterHost))
    assert not host.broken, host.broken
    assert all(runner.wait_active(30) for runner in host.runners.values())

    publisher = Publisher(config)
    expected = {name: set() for name in INSTANCES}
    for case_id, categories, sector, locality, journalists in CASES:
        payload, agencies = case_assigned(
            registry,
            categories,
            ON,
            sector,
            locality,
            journalists_involved=journalists,
        )
        publisher.emit("case.assigned", payload, agencies=agencies, case_id=case_id)
        for agency in agencies:
            expected[agency].add(case_id)
    for case_id, target in ESCALATIONS:
        publisher.emit(
            "case.escalated", escalation(target), agencies=["dic"], case_id=case_id
        )
        expected[target].add(case_id)
        expected["dic"].add(case_id)
    publisher.flush()

    def settled():
        described = host.describe()["adapters"]
        return all(
            len(delivered_events(root / name)) >= len(expected[name])
            for name in INSTANCES
        ) and all(item["backlog"] == 0 for item in described)

    wait_for(settled, timeout=60)
    # Anything an adapter should not have taken has had time to arrive too.
    wait_for(lambda: False, timeout=1.0)
    received = {
        name: [event["case_id"] for event in delivered_events(root / name)]
        for name in INSTANCES
    }
    yield expected, received
    publisher.close()
    container.stop()
    delete_adapter_queues(config["AMQP_URI"], sorted(INSTANCES))


@pytest.mark.parametrize("agency", sorted(INSTANCES))
def test_adapter_receives_the_cases_of_its_duties_and_no_other(agency, deliveries):
    expected, received = deliveries

    assert sorted(received[agency]) == sorted(expected[agency])


@pytest.mark.parametrize("agency", sorted(set(INSTANCES) - {"city", "ministry"}))
def test_every_agency_is_reached_by_at_least_one_case(agency, deliveries):
    expected, _ = deliveries

    assert expected[agency], f"no case of the test reaches {agency}"
