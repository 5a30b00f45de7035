"""The HTTP edge as pure logic: the error table, the rate limiter, request
validation and the OpenAPI document built from the endpoint declarations."""

import pytest
from nameko.exceptions import MethodNotFound, RemoteError, UnknownService

from phoihop.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
    ValidationError,
)
from services.gateway.errors import (
    RateLimited,
    UpstreamError,
    error_response,
    from_rpc_error,
    status_for,
)
from services.gateway.http import check_path_values, flatten
from services.gateway.openapi import build_openapi, openapi_path, render_docs_page
from services.gateway.ratelimit import RateLimiter
from services.gateway.service import GatewayService


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ValidationError("x"), 400),
        (Unauthenticated("x"), 401),
        (Forbidden("x"), 403),
        (NotFound("x"), 404),
        (IllegalTransition("x"), 409),
        (Conflict("x"), 409),
        (RateLimited("x"), 429),
        (UpstreamError("x"), 502),
        (ServiceUnavailable("x"), 503),
        (RuntimeError("x"), 500),
    ],
    ids=lambda value: (
        type(value).__name__ if isinstance(value, Exception) else str(value)
    ),
)
def test_each_domain_error_has_its_status(error, status):
    assert status_for(error) == status


def test_error_response_has_the_one_shape_and_no_internals():
    response = error_response(KeyError("secret internals"))

    assert response.status_code == 500
    assert b"secret internals" not in response.get_data()
    assert response.json == {
        "error": {
            "code": "internal_error",
            "message": "the gateway failed; see its log",
            "fields": {},
        }
    }


def test_nested_fields_of_a_service_error_are_flattened():
    response = error_response(ValidationError("bad", {"a": {"b": ["x", "y"]}, "c": 1}))

    assert response.json["error"]["fields"] == {"a.b": "x; y", "c": "1"}


def test_rate_limited_and_unauthenticated_carry_their_headers():
    assert (
        error_response(RateLimited("x", retry_after=2.2)).headers["Retry-After"] == "3"
    )
    assert "Bearer" in error_response(Unauthenticated("x")).headers["WWW-Authenticate"]


def test_rpc_failures_become_domain_errors():
    assert isinstance(
        from_rpc_error("intake", "m", UnknownService("intake")), ServiceUnavailable
    )
    assert isinstance(from_rpc_error("intake", "m", MethodNotFound("m")), UpstreamError)
    assert isinstance(
        from_rpc_error("intake", "m", RemoteError("KeyError", "x")), UpstreamError
    )
    assert from_rpc_error("intake", "m", ValueError("x")) is None


def test_bucket_allows_the_burst_then_refills_at_the_rate():
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=3, clock=lambda: now[0])

    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == pytest.approx(1.0)
    assert limiter.take("other") == 0.0
    now[0] += 1.0
    assert limiter.take("k") == 0.0


def test_path_identifiers_are_plain():
    check_path_values({"case_id": "HP-2026-000001", "agency": "dept-health"})

    with pytest.raises(ValidationError) as refused:
        check_path_values({"case_id": "a b", "agency": "x" * 101})
    assert set(refused.value.fields) == {"case_id", "agency"}


def test_marshmallow_messages_are_flattened_with_dotted_names():
    assert flatten({"reporter": {"kind": ["Must be one of"]}, "_schema": ["x"]}) == {
        "reporter.kind": "Must be one of",
        "_schema": "x",
    }


def test_werkzeug_paths_become_openapi_paths():
    assert openapi_path("/api/v1/cases/<case_id>/measures/<measure_id>/result") == (
        "/api/v1/cases/{case_id}/measures/{measure_id}/result"
    )
    assert openapi_path("/r/<report_id>/<any(docx, xlsx):file_format>") == (
        "/r/{report_id}/{file_format}"
    )


def test_openapi_document_declares_every_operation_with_errors_and_policy():
    document = build_openapi(GatewayService)

    operations = [
        op for methods in document["paths"].values() for op in methods.values()
    ]
    assert len(operations) > 50
    assert len({op["operationId"] for op in operations}) == len(operations)
    for operation in operations:
        assert "503" in operation["responses"]
        if "x-phoihop-action" in operation:
            assert {"401", "403", "429"} <= set(operation["responses"])
            assert operation["security"]
    triage = document["paths"]["/api/v1/cases/{case_id}/triage"]["post"]
    assert triage["x-phoihop-roles"] == ["dic_inspector"]
    assert "TriageRequest" in document["components"]["schemas"]


def test_docs_page_is_self_contained_vietnamese_html():
    page = render_docs_page(build_openapi(GatewayService))

    assert page.startswith("<!doctype html>")
    assert "Tài liệu API phoihop" in page and "Thanh tra Sở TT&amp;TT" in page
    assert "<script" not in page and "https://" not in page
