"""What the consultation service refuses, and that each refusal says why,
naming the fields, over real RPC on the real broker and database."""

import pytest

from phoihop.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationError,
)

from .conftest import (
    ART_4_2,
    DIC,
    JOURNALISTS,
    POLICE,
    PROPAGANDA,
    answered_round,
    appraised_case,
    decided_case,
    in_seconds,
)

DONE = {"result": "done", "evidence": [{"description": "Đã gỡ bài viết"}]}


def test_opinion_from_an_agency_not_invited_is_refused(rpc_proxy, assigned_case):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    round_ = consultation.open_round(
        case_id, {"question": "Có vi phạm không?", "invited": ["police"]}, DIC
    )

    with pytest.raises(Forbidden) as refused:
        consultation.submit_opinion(
            round_["consultation_id"],
            {"position": "agree", "reasoning": "Vi phạm."},
            JOURNALISTS,
        )

    assert "journalists" in refused.value.message
    assert "police" in refused.value.message
    assert refused.value.fields == {"agency": "not invited to this round"}
    assert consultation.get_round(round_["consultation_id"])["opinions"] == {}


def test_agency_cannot_answer_in_the_name_of_another(rpc_proxy, assigned_case):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    round_ = consultation.open_round(
        case_id,
        {"question": "Có vi phạm không?", "invited": ["police", "journalists"]},
        DIC,
    )

    with pytest.raises(Forbidden) as refused:
        consultation.submit_opinion(
            round_["consultation_id"],
            {"position": "agree", "reasoning": "Vi phạm.", "agency": "police"},
            JOURNALISTS,
        )

    assert "agency" in refused.value.fields


def test_second_opinion_after_the_round_closed_is_refused(rpc_proxy, assigned_case):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    round_id = answered_round(consultation, case_id, invited=("police",))
    assert consultation.get_round(round_id)["close_reason"] == "all_answered"

    with pytest.raises(Conflict) as refused:
        consultation.submit_opinion(
            round_id,
            {"position": "disagree", "reasoning": "Tôi đổi ý."},
            POLICE,
        )

    assert round_id in refused.value.message
    assert refused.value.fields == {"consultation_id": "round closed"}
    assert consultation.get_round(round_id)["opinions"]["police"]["position"] == (
        "agree"
    )


def test_opinion_may_be_revised_until_the_round_closes(rpc_proxy, assigned_case):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    round_ = consultation.open_round(
        case_id,
        {"question": "Có vi phạm không?", "invited": ["police", "journalists"]},
        DIC,
    )
    round_id = round_["consultation_id"]
    consultation.submit_opinion(
        round_id, {"position": "agree", "reasoning": "Vi phạm."}, POLICE
    )
    revised = consultation.submit_opinion(
        round_id,
        {"position": "abstain", "reasoning": "Cần thêm chứng cứ."},
        POLICE,
    )

    # While the round is open an agency sees only its own answer.
    assert list(revised["opinions"]) == ["police"]
    assert revised["opinions"]["police"]["revision"] == 2
    closed = consultation.close_round(round_id, DIC)
    assert closed["close_reason"] == "closed_by_lead"
    assert closed["tally"] == {"agree": 0, "disagree": 0, "abstain": 1, "missing": 1}
    assert closed["outcome"] == "no_answers"


def test_only_the_lead_opens_rounds_and_decides(rpc_proxy, assigned_case):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()

    with pytest.raises(Forbidden) as refused:
        consultation.open_round(
            case_id, {"question": "Có vi phạm không?", "invited": ["police"]}, POLICE
        )
    assert refused.value.fields == {"actor.agency": "police does not lead this case"}

    with pytest.raises(Forbidden):
        consultation.convene_meeting(
            case_id,
            {
                "agenda": ["Xác minh"],
                "starts_at": in_seconds(60),
                "link": "https://meet.example.org/abc",
                "invited": ["police"],
            },
            JOURNALISTS,
        )


def test_decision_without_a_confirmed_legal_basis_is_refused(rpc_proxy, assigned_case):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    answered_round(consultation, case_id)
    consultation.appraise(
        case_id,
        {"outcome": "insufficient_evidence", "art_4_2_consideration": ART_4_2},
        DIC,
    )

    with pytest.raises(ValidationError) as refused:
        consultation.decide(
            case_id,
            {"measures": [{"kind": "police_referral", "agency": "police"}]},
            DIC,
        )

    assert "legal_basis" in refused.value.fields
    assert consultation.get_case(case_id)["state"] == "appraised"


def test_decision_citing_codes_the_appraisal_did_not_confirm_is_refused(
    rpc_proxy, assigned_case
):
    consultation = rpc_proxy.consultation
    case_id = appraised_case(rpc_proxy.consultation, assigned_case())

    with pytest.raises(ValidationError) as refused:
        consultation.decide(
            case_id,
            {
                "legal_basis": ["PRESS2016-9.8", "CYBER2018-16.5"],
                "measures": [{"kind": "police_referral", "agency": "police"}],
            },
            DIC,
        )

    assert refused.value.fields == {
        "legal_basis[1]": "CYBER2018-16.5 was not confirmed by the appraisal"
    }


