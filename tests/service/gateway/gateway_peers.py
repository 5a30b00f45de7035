"""Peer services answering the gateway's RPC calls in gateway tests.

They run as real nameko services on the test broker, under the names of the
services the gateway calls, and answer with records shaped as those
services document them. They let the gateway's own behaviour (access,
validation, errors, redaction) be tested without the whole product; the
end-to-end tests run the real services.
"""

import eventlet
from nameko.rpc import rpc

from phoihop.errors import EXPECTED_ERRORS, NotFound

# The case every gateway test acts on: DIC leads, the police and the health
# department coordinate; other agencies are not assigned to it.
CASE_ID = "HP-2026-000001"
SECRET_CASE_ID = "HP-2026-000002"
ASSIGNED = ("dic", "police", "dept-health")
ROUND_ID = "R-1"
MEETING_ID = "M-1"
STATEMENT_ID = "S-1"
ESCALATION_ID = "E-1"
MEASURE_ID = "MS-1"
REPORT_ID = "RP-1"
QUARANTINE_ID = "Q-1"
REPORT_FILE_ID = "PR-1"
# A case routing has assigned and the case board has not logged yet.
BEHIND_CASE_ID = "HP-2026-000003"
# A case the board shows with DIC alone, to which routing has since added
# the education department.
REASSIGNED_CASE_ID = "HP-2026-000004"

calls = []


def case_record(case_id):
    secret = case_id == SECRET_CASE_ID
    return {
        "case_id": case_id,
        "state": "assigned",
        "title": "Tin giả về dịch bệnh ở Hồng Bàng",
        "classification": "secret" if secret else "internal",
        "lead": "dic",
        "agencies": [
            {"agency": "dic", "role": "lead"},
            {"agency": "police", "role": "coordinating"},
            {"agency": "dept-health", "role": "coordinating"},
        ],
        "categories": ["false_information"],
        "content_items": [
            {"url": "https://example.org/p/1", "captured_text": "nội dung"}
        ],
        "timeline": [
            {
                "id": "e1",
                "type": "case.opened",
                "classification": "secret" if secret else "internal",
                "payload": {"title": "Tin giả", "state": "received"},
            },
            {
                "id": "e2",
                "type": "adapter.delivered",
                "classification": "internal",
                "actor": {"agency": "police"},
                "payload": {"event_id": "e1"},
            },
        ],
    }


def _record(method, args, kwargs):
    calls.append((method, args, kwargs))
    return {"ok": True, "method": method}


def _rpc_method(name, answer=None):
    def method(self, *args, **kwargs):
        if answer is not None:
            return answer(*args, **kwargs)
        return _record(name, args, kwargs)

    method.__name__ = name
    return rpc(expected_exceptions=EXPECTED_ERRORS)(method)


def _service(name, methods):
    attrs = {"name": name}
    for method, answer in methods.items():
        attrs[method] = _rpc_method(method, answer)
    return type(f"Peer{name.title()}", (), attrs)


def _get_case(case_id, include_classified=False):
    if case_id == REASSIGNED_CASE_ID:
        return {
            **case_record(case_id),
            "agencies": [{"agency": "dic", "role": "lead"}],
        }
    if case_id not in (CASE_ID, SECRET_CASE_ID):
        raise NotFound(f"case {case_id} does not exist", {"case_id": "unknown"})
    return case_record(case_id)


def _get_assignments(case_id):
    """Routing's answer: the agencies each case is assigned to now."""
    agencies = {
        CASE_ID: ASSIGNED,
        SECRET_CASE_ID: ASSIGNED,
        BEHIND_CASE_ID: ("dic", "police"),
        REASSIGNED_CASE_ID: ("dic", "dept-education"),
    }.get(case_id)
    if agencies is None:
        raise NotFound(
            f"case {case_id} has no assignment", {"case_id": "not assigned yet"}
        )
    return {
        "case_id": case_id,
        "lead": "dic",
        "agencies": [
            {"agency": code, "role": "lead" if code == "dic" else "coordinating"}
            for code in agencies
        ],
    }


