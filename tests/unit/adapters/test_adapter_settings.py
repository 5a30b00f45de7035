"""The adapters section of the configuration, resolved into adapters."""

import pytest

from phoihop.adapters.discovery import discover_adapters
from phoihop.adapters.errors import AdapterConfigError
from phoihop.adapters.settings import (
    ForwardingAdapter,
    build_adapter,
    load_section,
    plan_instances,
)
from phoihop.agencies import shipped_registry
from phoihop.config import PROJECT_ROOT, read_config_file


@pytest.fixture(scope="module")
def discovery():
    return discover_adapters()


@pytest.fixture(scope="module")
def registry():
    return shipped_registry()


def plan(discovery, registry, instances, **section):
    return plan_instances(
        load_section({"instances": instances, **section}), discovery, registry
    )


def test_shipped_configuration_builds_every_adapter_without_secrets(
    discovery, registry
):
    raw = read_config_file(PROJECT_ROOT / "deploy" / "config" / "adapters.yaml", {})
    resolved = plan_instances(load_section(raw["adapters"]), discovery, registry)

    assert resolved.broken == {}
    names = {spec.name for spec in resolved.instances}
    assert {
        "dic",
        "police",
        "journalists",
        "propaganda",
        "internal_affairs",
        "press-hp",
        "press-thp",
        "portal",
        "city",
        "ministry",
        "dept-health",
        "dept-education",
    } <= names
    for spec in resolved.instances:
        build_adapter(spec, registry, environ={})


def test_pattern_entry_expands_to_one_adapter_per_agency_with_its_variables(
    discovery, registry
):
    resolved = plan(
        discovery,
        registry,
        {
            "departments": {
                "plugin": "department",
                "agencies": "dept-*",
                "api_key_env": "KEY_{AGENCY}",
                "transports": [{"kind": "jsonl", "directory": "out/{agency}"}],
            }
        },
    )

    health = next(spec for spec in resolved.instances if spec.name == "dept-health")
    assert health.agency == "dept-health"
    assert health.api_key_env == "KEY_DEPT_HEALTH"
    assert health.transports[0]["directory"] == "out/dept-health"
    assert health.keys[0] == "agency.dept-health.case.assigned"
    assert all(spec.agency.startswith("dept-") for spec in resolved.instances)


def test_unknown_plugin_breaks_only_its_entry(discovery, registry):
    resolved = plan(discovery, registry, {"nope": {}, "dic": {}})

    assert [spec.name for spec in resolved.instances] == ["dic"]
    assert "not available" in str(resolved.broken["nope"])


def test_plugin_fixed_to_an_agency_refuses_another(discovery, registry):
    resolved = plan(discovery, registry, {"police": {"agency": "journalists"}})

    assert "serves 'police'" in str(resolved.broken["police"])


def test_remote_adapter_not_installed_here_needs_bindings_under_its_agency(
    discovery, registry
):
    resolved = plan(
        discovery,
        registry,
        {
            "harbour": {
                "plugin": "harbour",
                "agency": "dept-transport",
                "run": "remote",
            },
            "sneaky": {
                "plugin": "sneaky",
                "agency": "dept-transport",
                "run": "remote",
                "bindings": ["agency.police.#"],
            },
            "greedy": {
                "plugin": "greedy",
                "agency": "dept-transport",
                "run": "remote",
                "bindings": ["#"],
            },
            "fine": {
                "plugin": "fine",
                "agency": "dept-transport",
                "run": "remote",
                "bindings": ["agency.dept-transport.#", "case.escalated"],
            },
        },
    )

    assert "needs its bindings" in str(resolved.broken["harbour"])
    assert "another agency" in str(resolved.broken["sneaky"])
    assert "every event" in str(resolved.broken["greedy"])
    [fine] = resolved.instances
    assert fine.keys == ("agency.dept-transport.#", "case.escalated")
    adapter = build_adapter(fine, registry, amqp_uri="amqp://x", environ={})
    assert isinstance(adapter, ForwardingAdapter)
    assert adapter.transports[0].queue == "adapter.fine.remote"


def test_transport_without_its_secret_names_the_variable(discovery, registry):
    [spec] = plan(
        discovery,
        registry,
        {
            "police": {
                "transports": [
                    {
                        "kind": "webhook",
                        "url": "https://h.invalid/x",
                        "secret_env": "POLICE_HOOK_SECRET",
                    }
                ]
            }
        },
    ).instances

    with pytest.raises(AdapterConfigError) as refused:
        build_adapter(spec, registry, environ={})

    assert "POLICE_HOOK_SECRET" in refused.value.message


def test_auto_answer_without_an_api_key_is_refused(discovery, registry):
    [spec] = plan(
        discovery, registry, {"police": {"options": {"auto_answer": True}}}
    ).instances

    with pytest.raises(AdapterConfigError) as refused:
        build_adapter(spec, registry, environ={})

    assert "auto_answer needs an API key" in refused.value.message


def test_department_adapter_refuses_an_agency_of_another_kind(discovery, registry):
    [spec] = plan(
        discovery, registry, {"misplaced": {"plugin": "department", "agency": "police"}}
    ).instances

    with pytest.raises(AdapterConfigError):
        build_adapter(spec, registry, environ={})


def test_limits_fall_back_to_the_defaults(discovery, registry):
    [spec] = plan(
        discovery,
        registry,
        {"dic": {"concurrency": 2}},
        defaults={"prefetch": 7, "retry_delays": [1, 2]},
    ).instances

    assert spec.limits["concurrency"] == 2
    assert spec.limits["prefetch"] == 7
    assert spec.limits["retry_delays"] == [1, 2]
