"""The gateway's HTTP behaviour on the real broker and database: errors in
one JSON shape, authentication, limits, timeouts and the OpenAPI document."""

import time

import gateway_peers as peers
from gateway_peers import auth


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    return body["error"]


def test_request_without_credentials_gets_401_in_the_json_error_shape(gateway, http):
    error = assert_error(http.get(f"{gateway}/api/v1/cases"), 401, "unauthenticated")

    assert "authorization" in error["fields"]


def test_unknown_and_malformed_keys_get_401(gateway, http, make_key):
    key = make_key("dic", "dic_inspector")
    forged = key[:-4] + "AAAA"

    assert_error(
        http.get(f"{gateway}/api/v1/me", headers=auth(forged)), 401, "unauthenticated"
    )
    assert_error(
        http.get(f"{gateway}/api/v1/me", headers=auth("not-a-key")),
        401,
        "unauthenticated",
    )
    assert http.get(f"{gateway}/api/v1/me", headers=auth(key)).json()["agency"] == "dic"


def test_revoked_key_is_refused_at_once(gateway, http, make_key, credentials):
    key = make_key("police", "officer")
    key_id = key.split("_")[1]
    assert http.get(f"{gateway}/api/v1/me", headers=auth(key)).status_code == 200

    credentials.revoke(key_id, revoked_by="dic/admin", reason="officer left")

    error = assert_error(
        http.get(f"{gateway}/api/v1/me", headers=auth(key)), 401, "unauthenticated"
    )
    assert error["message"] == "API key revoked"


def test_expired_key_is_refused(gateway, http, make_key, credentials):
    key = make_key("police", "officer")
    credentials.credentials.update_one(
        {"_id": key.split("_")[1]}, {"$set": {"expires_at": peers_past()}}
    )

    error = assert_error(
        http.get(f"{gateway}/api/v1/me", headers=auth(key)), 401, "unauthenticated"
    )
    assert error["message"] == "API key expired"


def peers_past():
    from datetime import timedelta

    from phoihop.store import utcnow

    return utcnow() - timedelta(minutes=1)


def test_key_is_stored_only_as_a_salted_hash(credentials, make_key):
    key = make_key("dic", "dic_inspector")
    stored = credentials.credentials.find_one({"_id": key.split("_")[1]})

    secret = key.split("_", 2)[2]
    assert secret not in str(stored)
    assert len(stored["salt"]) == 32 and len(stored["hash"]) == 64


def test_invalid_body_names_each_field_and_reason(gateway, http, make_key):
    key = make_key("dic", "dic_inspector")

    response = http.post(
        f"{gateway}/api/v1/reports",
        json={"reporter": {"kind": "robot"}, "incident": "yes"},
        headers=auth(key),
    )

    error = assert_error(response, 400, "validation_error")
    assert "reporter.kind" in error["fields"]
    assert "incident" in error["fields"]


def test_body_that_is_not_json_gets_400(gateway, http, make_key):
    key = make_key("dic", "dic_inspector")

    response = http.post(
        f"{gateway}/api/v1/reports", data=b"\xff\xfe{", headers=auth(key)
    )

    assert_error(response, 400, "validation_error")


def test_body_over_the_limit_gets_413(
    start_peers, start_gateway, gateway_config, base_url, http, make_key
):
    gateway_config["gateway"]["max_body_bytes"] = 2048
    start_gateway(gateway_config)
    key = make_key("dic", "dic_inspector")

    response = http.post(
        f"{base_url}/api/v1/reports",
        json={"about": {"text": "x" * 5000}, "reporter": {"kind": "anonymous"}},
        headers=auth(key),
    )

    assert_error(response, 413, "payload_too_large")


def test_unknown_path_and_wrong_method_answer_in_json(gateway, http):
    assert_error(http.get(f"{gateway}/api/v1/nothing-here"), 404, "not_found")

    response = http.put(f"{gateway}/api/v1/cases")
    error = assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    assert "method" in error["fields"]


def test_service_not_running_gives_503_not_500(start_gateway, base_url, http, make_key):
    start_gateway()
    key = make_key("dic", "dic_inspector")

    started = time.monotonic()
    response = http.get(f"{base_url}/api/v1/cases/{peers.CASE_ID}", headers=auth(key))

    error = assert_error(response, 503, "service_unavailable")
    assert error["fields"] == {"service": "reporting"}
    assert time.monotonic() - started < 5


def test_service_that_does_not_answer_in_time_gives_503(
    start_gateway, start_peers, base_url, http, make_key
):
    start_peers(peers.SlowReporting)
    start_gateway()
    key = make_key("dic", "dic_inspector")

    started = time.monotonic()
    response = http.get(f"{base_url}/api/v1/cases/{peers.CASE_ID}", headers=auth(key))

    assert_error(response, 503, "service_unavailable")
    assert 1.5 < time.monotonic() - started < 6


