"""Every role of every agency kind against every endpoint of the API.

The expected answer of each cell is written here from the regulation's
division of work, not read from the gateway's policy table: DIC (the lead
of Art. 7.1) acts on every case; another agency sees and acts only on the
cases it is assigned to; spokespersons speak (Art. 7.6.d); only the DIC
Inspectorate runs verification and decides (Art. 7.1.b-c); operations
belong to the administrator. A cell is "allowed" when the answer is
neither 401 nor 403 (the peer services accept everything), "denied" when
it is 403 in the JSON error shape.
"""

import gateway_peers as peers
import pytest
from gateway_peers import auth

# One agency of each kind of the registry.
AGENCY_KINDS = {
    "lead": "dic",
    "police": "police",
    "association": "journalists",
    "party_commission": "propaganda",
    "department": "dept-health",
    "locality": "local-hong-bang",
    "press": "press-hp",
    "executive": "city",
    "ministry": "ministry",
}
AGENCY_ROLES = ("officer", "focal_point", "spokesperson")
LEAD_ROLES = AGENCY_ROLES + ("dic_inspector", "admin")

ASSIGNED = set(peers.ASSIGNED)
READERS = {"officer", "focal_point", "spokesperson", "dic_inspector"}
WORKERS = {"officer", "focal_point", "dic_inspector"}
SPEAKERS = {"spokesperson", "dic_inspector"}


def anyone(agency, role):
    return True


def any_reader(agency, role):
    return role in READERS


def reader_assigned(agency, role):
    return role in READERS and agency in ASSIGNED


def worker_assigned(agency, role):
    return role in WORKERS and agency in ASSIGNED


def speaker_assigned(agency, role):
    return role in SPEAKERS and agency in ASSIGNED


def inspector(agency, role):
    return agency == "dic" and role == "dic_inspector"


def inspector_or_admin(agency, role):
    return agency == "dic" and role in {"dic_inspector", "admin"}


def dic_worker(agency, role):
    return agency == "dic" and role in WORKERS


def admin(agency, role):
    return agency == "dic" and role == "admin"


def reporter(agency, role):
    # Art. 8.2: DIC's Inspectorate compiles the City report; Art. 7.6.c:
    # every agency's focal point reports its own results.
    return role == "focal_point" or (agency == "dic" and role == "dic_inspector")


def statement_reader(agency, role):
    # The statement belongs to the health department and was sent to
    # Báo Hải Phòng; both may read it, as may the assigned agencies.
    return role in READERS and agency in ASSIGNED | {"press-hp"}


def statement_owner(agency, role):
    return (agency == "dic" and role == "dic_inspector") or (
        agency == "dept-health" and role == "spokesperson"
    )


def press_recipient(agency, role):
    return role in READERS and agency in {"dic", "press-hp"}


C = f"/api/v1/cases/{peers.CASE_ID}"
DUE = "2030-01-01T03:00:00Z"