def test_legal_basis_not_in_force_on_the_posting_date_is_refused(
    rpc_proxy, assigned_case
):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    answered_round(consultation, case_id)

    # Decree 72/2013 ceased to be in force on 2024-12-24; the content was
    # posted on 2025-06-01.
    with pytest.raises(ValidationError) as refused:
        consultation.appraise(
            case_id,
            {
                "outcome": "violates",
                "legal_basis": ["PRESS2016-9.8", "D72-5.1.d"],
                "art_4_2_consideration": ART_4_2,
            },
            DIC,
        )

    assert list(refused.value.fields) == ["legal_basis[1]"]
    assert "D72-5.1.d" in refused.value.fields["legal_basis[1]"]
    assert "01/06/2025" in refused.value.message
    assert consultation.get_case(case_id)["state"] == "verifying"


def test_appraisal_without_a_posting_date_is_refused(rpc_proxy, assigned_case):
    consultation = rpc_proxy.consultation
    case_id = assigned_case(posted_at=None)
    answered_round(consultation, case_id)
    request = {
        "outcome": "violates",
        "legal_basis": ["PRESS2016-9.8"],
        "art_4_2_consideration": ART_4_2,
    }

    with pytest.raises(ValidationError) as refused:
        consultation.appraise(case_id, request, DIC)
    assert "posted_at" in refused.value.fields

    appraisal = consultation.appraise(
        case_id, {**request, "posted_at": "2025-03-02T08:00:00+07:00"}, DIC
    )
    assert appraisal["posted_at"] == "2025-03-02T01:00:00+00:00"


def test_appraisal_without_the_art_4_2_consideration_is_refused(
    rpc_proxy, assigned_case
):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    answered_round(consultation, case_id)

    with pytest.raises(ValidationError) as refused:
        consultation.appraise(
            case_id, {"outcome": "violates", "legal_basis": ["PRESS2016-9.8"]}, DIC
        )

    assert refused.value.fields == {
        "art_4_2_consideration": "Missing data for required field."
    }


def test_appraisal_needs_a_closed_round_or_approved_minutes(rpc_proxy, assigned_case):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    round_ = consultation.open_round(
        case_id, {"question": "Có vi phạm không?", "invited": ["police"]}, DIC
    )
    request = {
        "outcome": "violates",
        "legal_basis": ["PRESS2016-9.8"],
        "art_4_2_consideration": ART_4_2,
    }

    with pytest.raises(Conflict) as still_open:
        consultation.appraise(case_id, request, DIC)
    assert round_["consultation_id"] in still_open.value.message

    meeting = consultation.convene_meeting(
        case_id,
        {
            "agenda": ["Xác minh"],
            "starts_at": in_seconds(-60),
            "link": "https://meet.example.org/abc",
            "invited": ["police"],
        },
        DIC,
    )
    consultation.close_round(round_["consultation_id"], DIC)
    consultation.record_minutes(
        meeting["meeting_id"],
        {"minutes": "Biên bản", "conclusions": ["Chưa thống nhất"]},
        DIC,
    )
    appraisal = consultation.appraise(case_id, request, DIC)
    # The minutes are not approved, so the meeting does not count.
    assert appraisal["basis"] == {
        "consultations": [round_["consultation_id"]],
        "meetings": [],
    }


def test_does_not_violate_appraisal_rejects_the_case_with_its_reason(
    rpc_proxy, tap, assigned_case
):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    answered_round(consultation, case_id)

    consultation.appraise(
        case_id,
        {
            "outcome": "does_not_violate",
            "art_4_2_consideration": "Bài viết là ý kiến phản biện chính sách.",
            "reason": "Phản biện chính đáng, được bảo vệ theo Điều 4.2.",
        },
        DIC,
    )

    assert consultation.get_case(case_id)["state"] == "rejected"
    assert tap.wait_for(lambda tap: tap.of_type("case.rejected", case_id))
    [rejected] = tap.of_type("case.rejected", case_id)
    assert rejected["payload"]["reason"].startswith("Phản biện chính đáng")
    assert rejected["payload"]["previous_state"] == "appraised"


def test_closing_with_a_measure_unreported_is_refused_naming_it(
    rpc_proxy, assigned_case
):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    removal, referral = decided_case(consultation, case_id)
    consultation.report_result(case_id, removal["measure_id"], DONE, DIC)

    with pytest.raises(Conflict) as refused:
        consultation.close_case(case_id, actor=DIC)

    assert referral["measure_id"] in refused.value.message
    assert refused.value.fields == {
        f"measures.{referral['measure_id']}": "no result from police"
    }
    assert consultation.get_case(case_id)["state"] == "handling"


