"""Vietnamese texts of the notices, and agencies' own templates."""

import pytest
from adapter_factories import make_event

from phoihop.adapters.errors import AdapterConfigError
from phoihop.adapters.templates import (
    DEFAULT_TEMPLATE,
    FIELDS,
    TEMPLATES,
    check_templates,
    render,
    template_names,
)
from phoihop.agencies import shipped_registry

ASSIGNED = {
    "lead": "dic",
    "agencies": [
        {"agency": "dic", "role": "lead", "rule": "lead", "article": "7.1.a"},
        {
            "agency": "police",
            "role": "coordinating",
            "rule": "category",
            "article": "7.2.a",
        },
    ],
    "categories": ["fraud_scam"],
    "incident": True,
    "state": "assigned",
}


@pytest.mark.parametrize("event_type", sorted(TEMPLATES), ids=str)
def test_every_shipped_template_uses_known_names_only(event_type):
    subject, body = TEMPLATES[event_type]

    assert template_names(subject) | template_names(body) <= FIELDS


def test_default_template_uses_known_names_only():
    assert template_names(DEFAULT_TEMPLATE[0] + DEFAULT_TEMPLATE[1]) <= FIELDS


def test_assignment_notice_is_vietnamese_with_the_agencies_names():
    event = make_event("case.assigned", ASSIGNED)

    subject, body = render(event, "police", shipped_registry())

    assert subject == "[Phối hợp] Vụ việc case-1: đề nghị phối hợp xử lý"
    assert "Kính gửi: Công an thành phố" in body
    assert "Cơ quan chủ trì: Sở Thông tin và Truyền thông" in body
    assert "căn cứ Điều 7.2.a, theo loại nội dung" in body
    assert "trong 2 giờ (Điều 7.6.d): có" in body
    assert event.id in body


def test_deadline_is_shown_in_hai_phong_time():
    event = make_event(
        "consultation.opinion_requested",
        {
            "consultation_id": "r1",
            "agency": "police",
            "question": "Ý kiến?",
            "due_at": "2026-03-03T02:00:00+00:00",
        },
    )

    _, body = render(event, "police", shipped_registry())

    assert "Hạn trả lời: 09:00 03/03/2026" in body


def test_redacted_notice_says_that_content_was_removed():
    event = make_event("case.closed", {"state": "closed"}, classification="secret")
    event.redacted = True

    _, body = render(event, "journalists", shipped_registry())

    assert 'độ mật "tối mật" đã được lược bỏ' in body


def test_agency_template_replaces_the_shipped_one():
    own = check_templates(
        {"case.assigned": {"subject": "Vụ {case_id} giao cho {agency_name}"}}
    )
    event = make_event("case.assigned", ASSIGNED)

    subject, _ = render(event, "police", shipped_registry(), own)

    assert subject == "Vụ case-1 giao cho Công an thành phố"


def test_template_with_an_unknown_name_is_refused_when_loaded():
    with pytest.raises(AdapterConfigError) as refused:
        check_templates({"case.assigned": {"body": "Người đăng: {poster_name}"}})

    assert refused.value.fields == {
        "templates.case.assigned.body": "unknown: poster_name"
    }
