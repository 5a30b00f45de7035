"""The live stream over server-sent events, on the real broker: events
published while a client listens reach it, filtered and redacted for the
caller's clearance; agencies other than DIC are refused."""

import json

import requests
from gateway_peers import auth
from kombu import Connection

from phoihop.bus import events_exchange
from phoihop.config import exchange_name
from phoihop.events import build_event


def publish(config, envelope):
    with Connection(config["AMQP_URI"]) as connection:
        producer = connection.Producer(serializer="json")
        exchange = events_exchange(exchange_name(config))
        producer.publish(
            envelope,
            exchange=exchange,
            routing_key=envelope["type"],
            declare=[exchange],
        )


def read_events(lines, until_id, limit=50):
    """SSE messages up to the one whose id is ``until_id``."""
    events, current = [], {}
    for raw in lines:
        if raw == "":
            if current.get("event") == "event":
                event = json.loads(current["data"])
                events.append(event)
                if event["id"] == until_id:
                    return events
            current = {}
            continue
        if raw.startswith(":"):
            continue
        name, _, value = raw.partition(": ")
        current[name] = value
        if len(events) >= limit:
            break
    return events


def open_stream(base_url, key, params=None):
    response = requests.get(
        f"{base_url}/api/v1/stream",
        headers=auth(key),
        params=params,
        stream=True,
        timeout=15,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/event-stream")
    # One line reader for the whole stream: a second one would lose what
    # the first had buffered.
    lines = response.iter_lines(chunk_size=1, decode_unicode=True)
    for line in lines:
        if line == "event: ready":
            break
    return response, lines


def test_event_published_while_listening_reaches_the_stream(
    gateway, gateway_config, make_key
):
    key = make_key("dic", "dic_inspector", clearance="secret")
    response, lines = open_stream(gateway, key, {"type": "platform.*"})

    first = build_event("platform.ping", {"sequence": 1, "note": "lần một"})
    publish(gateway_config, first)
    events = read_events(lines, first["id"])
    response.close()

    assert [event["id"] for event in events] == [first["id"]]
    assert events[0]["payload"]["note"] == "lần một"


def test_classified_event_is_redacted_for_a_caller_not_cleared_for_secrets(
    gateway, gateway_config, make_key
):
    key = make_key("dic", "officer", clearance="internal")
    response, lines = open_stream(gateway, key)

    secret = build_event(
        "platform.ping",
        {"sequence": 2, "note": "vị trí kho lưu trữ"},
        classification="secret",
    )
    publish(gateway_config, secret)
    events = read_events(lines, secret["id"])
    response.close()

    shown = events[-1]
    assert shown["redacted"] is True
    assert shown["payload"]["sequence"] == 2
    assert "vị trí kho lưu trữ" not in json.dumps(shown, ensure_ascii=False)


def test_stream_is_refused_to_an_agency_other_than_dic(gateway, make_key):
    response = requests.get(
        f"{gateway}/api/v1/stream", headers=auth(make_key("police", "focal_point"))
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
