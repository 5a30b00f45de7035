"""Plugins found through the ``phoihop.adapters`` entry points: a third-party
adapter receives its events; a broken plugin is reported by name and
skipped while the others start."""

from importlib.metadata import EntryPoint

import thirdparty_adapter
from adapter_support import (
    Publisher,
    adapters_config,
    delivered_events,
    jsonl_transport,
    wait_for,
)

from phoihop.adapters import discovery
from phoihop.adapters.discovery import ENTRY_POINT_GROUP
from services.adapters.host import AdapterHost
from services.adapters.service import AdaptersService


def fake_entry_points(monkeypatch, *extra):
    installed = discovery.installed_entry_points()
    fakes = [EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in extra]
    monkeypatch.setattr(discovery, "installed_entry_points", lambda: installed + fakes)


def justice_case():
    return {
        "lead": "dic",
        "agencies": [
            {"agency": "dic", "role": "lead", "rule": "lead", "article": "7.1.a"},
            {
                "agency": "dept-justice",
                "role": "coordinating",
                "rule": "sector",
                "article": "7.6.c",
                "matched": "justice",
            },
        ],
        "responsible_agencies": ["dept-justice"],
        "categories": ["defamation"],
        "sector": "justice",
        "incident": False,
        "state": "assigned",
        "previous_state": "triaged",
    }


def test_third_party_adapter_is_discovered_and_receives_its_events(
    container_factory, service_config, monkeypatch
):
    thirdparty_adapter.RECEIVED.clear()
    fake_entry_points(
        monkeypatch, ("justice-records", "thirdparty_adapter:JusticeRecordsAdapter")
    )
    config = adapters_config(service_config, {"justice-records": {}})
    container = container_factory(AdaptersService, config)
    container.start()
    host = next(d for d in container.dependencies if isinstance(d, AdapterHost))
    assert host.discovery.plugins["justice-records"].cls is (
        thirdparty_adapter.JusticeRecordsAdapter
    )
    assert host.runners["justice-records"].wait_active(30)

    publisher = Publisher(config)
    sent = publisher.emit(
        "case.assigned", justice_case(), agencies=["dic", "dept-justice"], case_id="c-9"
    )
    publisher.flush()
    publisher.close()

    assert wait_for(lambda: len(thirdparty_adapter.RECEIVED) == 1, 45)
    [event] = thirdparty_adapter.RECEIVED
    assert event.id == sent["id"]
    assert event.routing_key == "agency.dept-justice.case.assigned"
    assert host.describe()["adapters"][0]["bindings"] == [
        "agency.dept-justice.case.assigned"
    ]


def test_broken_plugins_are_reported_by_name_and_the_others_start(
    container_factory, service_config, monkeypatch, tmp_path
):
    fake_entry_points(
        monkeypatch,
        ("missing-module", "phoihop_no_such_package:Adapter"),
        ("not-an-adapter", "thirdparty_adapter:NotAnAdapter"),
    )
    config = adapters_config(
        service_config,
        {
            "missing-module": {},
            "dic": {"transports": [jsonl_transport(tmp_path / "dic")]},
            "police": {
                "transports": [{"kind": "webhook", "url": "http://127.0.0.1:9"}]
            },
        },
    )
    container = container_factory(AdaptersService, config)
    container.start()
    host = next(d for d in container.dependencies if isinstance(d, AdapterHost))

    assert "ModuleNotFoundError" in host.broken["plugin:missing-module"]
    assert "not an Adapter class" in host.broken["plugin:not-an-adapter"]
    assert "missing-module" in host.broken
    # A transport without its secret is a broken adapter, named, not a crash.
    assert "secret_env" in host.broken["police"]
    assert sorted(host.runners) == ["dic"]
    assert host.runners["dic"].wait_active(30)

    publisher = Publisher(config)
    publisher.emit("case.assigned", justice_case(), agencies=["dic"], case_id="c-1")
    publisher.flush()
    publisher.close()
    assert wait_for(lambda: len(delivered_events(tmp_path / "dic")) == 1, 45)
