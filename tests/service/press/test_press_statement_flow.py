"""Statements on the real broker and database: only the spokesperson
approves, nothing classified is approved, results notices reach every press
agency's adapter and their delivery is tracked (Art. 7.6.d, 4, 6.6)."""

import pytest
from press_support import call, officer, spokesperson, wait_until

from phoihop.errors import Conflict, Forbidden, NotFound, ValidationError
from services.press.service import PressService

QUOTED = (
    "nhân viên y tế tiết lộ danh sách bệnh nhân nhiễm bệnh gồm tên tuổi "
    "địa chỉ của hai mươi người ở phường Máy Chai"
)


@pytest.fixture
def press(container_factory, press_config):
    container = container_factory(PressService, press_config())
    container.start()
    return container


def known(container, case_id, assigned=True):
    """Wait until the service has the case (and its assignment)."""

    def ready():
        try:
            status = call(container, "initial_info_status", case_id)
        except NotFound:
            return None
        return status if not assigned or status.get("assigned_at") else None

    assert wait_until(ready), f"case {case_id} never reached the press service"


def open_case(container, case, text, agencies=("dic", "dept-health", "police")):
    """The case is opened, then assigned, as intake and routing do; the
    test waits for each so that drafts see the facts."""
    case.opened(text=text, incident=False)
    known(container, case.case_id, assigned=False)
    case.assigned(incident=False, agencies=agencies)
    known(container, case.case_id)


def official_draft(container, case_id, agency="dept-health", **content):
    return call(
        container,
        "draft_statement",
        case_id,
        "official",
        officer(agency),
        {
            "leadership_position": "Thông tin lan truyền là sai sự thật.",
            "first_measures": ["Xác minh nguồn tin", "Đề nghị gỡ bài viết"],
            **content,
        },
    )


def test_only_the_agency_spokesperson_approves(press, case_events):
    case = case_events()
    open_case(press, case, QUOTED)
    draft = official_draft(press, case.case_id)

    with pytest.raises(Forbidden) as not_spokesperson:
        call(press, "approve_statement", draft["statement_id"], officer("dept-health"))
    with pytest.raises(Forbidden) as other_agency:
        call(press, "approve_statement", draft["statement_id"], spokesperson("dic"))
    approved = call(
        press, "approve_statement", draft["statement_id"], spokesperson("dept-health")
    )

    assert "actor.officer" in not_spokesperson.value.fields
    assert "actor.agency" in other_agency.value.fields
    assert approved["status"] == "approved"
    assert "Người phát ngôn: Nguyễn Văn An" in approved["footer"]


def test_statement_of_a_secret_case_is_refused_at_approval(press, case_events, listen):
    watch = listen("press.statement_approved")
    case = case_events(classification="secret")
    open_case(press, case, "Kế hoạch bố trí lực lượng bảo vệ mục tiêu quan trọng")
    draft = official_draft(
        press, case.case_id, facts="Cơ quan chức năng đang xác minh thông tin."
    )

    with pytest.raises(Forbidden) as refused:
        call(
            press,
            "approve_statement",
            draft["statement_id"],
            spokesperson("dept-health"),
        )

    assert "classification" in refused.value.fields
    assert "secret" in refused.value.fields["classification"]
    statement = call(press, "get_statement", draft["statement_id"])
    assert statement["status"] == "draft"
    assert list(statement["refusals"][0]["reasons"]) == ["classification"]
    # A classified case's title is not kept by the press service at all.
    assert "Tin đồn" not in statement["title"]
    wait_until(lambda: False, timeout=0.5)
    assert watch.keys() == []


def test_draft_quoting_protected_content_is_refused_until_rephrased(press, case_events):
    case = case_events(classification="internal")
    open_case(press, case, f"Bài đăng: {QUOTED}. Hãy chia sẻ!")
    body_facts = f"Có bài viết cho rằng {QUOTED}."
    draft = official_draft(press, case.case_id, facts=body_facts)
    assert draft["checks"]["disclosures"], "the draft review warns before approval"

    with pytest.raises(Forbidden) as refused:
        call(
            press,
            "approve_statement",
            draft["statement_id"],
            spokesperson("dept-health"),
        )

    [field] = refused.value.fields
    assert field.startswith("body[")
    start, end = (int(n) for n in field[5:-1].split(":"))
    assert draft["body"][start:end] in QUOTED
    assert QUOTED not in str(refused.value)

    rephrased = call(
        press,
        "update_draft",
        draft["statement_id"],
        {"facts": "Có bài viết đăng tải thông tin cá nhân của người bệnh."},
        officer("dept-health"),
    )
    assert rephrased["checks"]["disclosures"] == []
    approved = call(
        press,
        "approve_statement",
        rephrased["statement_id"],
        spokesperson("dept-health"),
        revision=rephrased["revision"],
    )
    assert approved["status"] == "approved"


def test_draft_with_template_blanks_is_not_approved(press, case_events):
    case = case_events()
    open_case(press, case, "Tin đồn thất thiệt về dịch bệnh")
    draft = call(
        press, "draft_statement", case.case_id, "official", officer("dept-health")
    )

    with pytest.raises(ValidationError) as refused:
        call(
            press,
            "approve_statement",
            draft["statement_id"],
            spokesperson("dept-health"),
        )

    assert set(refused.value.fields) == {
        "body.leadership_position",
        "body.first_measures",
    }


def test_agency_not_assigned_to_the_case_cannot_draft(press, case_events):
    case = case_events()
    open_case(press, case, "Tin đồn thất thiệt về dịch bệnh", ("dic", "police"))

    with pytest.raises(Forbidden):
        official_draft(press, case.case_id)


