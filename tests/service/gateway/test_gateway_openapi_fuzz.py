"""Schemathesis against the OpenAPI document the gateway serves, with the
real services behind it: generated requests, valid and invalid, to every
documented operation. Nothing may answer with a server error, and every
answer must be one that the document declares, in the shape it declares."""

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

from services.consultation.service import ConsultationService
from services.intake.service import IntakeService
from services.press.service import PressService
from services.reporting.service import ReportingService
from services.routing.service import RoutingService

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

# Enough to vary each operation's input; bounded so the suite stays fast.
EXAMPLES_PER_OPERATION = 4

SERVICES = (
    IntakeService,
    RoutingService,
    ConsultationService,
    PressService,
    ReportingService,
)


@pytest.fixture
def gateway(container_factory, start_gateway, gateway_config, base_url, tmp_path):
    gateway_config["gateway"]["rpc_timeout_seconds"] = 20
    gateway_config["reporting"] = {"reports_dir": str(tmp_path / "reports")}
    for service in SERVICES:
        container_factory(service, gateway_config).start()
    start_gateway(gateway_config)
    return base_url


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
        case.call_and_validate(
            base_url=gateway, headers=auth(key), checks=CHECKS, timeout=60
        )

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


def test_the_fuzzing_key_gets_through_to_the_services(served, gateway):
    # A run that only ever met refusals would prove little: the same key
    # must be accepted by the services with a valid request.
    _, key = served
    report = {"reporter": {"kind": "citizen"}, "about": {"text": "Tin đồn thất thiệt"}}

    submitted = requests.post(
        f"{gateway}/api/v1/reports", json=report, headers=auth(key)
    )
    listed = requests.get(f"{gateway}/api/v1/cases", headers=auth(key))

    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["case_id"]
    assert listed.status_code == 200