def _list_cases(filters=None):
    filters = filters or {}
    calls.append(("list_cases", (), filters))
    items = [case_record(CASE_ID), case_record(SECRET_CASE_ID)]
    agency = filters.get("agency")
    if agency:
        items = [item for item in items if agency in ASSIGNED]
    return {"items": items, "total": len(items)}


def _known(kind, expected, extra):
    def answer(record_id, *args, **kwargs):
        if record_id != expected:
            raise NotFound(
                f"{kind} {record_id} does not exist", {f"{kind}_id": "unknown"}
            )
        return {f"{kind}_id": record_id, "case_id": CASE_ID, **extra}

    return answer


def _slow(*args, **kwargs):
    eventlet.sleep(30)


Reporting = _service(
    "reporting",
    {
        "get_case": _get_case,
        "list_cases": _list_cases,
        "board_summary": None,
        "agency_workload": None,
        "deadline_compliance": None,
        "generate_report": None,
        "list_reports": lambda kind=None, agency=None, limit=50: [
            {"report_id": REPORT_FILE_ID, "agency": agency}
        ],
        "get_report_file": lambda report_id, format="docx": {
            "report_id": report_id,
            "format": format,
            "name": f"bao-cao.{format}",
            "sha256": "0" * 64,
            "content_base64": "UEsDBA==",
        },
        "verify_log": None,
    },
)
Intake = _service(
    "intake",
    {
        "submit_report": lambda report, actor, idempotency_key=None: {
            "report_id": REPORT_ID,
            "case_id": CASE_ID,
        },
        "get_report": lambda report_id: {
            "report_id": report_id,
            "case_id": CASE_ID,
            "reporter": {"kind": "agency", "agency": "dic"},
            "classification": "internal",
        },
        "list_quarantine": lambda **kwargs: [],
        "get_quarantine": _known("quarantine", QUARANTINE_ID, {}),
        "resubmit_quarantined": None,
        "confirm_triage": None,
        "confirm_merge": None,
        "list_merge_proposals": lambda **kwargs: [],
        "dismiss_merge_proposal": None,
        "submit_input": None,
    },
)
Routing = _service(
    "routing",
    {
        "get_assignments": _get_assignments,
        "add_agency": None,
        "remove_agency": None,
        "transfer_lead": None,
        "escalate": None,
        "answer_escalation": None,
        "list_deadlines": lambda filters=None: [],
        "list_escalations": lambda filters=None: [],
    },
)
Consultation = _service(
    "consultation",
    {
        "open_round": None,
        "submit_opinion": None,
        "close_round": None,
        "get_round": _known("consultation", ROUND_ID, {"invited": ["police"]}),
        "convene_meeting": None,
        "record_attendance": None,
        "record_minutes": None,
        "approve_minutes": None,
        "appraise": None,
        "decide": None,
        "report_result": None,
        "close_case": None,
        "reopen_case": None,
        "get_case": lambda case_id, actor=None: {"case_id": case_id, "rounds": []},
        "get_meeting": _known("meeting", MEETING_ID, {"invited": ["police"]}),
        "list_measures": lambda **kwargs: [],
    },
)
Press = _service(
    "press",
    {
        "draft_statement": None,
        "update_draft": None,
        "approve_statement": None,
        "distribute_statement": None,
        "confirm_delivery": None,
        "draft_results_notice": None,
        "get_statement": _known(
            "statement",
            STATEMENT_ID,
            {"agency": "dept-health", "recipients": ["press-hp"]},
        ),
        "list_statements": lambda **kwargs: [],
        "initial_info_status": None,
    },
)
SlowReporting = _service("reporting", {"get_case": _slow, "list_cases": _slow})

PEERS = (Reporting, Intake, Routing, Consultation, Press)


def auth(key):
    """The header that carries an API key."""
    return {"Authorization": f"Bearer {key}"}