def test_results_notice_reaches_every_press_agency_and_delivery_is_tracked(
    press, case_events, listen
):
    adapters = listen("agency.press-hp.#", "agency.press-thp.#", "agency.portal.#")
    issuer = listen("agency.dic.press.delivery_confirmed")
    case = case_events()
    open_case(press, case, "Tin đồn thất thiệt về dịch bệnh")
    case.decided(legal_basis=("PRESS2016-9.8",))
    case.reported("m-1", "removal_request", "dic")
    case.reported("m-2", "sanction_proposal", "police", result="done")

    with pytest.raises(Conflict):
        call(press, "draft_results_notice", case.case_id, officer("dic"))
    case.resolved()
    notice = wait_until(lambda: _draft_results(press, case.case_id))

    assert notice["agency"] == "dic"
    assert notice["legal_basis"] == ["PRESS2016-9.8", "D15-101.1.a"]
    body = notice["body"]
    assert "khoản 8 Điều 9 Luật Báo chí 2016 (103/2016/QH13)" in body
    assert "Yêu cầu nhà cung cấp dịch vụ gỡ bỏ thông tin vi phạm" in body
    assert "đã thực hiện xong" in body
    assert "từ 10.000.000 đến 20.000.000 đồng" in body
    assert "nguồn chính thống" in body

    revised = call(
        press,
        "update_draft",
        notice["statement_id"],
        {"facts": "Bài viết bịa đặt về dịch bệnh đã được xác minh là sai."},
        officer("dic"),
    )
    assert revised["body"].count("đã được xác minh là sai") == 1
    assert "khoản 8 Điều 9 Luật Báo chí 2016" in revised["body"]

    with pytest.raises(Forbidden):
        call(press, "approve_statement", notice["statement_id"], officer("dic"))
    call(press, "approve_statement", notice["statement_id"], spokesperson("dic"))
    sent = call(press, "distribute_statement", notice["statement_id"], officer("dic"))

    for code in ("press-hp", "press-thp", "portal"):
        [copy] = adapters.wait_for(f"agency.{code}.press.statement_distributed")
        assert copy["payload"]["kind"] == "results"
        assert copy["payload"]["legal_basis"] == ["PRESS2016-9.8", "D15-101.1.a"]
        assert copy["classification"] == "public"
        [published] = adapters.wait_for(f"agency.{code}.press.results_published")
        assert published["payload"]["statement_id"] == notice["statement_id"]
    assert [d["confirmed"] for d in sent["deliveries"]] == [False, False, False]

    with pytest.raises(Forbidden):
        call(
            press,
            "confirm_delivery",
            notice["statement_id"],
            "press-hp",
            officer("press-thp"),
        )
    confirmed = call(
        press,
        "confirm_delivery",
        notice["statement_id"],
        "press-hp",
        officer("press-hp", "Biên tập viên trực"),
    )
    again = call(
        press, "confirm_delivery", notice["statement_id"], "press-hp", officer("dic")
    )

    by_agency = {d["press_agency"]: d for d in confirmed["deliveries"]}
    assert by_agency["press-hp"]["confirmed"] is True
    assert by_agency["press-hp"]["confirmed_by"]["officer"] == "Biên tập viên trực"
    assert by_agency["portal"]["confirmed"] is False
    assert again["deliveries"] == confirmed["deliveries"]
    listed = call(press, "list_statements", press_agency="press-hp")
    assert [item["confirmed"] for item in listed] == [["press-hp"]]
    [receipt] = issuer.wait_for("agency.dic.press.delivery_confirmed")
    assert receipt["payload"]["press_agency"] == "press-hp"
    wait_until(lambda: False, timeout=0.5)
    assert issuer.keys() == ["agency.dic.press.delivery_confirmed"]


def test_distributed_statement_cannot_change(press, case_events):
    case = case_events()
    open_case(press, case, "Tin đồn thất thiệt về dịch bệnh")
    draft = official_draft(press, case.case_id)
    call(press, "approve_statement", draft["statement_id"], spokesperson("dept-health"))
    call(press, "distribute_statement", draft["statement_id"], officer("dept-health"))

    with pytest.raises(Conflict):
        call(
            press,
            "update_draft",
            draft["statement_id"],
            {"title": "Tiêu đề khác"},
            officer("dept-health"),
        )
    with pytest.raises(Conflict):
        call(
            press, "distribute_statement", draft["statement_id"], officer("dept-health")
        )


def test_bad_requests_name_the_field(press, case_events):
    case = case_events()
    case.opened(text="Tin đồn thất thiệt về dịch bệnh", incident=False)
    known(press, case.case_id, assigned=False)

    with pytest.raises(ValidationError) as no_officer:
        call(press, "draft_statement", case.case_id, "official", {"agency": "dic"})
    with pytest.raises(ValidationError) as bad_kind:
        call(press, "draft_statement", case.case_id, "rumour", officer("dic"))
    with pytest.raises(ValidationError) as bad_measures:
        call(
            press,
            "draft_statement",
            case.case_id,
            "official",
            officer("dic"),
            {"first_measures": "một chuỗi"},
        )
    with pytest.raises(ValidationError) as bad_period:
        call(press, "compliance", "quý trước")

    assert "actor.officer" in no_officer.value.fields
    assert "kind" in bad_kind.value.fields
    assert "content.first_measures" in bad_measures.value.fields
    assert "period" in bad_period.value.fields


def _draft_results(container, case_id):
    try:
        return call(container, "draft_results_notice", case_id, officer("dic"))
    except Conflict as exc:
        if {"state", "decision", "results"} & set(exc.fields):
            return None
        raise
