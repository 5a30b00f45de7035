"""Whole cases on the real broker and database: from ``case.assigned`` to
``case.closed`` through a written round and through a meeting."""

from datetime import timedelta

from phoihop.store import utcnow

from .conftest import (
    DIC,
    JOURNALISTS,
    POLICE,
    PROPAGANDA,
    in_seconds,
    wait_for,
)

EVIDENCE = [
    {
        "description": "Nền tảng xác nhận đã gỡ bài viết",
        "url": "https://example.org/takedown/123",
    }
]


def moving_events(tap, case_id):
    """(type, previous_state, state) of every case-moving event of a case,
    in publishing order."""
    return [
        (body["type"], body["payload"]["previous_state"], body["payload"]["state"])
        for key, body in tap.events
        if key == body["type"]
        and body["case_id"] == case_id
        and "state" in body["payload"]
        and "previous_state" in body["payload"]
    ]


def test_written_round_case_walks_from_assigned_to_closed(
    rpc_proxy, tap, assigned_case
):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()

    round_ = consultation.open_round(
        case_id,
        {
            "question": "Bài đăng có thông tin sai sự thật về bệnh viện không?",
            "invited": ["police", "journalists", "propaganda"],
            "due_at": in_seconds(4),
        },
        DIC,
    )
    round_id = round_["consultation_id"]
    assert round_["state"] == "open"
    assert consultation.get_case(case_id)["state"] == "verifying"

    consultation.submit_opinion(
        round_id,
        {
            "position": "agree",
            "reasoning": "Thông tin bịa đặt, gây hoang mang.",
            "legal_basis": ["PRESS2016-9.8", "CYBER2018-16.3"],
        },
        POLICE,
    )
    consultation.submit_opinion(
        round_id,
        {
            "position": "disagree",
            "reasoning": "Bài viết là ý kiến phản biện của một nhà báo.",
        },
        JOURNALISTS,
    )

    # The propaganda commission never answers: the round closes at its due
    # date, and its own opinion deadline goes overdue.
    assert wait_for(
        lambda: consultation.get_round(round_id)["state"] == "closed", timeout=15
    )
    closed = consultation.get_round(round_id)
    assert closed["close_reason"] == "due"
    assert closed["tally"] == {"agree": 1, "disagree": 1, "abstain": 0, "missing": 1}
    assert closed["missing"] == ["propaganda"]
    assert [item["agency"] for item in closed["dissent"]] == ["journalists"]
    assert closed["dissent"][0]["reasoning"].startswith("Bài viết là ý kiến")

    def overdue_recorded(tap):
        return any(
            body["payload"]["kind"] == "written_opinion"
            and body["payload"]["owner_agency"] == "propaganda"
            for body in tap.of_type("deadline.overdue", case_id)
        )

    assert tap.wait_for(overdue_recorded)
    assert wait_for(
        lambda: (
            [item["agency"] for item in consultation.get_round(round_id)["overdue"]]
            == ["propaganda"]
        )
    )
    reminded = [
        body["payload"]["owner_agency"]
        for body in tap.of_type("deadline.due_soon", case_id)
        if body["payload"]["kind"] == "written_opinion"
    ]
    assert reminded == ["propaganda"]

    appraisal = consultation.appraise(
        case_id,
        {
            "outcome": "violates",
            "legal_basis": ["PRESS2016-9.8", "CYBER2018-16.3"],
            "art_4_2_consideration": (
                "Nội dung bịa đặt về sự việc cụ thể, không phải ý kiến phản biện "
                "hay tác phẩm báo chí; xử lý không cản trở tự do báo chí, ngôn luận."
            ),
            "summary": "Thông tin sai sự thật, xúc phạm uy tín bệnh viện.",
        },
        DIC,
    )
    assert appraisal["basis"]["consultations"] == [round_id]

    decision = consultation.decide(
        case_id,
        {
            "measures": [
                {
                    "kind": "removal_request",
                    "agency": "dic",
                    "target": "platform",
                    "platform": "facebook",
                    "due_at": in_seconds(3600),
                },
                {
                    "kind": "sanction_proposal",
                    "agency": "police",
                    "sanction_code": "D15-101.1.a",
                    "due_at": in_seconds(7200),
                },
            ],
            "summary": "Yêu cầu gỡ bỏ và đề nghị xử phạt.",
        },
        DIC,
    )
    assert decision["legal_basis"] == ["PRESS2016-9.8", "CYBER2018-16.3"]
    removal, sanction = decision["measures"]
    assert consultation.get_case(case_id)["state"] == "handling"
    assert [m["measure_id"] for m in consultation.list_measures(agency="police")] == [
        sanction["measure_id"]
    ]

    consultation.report_result(
        case_id, removal["measure_id"], {"result": "done", "evidence": EVIDENCE}, DIC
    )
    assert consultation.get_case(case_id)["state"] == "handling"
    consultation.report_result(
        case_id,
        sanction["measure_id"],
        {
            "result": "partly_done",
            "evidence": [{"description": "Biên bản làm việc với người đăng"}],
            "note": "Người đăng ở tỉnh khác; đã chuyển hồ sơ.",
            "difficulties": "Chưa có cơ chế phối hợp xác minh người đăng ngoại tỉnh.",
        },
        POLICE,
    )
    resolved = consultation.get_case(case_id)
    assert resolved["state"] == "resolved"
    assert {item["result"] for item in resolved["results"]} == {"done", "partly_done"}

    closed_case = consultation.close_case(case_id, "Đã xử lý xong.", DIC)
    assert closed_case["state"] == "closed"

    assert tap.wait_for(lambda tap: tap.of_type("case.closed", case_id))
    assert moving_events(tap, case_id) == [
        ("case.triaged", "received", "triaged"),
        ("case.assigned", "triaged", "assigned"),
        ("consultation.opened", "assigned", "verifying"),
        ("case.appraised", "verifying", "appraised"),
        ("case.decided", "appraised", "decided"),
        ("measure.assigned", "decided", "handling"),
        ("measure.assigned", "handling", "handling"),
        ("case.resolved", "handling", "resolved"),
        ("case.closed", "resolved", "closed"),
    ]

    # Each invited agency got its own copy of the request; measures went to
    # their agencies; a classified case's events carry its classification.
    keys = tap.keys()
    for agency in ("police", "journalists", "propaganda"):
        assert f"agency.{agency}.consultation.opinion_requested" in keys
    assert "agency.police.measure.assigned" in keys
    assert "agency.dic.measure.assigned" in keys
    ours = [
        body
        for key, body in tap.events
        if body["case_id"] == case_id
        and body["type"].split(".")[0] != "deadline"
        and body["type"] not in ("case.triaged", "case.assigned")
    ]
    assert ours and {body["classification"] for body in ours} == {"internal"}
    [closed_event] = tap.of_type("consultation.closed", case_id)
    assert closed_event["payload"]["missing"] == ["propaganda"]
    assert closed_event["payload"]["dissent"][0]["agency"] == "journalists"
    [reported] = [
        body
        for body in tap.of_type("measure.reported", case_id)
        if body["payload"]["agency"] == "police"
    ]
    assert reported["payload"]["difficulties"].startswith("Chưa có cơ chế")


