"""How an adapter declares what it takes, and how plugins are found."""

from importlib.metadata import EntryPoint

import pytest
from adapter_factories import make_event

from phoihop.adapters import ALL, DELIVERED, IGNORED, Adapter, handles
from phoihop.adapters.discovery import ENTRY_POINT_GROUP, discover_adapters
from phoihop.adapters.errors import AdapterConfigError
from phoihop.adapters.settings import keys_for
from phoihop.adapters.topology import topic_matches
from phoihop.agencies import shipped_registry


class CityDesk(Adapter):
    agency = "city"
    seen = []

    @handles("#")
    def on_anything(self, event):
        self.seen.append(("any", event.type))

    @handles("case.escalated", scope=ALL, when=lambda a, e: e.payload["to"] == "city")
    def on_escalation(self, event):
        self.seen.append(("escalation", event.type))


class AnyDepartment(Adapter):
    @handles("case.assigned", "measure.*")
    def on_work(self, event):
        pass


def test_own_copies_bind_under_the_agency_and_broad_types_bind_as_is():
    assert keys_for(CityDesk, "city") == ("agency.city.#", "case.escalated")


def test_adapter_for_many_agencies_takes_its_agency_from_configuration():
    adapter = AnyDepartment("dept-health", agency="dept-health")

    assert adapter.routing_keys() == [
        "agency.dept-health.case.assigned",
        "agency.dept-health.measure.*",
    ]


def test_adapter_without_an_agency_is_refused_with_the_field_named():
    with pytest.raises(AdapterConfigError) as refused:
        AnyDepartment("dept-x")

    assert "dept-x.agency" in refused.value.fields


def test_exact_handler_wins_over_a_pattern_and_when_can_decline():
    CityDesk.seen = []
    adapter = CityDesk("city")

    to_city = make_event("case.escalated", {"to": "city"})
    to_ministry = make_event("case.escalated", {"to": "ministry"})
    other = make_event("case.closed", {})

    assert adapter.dispatch(to_city) == DELIVERED
    assert adapter.dispatch(to_ministry) == IGNORED
    assert adapter.dispatch(other) == DELIVERED
    assert CityDesk.seen == [("escalation", "case.escalated"), ("any", "case.closed")]


def test_event_without_a_handler_is_ignored():
    adapter = AnyDepartment("d", agency="dept-health")

    assert adapter.dispatch(make_event("press.results_published", {})) == IGNORED


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("agency.police.#", "agency.police.case.assigned", True),
        ("agency.police.#", "agency.police", True),
        ("agency.police.*", "agency.police.case.assigned", False),
        ("case.*", "case.assigned", True),
        ("case.*", "case", False),
        ("#", "anything.at.all", True),
        ("measure.assigned", "measure.reported", False),
        ("#.assigned", "agency.dic.case.assigned", True),
    ],
    ids=lambda value: str(value),
)
def test_topic_patterns_match_as_rabbitmq_reads_them(pattern, key, matches):
    assert topic_matches(pattern, key) is matches


def entry_point(name, value):
    return EntryPoint(name, value, ENTRY_POINT_GROUP)


def test_discovery_loads_good_plugins_and_reports_broken_ones_by_name():
    found = discover_adapters(
        [
            entry_point("city-desk", f"{__name__}:CityDesk"),
            entry_point("gone", "phoihop_package_that_does_not_exist:Adapter"),
            entry_point("not-a-class", "phoihop.constants:EVENTS_EXCHANGE"),
            entry_point("Bad Name", f"{__name__}:CityDesk"),
        ]
    )

    assert sorted(found.plugins) == ["city-desk"]
    assert found.plugins["city-desk"].cls is CityDesk
    assert "ModuleNotFoundError" in found.broken["gone"].error
    assert "not an Adapter class" in found.broken["not-a-class"].error
    assert "not valid" in found.broken["Bad Name"].error


def test_two_plugins_with_one_name_keep_the_first_and_report_the_second():
    found = discover_adapters(
        [
            entry_point("desk", f"{__name__}:CityDesk"),
            entry_point("desk", f"{__name__}:AnyDepartment"),
        ]
    )

    assert found.plugins["desk"].cls is CityDesk
    assert "taken by" in found.broken["desk"].error


def test_adapter_that_handles_nothing_is_a_broken_plugin():
    found = discover_adapters([entry_point("empty", "phoihop.adapters:Adapter")])

    assert "handles no event" in found.broken["empty"].error


def test_every_built_in_adapter_is_installed_and_serves_a_registry_agency():
    registry = shipped_registry()
    found = discover_adapters()

    assert not found.broken
    expected = {
        "dic",
        "police",
        "journalists",
        "propaganda",
        "internal_affairs",
        "department",
        "locality",
        "press-hp",
        "press-thp",
        "portal",
        "city",
        "ministry",
    }
    assert expected <= set(found.plugins)
    for name in expected:
        cls = found.plugins[name].cls
        if cls.agency:
            assert cls.agency in registry
