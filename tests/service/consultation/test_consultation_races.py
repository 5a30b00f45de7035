"""Concurrent calls and out-of-order events on one case: checks made inside a
transaction stay true when written, and the case view follows the newest
state whatever order events arrive in."""

from .conftest import DIC, decided_case, wait_for

AGENCIES = (
    "police",
    "journalists",
    "propaganda",
    "internal_affairs",
    "press-hp",
    "dept-health",
)


def test_answers_arriving_together_close_the_round_exactly_once(
    rpc_proxy, tap, assigned_case
):
    consultation = rpc_proxy.consultation
    case_id = assigned_case(agencies=AGENCIES)
    round_ = consultation.open_round(
        case_id, {"question": "Có vi phạm không?", "invited": list(AGENCIES)}, DIC
    )
    round_id = round_["consultation_id"]

    calls = [
        consultation.submit_opinion.call_async(
            round_id,
            {"position": "agree", "reasoning": f"Ý kiến của {agency}"},
            {"agency": agency, "officer": "cán bộ đầu mối"},
        )
        for agency in AGENCIES
    ]
    for call in calls:
        call.result()

    closed = consultation.get_round(round_id)
    assert closed["state"] == "closed"
    assert closed["tally"] == {"agree": 6, "disagree": 0, "abstain": 0, "missing": 0}
    assert tap.wait_for(lambda tap: len(tap.of_type("consultation.closed", case_id)))
    tap.drain(0.5)
    assert len(tap.of_type("consultation.closed", case_id)) == 1
    assert len(tap.of_type("consultation.opinion_submitted", case_id)) == 6


def test_last_two_results_arriving_together_resolve_the_case_once(
    rpc_proxy, tap, assigned_case
):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    removal, referral = decided_case(consultation, case_id)

    evidence = [{"description": "Đã thực hiện"}]
    calls = [
        consultation.report_result.call_async(
            case_id,
            removal["measure_id"],
            {"result": "done", "evidence": evidence},
            DIC,
        ),
        consultation.report_result.call_async(
            case_id,
            referral["measure_id"],
            {"result": "done", "evidence": evidence},
            {"agency": "police", "officer": "Trần Văn An"},
        ),
    ]
    for call in calls:
        call.result()

    assert consultation.get_case(case_id)["state"] == "resolved"
    assert tap.wait_for(lambda tap: tap.of_type("case.resolved", case_id))
    tap.drain(0.5)
    assert len(tap.of_type("case.resolved", case_id)) == 1


def test_reassignment_does_not_pull_a_case_back_from_verification(
    rpc_proxy, assigned_case
):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    consultation.open_round(
        case_id, {"question": "Có vi phạm không?", "invited": ["police"]}, DIC
    )

    # Routing, which does not follow consultation's moves, assigns the case
    # again: the agencies are taken, the state stays "verifying".
    rpc_proxy.case_source.assign(case_id, ["police"], posted_at=None)
    assert not wait_for(
        lambda: consultation.get_case(case_id)["state"] != "verifying", timeout=1.5
    )
    case = consultation.get_case(case_id)
    assert case["state"] == "verifying"
    # Fields the events carry are still taken; a missing posting date does
    # not erase the one triage confirmed before.
    assert case["posted_at"] == "2025-06-01T03:00:00+00:00"
