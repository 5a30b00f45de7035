"""Schemathesis against the OpenAPI document the gateway serves: generated
requests, valid and invalid, to every documented operation. The gateway
must never answer with a server error, and every answer must be one that
the document declares, in the shape it declares."""

import gateway_peers as peers
import pytest
import requests
import schemathesis
from gateway_peers import auth
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

# Enough to vary each operation's input; bounded so the suite stays fast.
EXAMPLES_PER_OPERATION = 6


@pytest.fixture
def served(gateway, make_key):
    """The served document, and a key that may do everything (DIC
    inspector, focal point and administrator, cleared for state secrets)."""
    key = make_key(
        "dic", "dic_inspector", "focal_point", "admin", clearance="secret", days=1
    )
    document = requests.get(f"{gateway}/api/v1/openapi.json", timeout=10).json()
    return schemathesis.openapi.from_dict(document), key


def run_operation(operation, mode, gateway, key):
    """Hypothesis over one operation in one generation mode; the first
    failing case (shrunk) is raised."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case):
        case.call_and_validate(base_url=gateway, headers=auth(key), checks=CHECKS)

    run()


def test_generated_requests_never_get_a_server_error(served, gateway):
    api_schema, key = served
    operations = [result.ok() for result in api_schema.get_all_operations()]
    failures = {}

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                run_operation(operation, mode, gateway, key)
            except Unsatisfiable:
                # No invalid request exists for an operation without input.
                continue
            except BaseException as exc:  # noqa: BLE001 - collect them all
                failures[f"{operation.label} [{mode.value}]"] = str(exc)[:2000]

    assert len(operations) > 50
    for name, failure in failures.items():
        print(f"=== {name}\n{failure}")
    assert failures == {}


def test_fuzzing_reached_the_services(served, gateway):
    # A run that only ever met validation errors would prove little: the
    # same key must get through to the services with a valid request.
    _, key = served

    answer = requests.get(f"{gateway}/api/v1/cases/{peers.CASE_ID}", headers=auth(key))

    assert answer.status_code == 200
