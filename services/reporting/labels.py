"""Vietnamese names of the codes a report shows: channels, categories,
states, outcomes, measures, results, deadlines and agencies.

Codes come from the producers' contracts and from data DIC edits (the
agency registry, the legal-basis catalogue); a code without a name here is
shown as it is, so a new code never breaks a report.
"""

from functools import lru_cache

from phoihop import cases
from phoihop.errors import NotFound

CHANNELS = {
    "phone": "Điện thoại",
    "sms": "Tin nhắn SMS",
    "email": "Thư điện tử",
    "edxml": "Văn bản điện tử (edXML)",
    "post": "Văn bản giấy qua bưu chính",
    "api": "Cổng tiếp nhận trực tuyến",
    "csv": "Tệp dữ liệu (CSV)",
    "xlsx": "Tệp dữ liệu (Excel)",
    "misp": "Nền tảng chia sẻ MISP",
    "stix": "Dữ liệu STIX",
    "adapter": "Hệ thống của cơ quan",
}

OUTCOMES = {
    "violates": "Có vi phạm",
    "does_not_violate": "Không vi phạm (Điều 4.2)",
    "insufficient_evidence": "Chưa đủ căn cứ",
}

MEASURES = {
    "removal_request": "Yêu cầu gỡ bỏ nội dung",
    "sanction_proposal": "Đề xuất xử phạt vi phạm hành chính",
    "police_referral": "Chuyển cơ quan Công an",
    "official_information": "Cung cấp thông tin chính thống",
    "rebuttal": "Phản bác, định hướng thông tin",
    "no_action": "Không áp dụng biện pháp",
}

RESULTS = {
    "done": "Hoàn thành",
    "partly_done": "Hoàn thành một phần",
    "not_possible": "Không thực hiện được",
}

ESCALATION_TARGETS = {
    "city": "Ủy ban nhân dân thành phố",
    "ministry": "Bộ Thông tin và Truyền thông",
}

ESCALATION_OUTCOMES = {
    "directed": "Đã chỉ đạo xử lý",
    "returned": "Giao Sở xử lý theo thẩm quyền",
    "removal_requested": "Đã yêu cầu gỡ bỏ",
    "removal_refused": "Không chấp thuận gỡ bỏ",
}

# The deadline kinds the services start (routing, consultation, press).
DEADLINE_KINDS = {
    "verification": "Kiểm tra, xác minh (Điều 7.1.c)",
    "resolution": "Xử lý dứt điểm vụ việc",
    "escalation_answer": "Trả lời báo cáo vượt thẩm quyền",
    "written_round": "Lấy ý kiến bằng văn bản (Điều 5.2.b)",
    "written_opinion": "Gửi ý kiến bằng văn bản",
    "measure": "Thực hiện biện pháp",
    "initial_info": "Cung cấp thông tin ban đầu (2 giờ, Điều 7.6.d)",
}

STATEMENT_KINDS = {
    "initial_info": "Thông tin ban đầu",
    "official": "Thông tin chính thống",
    "results": "Kết quả xử lý",
}

CLASSIFICATIONS = {
    "public": "Công khai",
    "internal": "Nội bộ",
    "confidential": "Mật",
    "secret": "Tối mật",
}


def channel(code):
    return CHANNELS.get(code, code or "Không rõ")


def state(code):
    if code in cases.LABELS:
        return cases.label(code)
    return code or "Không rõ"


def outcome(code):
    return OUTCOMES.get(code, code or "Không rõ")


def measure(code):
    return MEASURES.get(code, code or "Không rõ")


def result(code):
    return RESULTS.get(code, code or "Không rõ")


def deadline_kind(code):
    return DEADLINE_KINDS.get(code, code or "Không rõ")


def escalation_target(code):
    return ESCALATION_TARGETS.get(code, code or "Không rõ")


def escalation_outcome(code):
    return ESCALATION_OUTCOMES.get(code, code or "Chưa có kết quả")


@lru_cache(maxsize=1)
def _catalogue():
    from phoihop.legal import default_catalogue

    try:
        return default_catalogue()
    except Exception:  # noqa: BLE001 - a report still shows codes without it
        return None


def known_category(code):
    catalogue = _catalogue()
    return catalogue is None or code in catalogue.categories


def known_agency(code):
    registry = _registry()
    return registry is None or code in registry


def category(code):
    catalogue = _catalogue()
    if catalogue is None or not code:
        return code or "Chưa phân loại"
    return catalogue.category_label(code, "vi")


@lru_cache(maxsize=1)
def _registry():
    from phoihop.agencies import shipped_registry

    try:
        return shipped_registry()
    except Exception:  # noqa: BLE001 - a report still shows codes without it
        return None


def agency(code):
    """The Vietnamese name of an agency, or its code when unknown."""
    registry = _registry()
    if registry is None or not code:
        return code or "Không rõ"
    try:
        return registry.get(code).name_vi
    except (NotFound, KeyError, LookupError):
        return code


def agency_kind(code):
    """The registry kind of an agency (department, police...), or None."""
    registry = _registry()
    if registry is None or not code:
        return None
    try:
        return registry.get(code).kind
    except (NotFound, KeyError, LookupError):
        return None


def lead_agency_code():
    registry = _registry()
    lead = getattr(registry, "lead", None) if registry is not None else None
    return getattr(lead, "code", None) or "dic"