def test_meeting_case_walks_from_assigned_to_closed_and_reopens(
    rpc_proxy, tap, assigned_case
):
    consultation = rpc_proxy.consultation
    case_id = assigned_case(agencies=("police", "propaganda"))

    meeting = consultation.convene_meeting(
        case_id,
        {
            "agenda": ["Xác minh bài đăng", "Thống nhất phương án xử lý"],
            "starts_at": (utcnow() - timedelta(minutes=1)).isoformat(),
            "place": "Phòng họp tầng 3, Sở Thông tin và Truyền thông",
            "invited": ["police", "propaganda"],
            "officers": [{"agency": "police", "name": "Trần Văn An"}],
        },
        DIC,
    )
    meeting_id = meeting["meeting_id"]
    assert consultation.get_case(case_id)["state"] == "verifying"

    consultation.record_attendance(
        meeting_id,
        {
            "attendance": [
                {"agency": "dic", "officer": "Nguyễn Thị Thanh Tra", "role": "chủ trì"},
                {"agency": "police", "officer": "Trần Văn An"},
                {"agency": "propaganda", "officer": "Phạm Thu Hà", "present": False},
            ]
        },
        DIC,
    )
    consultation.record_minutes(
        meeting_id,
        {
            "minutes": "Các cơ quan thống nhất nội dung là thông tin sai sự thật.",
            "conclusions": ["Vi phạm khoản 8 Điều 9 Luật Báo chí 2016"],
        },
        DIC,
    )
    approved = consultation.approve_minutes(meeting_id, DIC)
    assert approved["state"] == "approved"

    consultation.appraise(
        case_id,
        {
            "outcome": "violates",
            "legal_basis": ["PRESS2016-9.8"],
            "art_4_2_consideration": "Không phải hoạt động báo chí hay phản biện.",
        },
        DIC,
    )
    decision = consultation.decide(
        case_id,
        {
            "measures": [
                {
                    "kind": "removal_request",
                    "agency": "dic",
                    "target": "ministry",
                    "due_at": in_seconds(3600),
                },
                {
                    "kind": "rebuttal",
                    "agency": "propaganda",
                    "due_at": in_seconds(3600),
                },
            ]
        },
        DIC,
    )
    removal, rebuttal = decision["measures"]
    consultation.report_result(
        case_id, removal["measure_id"], {"result": "done", "evidence": EVIDENCE}, DIC
    )
    consultation.report_result(
        case_id,
        rebuttal["measure_id"],
        {
            "result": "not_possible",
            "note": "Bài viết đã bị gỡ trước khi đăng tin phản bác.",
        },
        PROPAGANDA,
    )
    assert consultation.close_case(case_id, actor=DIC)["state"] == "closed"

    reopened = consultation.reopen_case(
        case_id, "Bài viết được đăng lại trên trang khác.", DIC
    )
    assert reopened["state"] == "verifying"
    assert reopened["cycle"] == 2
    # The new verification cycle starts without an appraisal or decision;
    # the earlier ones are kept.
    assert reopened["appraisal"] is None and reopened["decision"] is None
    assert len(reopened["appraisals"]) == 1 and len(reopened["decisions"]) == 1

    assert tap.wait_for(lambda tap: tap.of_type("case.reopened", case_id))
    assert moving_events(tap, case_id)[2:] == [
        ("meeting.convened", "assigned", "verifying"),
        ("case.appraised", "verifying", "appraised"),
        ("case.decided", "appraised", "decided"),
        ("measure.assigned", "decided", "handling"),
        ("measure.assigned", "handling", "handling"),
        ("case.resolved", "handling", "resolved"),
        ("case.closed", "resolved", "closed"),
        ("case.reopened", "closed", "verifying"),
    ]
    keys = tap.keys()
    assert "agency.police.meeting.convened" in keys
    assert "agency.propaganda.meeting.minutes_approved" in keys
    [approved_event] = tap.of_type("meeting.minutes_approved", case_id)
    assert approved_event["payload"]["conclusions"] == [
        "Vi phạm khoản 8 Điều 9 Luật Báo chí 2016"
    ]