def test_domain_error_of_a_service_keeps_its_status(gateway, http, make_key):
    key = make_key("dic", "dic_inspector")

    response = http.get(f"{gateway}/api/v1/cases/HP-NOPE", headers=auth(key))

    assert_error(response, 404, "not_found")


def test_rate_limit_per_credential_gives_429_with_retry_after(
    start_peers, start_gateway, gateway_config, base_url, http, make_key
):
    gateway_config["gateway"].update(rate_limit_per_minute=60, rate_limit_burst=3)
    start_gateway(gateway_config)
    limited, other = make_key("police", "officer"), make_key("police", "officer")

    statuses = [
        http.get(f"{base_url}/api/v1/me", headers=auth(limited)).status_code
        for _ in range(5)
    ]
    refused = http.get(f"{base_url}/api/v1/me", headers=auth(limited))

    assert statuses[:3] == [200, 200, 200]
    assert_error(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1
    assert http.get(f"{base_url}/api/v1/me", headers=auth(other)).status_code == 200


def test_actor_comes_from_the_credential_not_the_body(gateway, http, make_key):
    key = make_key("dic", "dic_inspector")

    response = http.post(
        f"{gateway}/api/v1/cases/{peers.CASE_ID}/reopen",
        json={"reason": "new evidence", "actor": {"agency": "police"}},
        headers=auth(key),
    )
    accepted = http.post(
        f"{gateway}/api/v1/cases/{peers.CASE_ID}/reopen",
        json={"reason": "new evidence"},
        headers=auth(key),
    )

    assert_error(response, 400, "validation_error")
    assert accepted.status_code == 200
    method, args, kwargs = peers.calls[-1]
    assert method == "reopen_case"
    assert kwargs["actor"] == {"agency": "dic", "officer": "Cán bộ dic"}


def test_classified_case_is_redacted_for_an_uncleared_caller(gateway, http, make_key):
    cleared = make_key("dic", "dic_inspector", clearance="secret")
    uncleared = make_key("dic", "officer", clearance="internal")
    url = f"{gateway}/api/v1/cases/{peers.SECRET_CASE_ID}"

    full = http.get(url, headers=auth(cleared)).json()
    hidden = http.get(url, headers=auth(uncleared)).json()

    assert full["title"] == "Tin giả về dịch bệnh ở Hồng Bàng"
    assert "redacted" not in full
    assert hidden["redacted"] is True
    assert "Hồng Bàng" not in str(hidden)
    assert hidden["state"] == "assigned"
    assert hidden["case_id"] == peers.SECRET_CASE_ID


def test_openapi_document_and_docs_page_are_served(gateway, http):
    document = http.get(f"{gateway}/api/v1/openapi.json").json()
    page = http.get(f"{gateway}/api/docs")

    assert document["openapi"].startswith("3.")
    assert "/api/v1/cases/{case_id}" in document["paths"]
    submit = document["paths"]["/api/v1/reports"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReportInput"
    }
    assert submit["x-phoihop-action"] == "reports.submit"
    # A repeated Idempotency-Key answers 200 with the record, as documented.
    assert {"200", "201"} <= set(submit["responses"])
    assert (
        submit["responses"]["200"]["content"] == submit["responses"]["201"]["content"]
    )
    assert page.status_code == 200
    assert "Tài liệu API phoihop" in page.text
    assert "http://" not in page.text.replace("http://www.w3.org", "")


def test_session_cookie_reads_but_does_not_write(gateway, http, make_key):
    key = make_key("dic", "dic_inspector")

    opened = http.post(f"{gateway}/api/v1/session", json={"api_key": key})
    read = http.get(f"{gateway}/api/v1/cases")
    write = http.post(
        f"{gateway}/api/v1/cases/{peers.CASE_ID}/reopen", json={"reason": "x"}
    )
    http.delete(f"{gateway}/api/v1/session")
    after = http.get(f"{gateway}/api/v1/cases")

    assert opened.status_code == 200
    assert "HttpOnly" in opened.headers["Set-Cookie"]
    assert read.status_code == 200
    assert_error(write, 401, "unauthenticated")
    assert_error(after, 401, "unauthenticated")


def test_session_refusal_names_the_form_field(gateway, http, make_key):
    wrong_secret = make_key("dic", "dic_inspector")[:-4] + "zzzz"

    malformed = http.post(f"{gateway}/api/v1/session", json={"api_key": "abc"})
    unknown = http.post(f"{gateway}/api/v1/session", json={"api_key": wrong_secret})

    assert assert_error(malformed, 401, "unauthenticated")["fields"] == {
        "api_key": "expected Bearer phk_<id>_<secret>"
    }
    assert assert_error(unknown, 401, "unauthenticated")["fields"] == {
        "api_key": "unknown key"
    }


def test_blank_search_text_is_refused_naming_the_field(gateway, http, make_key):
    key = make_key("dic", "dic_inspector")

    refused = http.get(
        f"{gateway}/api/v1/cases", params={"text": "   "}, headers=auth(key)
    )

    assert assert_error(refused, 400, "validation_error")["fields"] == {
        "text": "must not be blank"
    }