def test_agency_reports_only_the_result_of_its_own_measure(rpc_proxy, assigned_case):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    removal, referral = decided_case(consultation, case_id)

    with pytest.raises(Forbidden) as refused:
        consultation.report_result(case_id, removal["measure_id"], DONE, POLICE)

    assert "dic" in refused.value.message
    assert [
        m["measure_id"]
        for m in consultation.list_measures(agency="police", state="assigned")
    ] == [referral["measure_id"]]
    with pytest.raises(Forbidden):
        consultation.list_measures(agency="dic", actor=POLICE)
    assert len(consultation.list_measures(case_id)) == 2

    other_case = assigned_case()
    with pytest.raises(NotFound) as elsewhere:
        consultation.report_result(other_case, referral["measure_id"], DONE, POLICE)
    assert "measure_id" in elsewhere.value.fields


def test_sanction_proposal_must_cite_a_decree_15_sanction_provision(
    rpc_proxy, assigned_case
):
    consultation = rpc_proxy.consultation
    case_id = appraised_case(rpc_proxy.consultation, assigned_case())

    with pytest.raises(ValidationError) as missing:
        consultation.decide(
            case_id,
            {"measures": [{"kind": "sanction_proposal", "agency": "dic"}]},
            DIC,
        )
    assert "measures[0].sanction_code" in missing.value.fields

    with pytest.raises(ValidationError) as not_sanction:
        consultation.decide(
            case_id,
            {
                "measures": [
                    {
                        "kind": "sanction_proposal",
                        "agency": "dic",
                        "sanction_code": "PRESS2016-9.8",
                    },
                    {
                        "kind": "removal_request",
                        "agency": "nowhere",
                        "target": "platform",
                    },
                ]
            },
            DIC,
        )
    assert set(not_sanction.value.fields) == {
        "measures[0].sanction_code",
        "measures[1].agency",
    }


def test_illegal_move_names_the_current_state_and_the_allowed_ones(
    rpc_proxy, assigned_case
):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()

    with pytest.raises(IllegalTransition) as refused:
        consultation.decide(
            case_id,
            {"measures": [{"kind": "police_referral", "agency": "police"}]},
            DIC,
        )

    assert "'assigned'" in refused.value.fields["state"]
    assert "verifying" in refused.value.fields["state"]


def test_minutes_cannot_change_once_approved(rpc_proxy, assigned_case):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    meeting = consultation.convene_meeting(
        case_id,
        {
            "agenda": ["Xác minh"],
            "starts_at": in_seconds(-60),
            "place": "Phòng họp số 2",
            "invited": ["police", "propaganda"],
        },
        DIC,
    )
    meeting_id = meeting["meeting_id"]

    with pytest.raises(Conflict) as no_minutes:
        consultation.approve_minutes(meeting_id, DIC)
    assert no_minutes.value.fields == {"minutes": "record the minutes first"}

    with pytest.raises(ValidationError) as stranger:
        consultation.record_attendance(
            meeting_id,
            {"attendance": [{"agency": "journalists", "officer": "Lê Minh Báo"}]},
            DIC,
        )
    assert stranger.value.fields == {
        "attendance[0].agency": "not invited to this meeting"
    }

    consultation.record_attendance(
        meeting_id,
        {"attendance": [{"agency": "police", "officer": POLICE["officer"]}]},
        DIC,
    )
    consultation.record_minutes(
        meeting_id, {"minutes": "Biên bản", "conclusions": ["Vi phạm"]}, DIC
    )
    consultation.approve_minutes(meeting_id, DIC)

    with pytest.raises(Conflict):
        consultation.record_minutes(
            meeting_id, {"minutes": "Sửa", "conclusions": ["Khác"]}, DIC
        )
    assert consultation.get_meeting(meeting_id, PROPAGANDA)["conclusions"] == [
        "Vi phạm"
    ]


def test_bad_requests_name_every_field(rpc_proxy, assigned_case):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()

    with pytest.raises(ValidationError) as refused:
        consultation.open_round(
            case_id,
            {"invited": ["police", "police"], "due_at": "tomorrow", "extra": 1},
            DIC,
        )
    assert set(refused.value.fields) >= {"question", "due_at", "extra"}

    with pytest.raises(ValidationError) as past:
        consultation.open_round(
            case_id,
            {"question": "?", "invited": ["police"], "due_at": in_seconds(-5)},
            DIC,
        )
    assert past.value.fields == {"due_at": "must be in the future"}

    with pytest.raises(ValidationError) as no_actor:
        consultation.open_round(case_id, {"question": "?", "invited": ["police"]}, {})
    assert "actor.agency" in no_actor.value.fields


def test_uninvolved_agency_cannot_read_the_case(rpc_proxy, assigned_case):
    consultation = rpc_proxy.consultation
    case_id = assigned_case(agencies=("police",))

    with pytest.raises(Forbidden):
        consultation.get_case(case_id, {"agency": "dept-health", "officer": "x"})

    assert consultation.get_case(case_id, POLICE)["case_id"] == case_id