ENDPOINTS = [
    ("GET", "/api/v1/me", None, anyone),
    (
        "POST",
        "/api/v1/reports",
        {"reporter": {"kind": "citizen"}, "about": {"text": "Tin đồn"}},
        any_reader,
    ),
    (
        "POST",
        "/api/v1/inputs",
        {"channel": "sms", "data": '{"from": "+84900000000", "text": "LD tin gia"}'},
        any_reader,
    ),
    ("GET", f"/api/v1/reports/{peers.REPORT_ID}", None, worker_assigned),
    ("GET", "/api/v1/cases", None, any_reader),
    ("GET", C, None, reader_assigned),
    (
        "POST",
        f"{C}/triage",
        {
            "categories": ["false_information"],
            "incident": False,
            "journalists_involved": False,
            "severity": "medium",
            "classification": "internal",
        },
        inspector,
    ),
    ("GET", "/api/v1/merge-proposals", None, inspector),
    (
        "POST",
        "/api/v1/merge-proposals/MP-1/dismissal",
        {"reason": "khác nhau"},
        inspector,
    ),
    ("GET", f"/api/v1/meetings/{peers.MEETING_ID}", None, worker_assigned),
    (
        "PATCH",
        f"/api/v1/statements/{peers.STATEMENT_ID}",
        {"title": "Thông tin ban đầu"},
        statement_owner,
    ),
    ("POST", f"{C}/merge", {"into_case_id": "HP-2026-000009"}, inspector),
    ("GET", "/api/v1/quarantine", None, inspector_or_admin),
    ("GET", f"/api/v1/quarantine/{peers.QUARANTINE_ID}", None, inspector_or_admin),
    (
        "POST",
        f"/api/v1/quarantine/{peers.QUARANTINE_ID}/resubmit",
        {"raw": "Sửa lại nội dung", "encoding": "text"},
        inspector,
    ),
    ("GET", f"{C}/assignments", None, reader_assigned),
    (
        "POST",
        f"{C}/agencies",
        {"agency": "journalists", "reason": "nhà báo liên quan"},
        inspector,
    ),
    ("POST", f"{C}/agencies/police/removal", {"reason": "không liên quan"}, inspector),
    (
        "POST",
        f"{C}/lead",
        {"to_agency": "police", "reason": "tội phạm mạng"},
        inspector,
    ),
    (
        "POST",
        f"{C}/escalations",
        {"to": "city", "reason": "vượt thẩm quyền"},
        inspector,
    ),
    ("GET", "/api/v1/escalations", None, inspector),
    (
        "POST",
        f"/api/v1/escalations/{peers.ESCALATION_ID}/answer",
        {"outcome": "returned", "next_state": "verifying"},
        inspector,
    ),
    ("GET", "/api/v1/deadlines", None, any_reader),
    (
        "POST",
        f"{C}/rounds",
        {"question": "Có vi phạm?", "invited": ["police"], "due_at": DUE},
        inspector,
    ),
    ("GET", f"/api/v1/rounds/{peers.ROUND_ID}", None, worker_assigned),
    (
        "POST",
        f"/api/v1/rounds/{peers.ROUND_ID}/opinions",
        {"position": "agree", "reasoning": "vi phạm"},
        worker_assigned,
    ),
    ("POST", f"/api/v1/rounds/{peers.ROUND_ID}/close", None, inspector),
    (
        "POST",
        f"{C}/meetings",
        {
            "agenda": ["Thẩm định"],
            "starts_at": DUE,
            "place": "Sở TT&TT",
            "invited": ["police"],
        },
        inspector,
    ),
    (
        "POST",
        f"/api/v1/meetings/{peers.MEETING_ID}/attendance",
        {"attendance": [{"agency": "police", "officer": "Trần Văn B"}]},
        inspector,
    ),
    (
        "POST",
        f"/api/v1/meetings/{peers.MEETING_ID}/minutes",
        {"minutes": "Biên bản", "conclusions": ["Vi phạm"]},
        inspector,
    ),
    ("POST", f"/api/v1/meetings/{peers.MEETING_ID}/approval", None, inspector),
    ("GET", f"{C}/consultation", None, worker_assigned),
    (
        "POST",
        f"{C}/appraisal",
        {
            "outcome": "insufficient_evidence",
            "art_4_2_consideration": "không cản trở báo chí",
        },
        inspector,
    ),
    (
        "POST",
        f"{C}/decision",
        {"measures": [{"kind": "no_action", "agency": "police", "due_at": DUE}]},
        inspector,
    ),
    ("GET", f"{C}/measures", None, reader_assigned),
    (
        "POST",
        f"{C}/measures/{peers.MEASURE_ID}/result",
        {"result": "not_possible", "note": "nền tảng không phản hồi"},
        worker_assigned,
    ),
    ("POST", f"{C}/close", {}, inspector),
    ("POST", f"{C}/reopen", {"reason": "có chứng cứ mới"}, inspector),
    ("POST", f"{C}/statements", {"kind": "initial_info"}, speaker_assigned),
    ("GET", f"/api/v1/statements?case_id={peers.CASE_ID}", None, reader_assigned),
    ("GET", f"/api/v1/statements/{peers.STATEMENT_ID}", None, statement_reader),
    (
        "POST",
        f"/api/v1/statements/{peers.STATEMENT_ID}/approval",
        None,
        statement_owner,
    ),
    (
        "POST",
        f"/api/v1/statements/{peers.STATEMENT_ID}/distribution",
        {},
        statement_owner,
    ),
    (
        "POST",
        f"/api/v1/statements/{peers.STATEMENT_ID}/deliveries",
        {},
        press_recipient,
    ),
    ("POST", f"{C}/results-notice", {}, inspector),
    ("GET", f"{C}/initial-info", None, reader_assigned),
    ("GET", "/api/v1/board/summary", None, dic_worker),
    ("GET", "/api/v1/board/workload", None, dic_worker),
    ("GET", "/api/v1/board/compliance?kind=month&period=2026-11", None, dic_worker),
    ("GET", "/api/v1/periodic-reports", None, reporter),
    ("GET", f"/api/v1/periodic-reports/{peers.REPORT_FILE_ID}/docx", None, reporter),
    (
        "POST",
        "/api/v1/periodic-reports",
        {"kind": "month", "period": "2026-11"},
        reporter,
    ),
    ("GET", "/api/v1/event-log/verification", None, inspector_or_admin),
    ("GET", "/api/v1/dead-letters?queue=reporting.handle_event", None, admin),
    ("POST", "/api/v1/dead-letters/replay", {"queue": "reporting.handle_event"}, admin),
    ("GET", "/api/v1/credentials", None, admin),
    (
        "POST",
        "/api/v1/credentials",
        {"agency": "police", "officer": "Lê Văn C", "roles": ["officer"]},
        admin,
    ),
    ("GET", "/api/v1/credentials/{target}", None, admin),
    ("POST", "/api/v1/credentials/{target}/revocation", {"reason": "kiểm thử"}, admin),
]


