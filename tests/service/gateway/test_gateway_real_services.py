"""The gateway against the real services: every endpoint, called as the DIC
Inspectorate with a valid body on records that do not exist, must reach a
service that understands the call (an answer, or a 4xx naming what is
wrong), never a 502 (a call the service does not take) or a 5xx."""

import pytest
import requests
from gateway_peers import auth
from test_gateway_access_matrix import ENDPOINTS

from services.consultation.service import ConsultationService
from services.intake.service import IntakeService
from services.press.service import PressService
from services.reporting.service import ReportingService
from services.routing.service import RoutingService

SERVICES = (
    IntakeService,
    RoutingService,
    ConsultationService,
    PressService,
    ReportingService,
)


@pytest.fixture
def real_gateway(container_factory, start_gateway, gateway_config, base_url, tmp_path):
    gateway_config["gateway"]["rpc_timeout_seconds"] = 20
    gateway_config["reporting"] = {"reports_dir": str(tmp_path / "reports")}
    for service in SERVICES:
        container_factory(service, gateway_config).start()
    start_gateway(gateway_config)
    return base_url


def test_every_endpoint_is_understood_by_the_real_service(real_gateway, make_key):
    key = make_key("dic", "dic_inspector", "focal_point", "admin", clearance="secret")
    target = make_key("police", "officer").split("_")[1]
    answers = {}

    for method, url, body, _ in ENDPOINTS:
        url = url.replace("{target}", target)
        response = requests.request(
            method, f"{real_gateway}{url}", json=body, headers=auth(key), timeout=60
        )
        answers[f"{method} {url}"] = (response.status_code, response.text[:300])

    not_understood = {
        name: answer for name, answer in answers.items() if answer[0] >= 500
    }
    assert not_understood == {}


def test_idempotency_key_answers_created_then_seen_then_conflict(
    real_gateway, make_key
):
    headers = {**auth(make_key("police", "officer")), "Idempotency-Key": "cv-1204-7"}
    report = {
        "reporter": {"kind": "citizen"},
        "content_items": [{"url": "https://www.facebook.com/tinxau/posts/7001"}],
    }
    other = {**report, "about": {"text": "Một phản ánh khác"}}

    def post(body):
        return requests.post(
            f"{real_gateway}/api/v1/reports", json=body, headers=headers, timeout=60
        )

    created, seen, clash = post(report), post(report), post(other)

    assert created.status_code == 201, created.text
    assert seen.status_code == 200, seen.text
    assert seen.json()["report_id"] == created.json()["report_id"]
    assert seen.json()["outcome"] == "duplicate"
    assert clash.status_code == 409, clash.text
    assert clash.json()["error"]["fields"] == {
        "idempotency_key": "already used for another report"
    }


def test_an_input_sent_again_answers_200_with_what_it_became(real_gateway, make_key):
    headers = {**auth(make_key("dic", "officer")), "Idempotency-Key": "sms-gw-31"}
    body = {"channel": "sms", "data": '{"from": "+84900000031", "text": "LD gia"}'}

    def post():
        return requests.post(
            f"{real_gateway}/api/v1/inputs", json=body, headers=headers, timeout=60
        )

    created, seen = post(), post()

    assert created.status_code == 201, created.text
    assert seen.status_code == 200, seen.text
    assert [r["outcome"] for r in seen.json()["results"]] == ["duplicate"]
