"""Webhook delivery through the host: a receiver that is down gets every
event once it is back, once each and in order per case, while the other
adapters keep flowing; a refused event holds its case, in order, until its
dead letters are replayed."""

import json
import time

from adapter_support import (
    Publisher,
    WebhookReceiver,
    adapters_config,
    delivered_events,
    jsonl_transport,
    wait_for,
)

from phoihop.adapters import verify_signature
from phoihop.deadletters import DeadLetters
from phoihop.testing import free_port
from services.adapters.host import AdapterHost
from services.adapters.service import AdaptersService

SECRET = "shared-with-the-city-police"
# Kept short for the suite; tests/bench/bench_adapters_fault.py keeps the
# receiver down for minutes.
DOWN_SECONDS = 25


def assignment(sequence):
    """A ``case.assigned`` payload numbered by ``flags`` to check order."""
    return {
        "lead": "dic",
        "agencies": [
            {"agency": "dic", "role": "lead", "rule": "lead", "article": "7.1.a"},
            {
                "agency": "police",
                "role": "coordinating",
                "rule": "category",
                "article": "7.2.a",
                "matched": "fraud_scam",
            },
        ],
        "responsible_agencies": [],
        "categories": ["fraud_scam"],
        "incident": False,
        "flags": [f"seq-{sequence:03d}"],
        "state": "assigned",
        "previous_state": "triaged",
    }


def start_host(container_factory, config):
    container = container_factory(AdaptersService, config)
    container.start()
    host = next(d for d in container.dependencies if isinstance(d, AdapterHost))
    assert not host.broken, host.broken
    assert all(runner.wait_active(30) for runner in host.runners.values())
    return host


def webhook(receiver, **extra):
    return {
        "kind": "webhook",
        "url": receiver.url,
        "secret_env": "POLICE_HOOK_SECRET",
        "timeout": 2,
        "connect_retries": 0,
        **extra,
    }


def deliveries_by_case(receiver):
    cases = {}
    for request in receiver.requests():
        event = json.loads(request["body"])["event"]
        cases.setdefault(event["case_id"], []).append(event["payload"]["flags"][0])
    return cases


def test_receiver_down_gets_every_event_once_in_order_while_others_flow(
    container_factory, service_config, tmp_path, monkeypatch
):
    monkeypatch.setenv("POLICE_HOOK_SECRET", SECRET)
    receiver = WebhookReceiver(free_port(), tmp_path / "received.jsonl")
    config = adapters_config(
        service_config,
        {
            "police": {"transports": [webhook(receiver)]},
            "dic": {"transports": [jsonl_transport(tmp_path / "dic")]},
        },
    )
    start_host(container_factory, config)
    publisher = Publisher(config)
    cases = [f"case-{index}" for index in range(4)]
    sent = []
    for sequence in range(5):
        for case_id in cases:
            event = publisher.emit(
                "case.assigned",
                assignment(sequence),
                agencies=["dic", "police"],
                case_id=case_id,
            )
            sent.append(event["id"])
    went_down = time.monotonic()
    publisher.flush()

    # The receiver is down: DIC's adapter delivers everything meanwhile.
    assert wait_for(lambda: len(delivered_events(tmp_path / "dic")) == 20, 45)
    assert receiver.requests() == []
    time.sleep(max(DOWN_SECONDS - (time.monotonic() - went_down), 0))
    receiver.start()
    try:
        assert wait_for(lambda: len(receiver.requests()) >= 20, timeout=60)
        time.sleep(1.5)
        requests = receiver.requests()
    finally:
        receiver.stop()
        publisher.close()

    keys = [request["headers"]["Idempotency-Key"] for request in requests]
    assert sorted(keys) == sorted(sent)
    by_case = deliveries_by_case(receiver)
    for case_id in cases:
        assert by_case[case_id] == [f"seq-{n:03d}" for n in range(5)]


def test_delivery_signature_verifies_with_the_shared_secret_only(
    container_factory, service_config, tmp_path, monkeypatch
):
    monkeypatch.setenv("POLICE_HOOK_SECRET", SECRET)
    receiver = WebhookReceiver(free_port(), tmp_path / "received.jsonl").start()
    config = adapters_config(
        service_config, {"police": {"transports": [webhook(receiver)]}}
    )
    start_host(container_factory, config)
    publisher = Publisher(config)
    publisher.emit("case.assigned", assignment(1), agencies=["police"], case_id="c-1")
    publisher.flush()
    try:
        assert wait_for(lambda: len(receiver.requests()) == 1, 45)
    finally:
        receiver.stop()
        publisher.close()
    [request] = receiver.requests()
    headers = request["headers"]

    def verify(secret):
        return verify_signature(
            secret,
            headers["X-Phoihop-Timestamp"],
            request["body"],
            headers["X-Phoihop-Signature"],
        )

    assert verify(SECRET)
    assert not verify("another-agency's-secret")