def test_every_documented_endpoint_is_in_the_matrix(gateway, http):
    document = http.get(f"{gateway}/api/v1/openapi.json").json()
    documented = {
        (method.upper(), path)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if "x-phoihop-action" in operation
    }
    covered = set()
    for method, url, _, _ in ENDPOINTS:
        path = url.split("?")[0]
        for name, value in (
            ("case_id", peers.CASE_ID),
            ("report_id", peers.REPORT_ID),
            ("quarantine_id", peers.QUARANTINE_ID),
            ("escalation_id", peers.ESCALATION_ID),
            ("consultation_id", peers.ROUND_ID),
            ("meeting_id", peers.MEETING_ID),
            ("statement_id", peers.STATEMENT_ID),
            ("measure_id", peers.MEASURE_ID),
            ("key_id", "{target}"),
            ("proposal_id", "MP-1"),
            ("report_id", peers.REPORT_FILE_ID),
            ("file_format", "docx"),
            ("agency", "police"),
        ):
            path = path.replace(f"/{value}/", f"/{{{name}}}/")
            if path.endswith(f"/{value}"):
                path = path[: -len(value)] + f"{{{name}}}"
        covered.add((method, path))

    assert documented - covered == set()


@pytest.mark.parametrize("kind", sorted(AGENCY_KINDS), ids=sorted(AGENCY_KINDS))
def test_every_role_of_an_agency_kind_against_every_endpoint(
    kind, gateway, http, make_key
):
    agency = AGENCY_KINDS[kind]
    roles = LEAD_ROLES if agency == "dic" else AGENCY_ROLES
    target = make_key("police", "officer").split("_")[1]
    wrong = []

    for role in roles:
        clearance = "secret" if agency in ("dic", "police") else "confidential"
        key = make_key(agency, role, clearance=clearance)
        for method, url, body, rule in ENDPOINTS:
            url = url.replace("{target}", target)
            response = http.request(
                method, f"{gateway}{url}", json=body, headers=auth(key)
            )
            allowed = rule(agency, role)
            if allowed and response.status_code in (401, 403):
                wrong.append(f"{role}@{agency} {method} {url}: refused {response.text}")
            elif allowed and response.status_code >= 400:
                wrong.append(
                    f"{role}@{agency} {method} {url}: {response.status_code} "
                    f"{response.text}"
                )
            elif not allowed and response.status_code != 403:
                wrong.append(
                    f"{role}@{agency} {method} {url}: {response.status_code}, "
                    "expected 403"
                )
            elif not allowed:
                error = response.json()["error"]
                assert error["code"] == "forbidden" and error["message"]

    assert wrong == []


def test_every_endpoint_refuses_a_request_without_credentials(gateway, http):
    answers = {
        f"{method} {url}": http.request(method, f"{gateway}{url}", json=body)
        for method, url, body, _ in ENDPOINTS
    }

    not_refused = {
        name: response.status_code
        for name, response in answers.items()
        if response.status_code != 401
        or response.json()["error"]["code"] != "unauthenticated"
    }
    assert not_refused == {}


def test_agency_reading_another_agencys_case_gets_403_with_the_reason(
    gateway, http, make_key, caplog
):
    journalists = make_key("journalists", "focal_point")

    response = http.get(f"{gateway}{C}", headers=auth(journalists))

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert "not assigned" in error["message"]
    assert "case_id" in error["fields"]


def test_a_case_the_board_has_not_logged_yet_answers_503_with_retry_after(
    gateway, http, make_key
):
    police = make_key("police", "officer")

    behind = http.get(
        f"{gateway}/api/v1/cases/{peers.BEHIND_CASE_ID}", headers=auth(police)
    )
    unknown = http.get(f"{gateway}/api/v1/cases/HP-2026-999999", headers=auth(police))

    # Routing has assigned the case: the agency is told to come back, not
    # that the case does not exist.
    assert behind.status_code == 503
    assert behind.headers["Retry-After"] == "2"
    assert behind.json()["error"]["code"] == "board_behind"
    assert unknown.status_code == 404


def test_an_assignment_the_board_has_not_caught_up_with_is_honoured(
    gateway, http, make_key
):
    education = make_key("dept-education", "officer")
    journalists = make_key("journalists", "focal_point")
    case = f"{gateway}/api/v1/cases/{peers.REASSIGNED_CASE_ID}"

    # Routing added the education department after the board's last entry.
    assert http.get(case, headers=auth(education)).status_code == 200
    assert http.get(case, headers=auth(journalists)).status_code == 403


def test_agency_listing_cases_sees_only_its_own(gateway, http, make_key):
    police = make_key("police", "officer")

    response = http.get(
        f"{gateway}/api/v1/cases?agency=journalists", headers=auth(police)
    )
    own = http.get(f"{gateway}/api/v1/cases", headers=auth(police))

    assert response.status_code == 403
    assert own.status_code == 200
    method, _, filters = peers.calls[-1]
    assert method == "list_cases" and filters["agency"] == "police"