def test_refused_event_holds_its_case_until_replayed_in_order(
    container_factory, service_config, tmp_path, monkeypatch
):
    monkeypatch.setenv("POLICE_HOOK_SECRET", SECRET)
    port = free_port()
    refusing = WebhookReceiver(port, tmp_path / "refused.jsonl", status=422).start()
    config = adapters_config(
        service_config,
        {"police": {"transports": [webhook(refusing)]}},
    )
    host = start_host(container_factory, config)
    publisher = Publisher(config)
    held = [
        publisher.emit(
            "case.assigned", assignment(n), agencies=["police"], case_id="held"
        )
        for n in range(3)
    ]
    publisher.flush()
    letters = DeadLetters(config["AMQP_URI"])

    # The first is refused (422: no retry); the two behind it follow it
    # into the dead-letter queue, in order, instead of overtaking it.
    assert wait_for(lambda: letters.count("adapter.police") == 3, 45)
    assert len(refusing.requests()) == 1
    listed = letters.list("adapter.police")
    assert [letter.event_id for letter in listed] == [event["id"] for event in held]
    assert "held behind" in listed[1].error
    assert host.ledger.held("police", "held") == [event["id"] for event in held]

    # Another case is not held: its event is tried (and refused on its own).
    publisher.emit("case.assigned", assignment(9), agencies=["police"], case_id="free")
    publisher.flush()
    assert wait_for(lambda: len(refusing.requests()) == 2, 45)
    assert wait_for(lambda: letters.count("adapter.police") == 4, 45)
    refusing.stop()

    accepting = WebhookReceiver(port, tmp_path / "accepted.jsonl").start()
    try:
        assert letters.replay("adapter.police") == 4
        assert wait_for(lambda: len(accepting.requests()) == 4, 45)
        time.sleep(1.0)
    finally:
        accepting.stop()
        publisher.close()
    by_case = deliveries_by_case(accepting)
    assert by_case["held"] == ["seq-000", "seq-001", "seq-002"]
    assert by_case["free"] == ["seq-009"]
    assert host.ledger.held("police", "held") == []
    assert letters.count("adapter.police") == 0


def test_operator_lists_adapters_and_releases_a_held_case_over_rpc(
    container_factory, service_config, tmp_path, monkeypatch
):
    from nameko.testing.services import entrypoint_hook

    from phoihop.errors import Forbidden

    monkeypatch.setenv("POLICE_HOOK_SECRET", SECRET)
    port = free_port()
    refusing = WebhookReceiver(port, tmp_path / "refused.jsonl", status=400).start()
    config = adapters_config(
        service_config, {"police": {"transports": [webhook(refusing)]}}
    )
    container = container_factory(AdaptersService, config)
    container.start()
    host = next(d for d in container.dependencies if isinstance(d, AdapterHost))
    assert host.runners["police"].wait_active(30)
    publisher = Publisher(config)
    for sequence in range(2):
        publisher.emit(
            "case.assigned", assignment(sequence), agencies=["police"], case_id="x"
        )
    publisher.flush()
    letters = DeadLetters(config["AMQP_URI"])
    assert wait_for(lambda: letters.count("adapter.police") == 2, 45)
    refusing.stop()

    with entrypoint_hook(container, "list_adapters") as list_adapters:
        [police] = list_adapters()["adapters"]
    assert police["queue"] == "adapter.police"
    assert police["ledger"]["dead"] == 2 and police["ledger"]["held_cases"] == 1

    with entrypoint_hook(container, "release_case") as release_case:
        try:
            release_case("police", "x", actor={"agency": "police", "officer": "p"})
        except Forbidden:
            pass
        else:
            raise AssertionError("an agency other than DIC released a case")
        released = release_case("police", "x", actor={"agency": "dic", "officer": "a"})
    assert len(released) == 2

    accepting = WebhookReceiver(port, tmp_path / "accepted.jsonl").start()
    try:
        publisher.emit("case.assigned", assignment(7), agencies=["police"], case_id="x")
        publisher.flush()
        assert wait_for(lambda: len(accepting.requests()) == 1, 45)
    finally:
        accepting.stop()
        publisher.close()
    assert deliveries_by_case(accepting)["x"] == ["seq-007"]
    assert letters.count("adapter.police") == 2
