"""Vietnamese subject and body of what an adapter sends, per event type.

Email, edXML documents and file drops read these texts; an agency may
replace any of them in its adapter's configuration (``templates``). A
template is ``str.format`` text whose names come from ``FIELDS``; a name
that is not there is refused when the configuration is loaded, not when the
first event arrives. Times are shown in Hai Phong time; a value that was
redacted (the agency is not cleared) is shown as empty and the body says so.
"""

import string

from phoihop.adapters.errors import AdapterConfigError
from phoihop.i18n import local_time

SIGNATURE = (
    "\n\n--\nThông báo tự động của hệ thống phối hợp xử lý thông tin xấu, độc "
    "trên không gian mạng (Quyết định 664/QĐ-UBND ngày 01/03/2022 của UBND thành "
    "phố Hải Phòng). Mã sự kiện: {event_id}."
)

_CASE_LINE = "Vụ việc: {case_id}\n"

TEMPLATES = {
    "case.assigned": (
        "[Phối hợp] Vụ việc {case_id}: đề nghị {role_vi}",
        "Kính gửi: {agency_name}\n\n"
        "Vụ việc {case_id} đã được phân công theo Điều 7 Quy chế.\n"
        "Cơ quan chủ trì: {lead_name}\n"
        "Vai trò của quý cơ quan: {role_vi} (căn cứ Điều {article}, {rule_vi})\n"
        "Loại nội dung: {categories}\n"
        "Lĩnh vực: {sector}; địa bàn: {locality}\n"
        "Sự cố cần thông tin ban đầu trong 2 giờ (Điều 7.6.d): {incident_vi}\n"
        "{redaction_note}",
    ),
    "case.assignment_changed": (
        "[Phối hợp] Vụ việc {case_id}: thay đổi cơ quan phối hợp",
        "Kính gửi: {agency_name}\n\n"
        "Danh sách cơ quan phối hợp của vụ việc {case_id} đã thay đổi: "
        "{change_vi} {changed_agency_name}.\n"
        "Lý do: {reason}\n{redaction_note}",
    ),
    "case.lead_transferred": (
        "[Phối hợp] Vụ việc {case_id}: chuyển cơ quan chủ trì",
        "Kính gửi: {agency_name}\n\n"
        "Vụ việc {case_id} được chuyển chủ trì từ {from_agency_name} sang "
        "{to_agency_name}.\nLý do: {reason}\n{redaction_note}",
    ),
    "consultation.opinion_requested": (
        "[Phối hợp] Đề nghị cho ý kiến bằng văn bản – vụ việc {case_id}",
        "Kính gửi: {agency_name}\n\n"
        "Thực hiện Điều 5.2.b Quy chế, Sở Thông tin và Truyền thông đề nghị quý "
        "cơ quan cho ý kiến bằng văn bản về vụ việc {case_id}.\n"
        "Nội dung xin ý kiến: {question}\n"
        "Hạn trả lời: {due_at}\n"
        "Mã đợt lấy ý kiến: {consultation_id}\n{redaction_note}",
    ),
    "meeting.convened": (
        "[Phối hợp] Giấy mời họp kiểm tra, xác minh – vụ việc {case_id}",
        "Kính gửi: {agency_name}\n\n"
        "Thực hiện Điều 5.2.a Quy chế, kính mời quý cơ quan cử cán bộ đầu mối "
        "dự họp thống nhất kiểm tra, xác minh, thẩm định nội dung.\n"
        "Thời gian: {starts_at}\n"
        "Địa điểm: {place}\n"
        "Họp trực tuyến: {link}\n"
        "Nội dung:\n{agenda}\n{redaction_note}",
    ),
    "case.appraised": (
        "[Phối hợp] Kết quả thẩm định vụ việc {case_id}",
        "Kính gửi: {agency_name}\n\n"
        "Kết quả thẩm định vụ việc {case_id}: {outcome_vi}.\n"
        "Căn cứ pháp lý: {legal_basis}\n{redaction_note}",
    ),
    "case.decided": (
        "[Phối hợp] Phương án xử lý vụ việc {case_id}",
        "Kính gửi: {agency_name}\n\n"
        "Phương án xử lý vụ việc {case_id} đã được quyết định.\n"
        "Căn cứ pháp lý: {legal_basis}\n"
        "Các biện pháp:\n{measures}\n{redaction_note}",
    ),
    "measure.assigned": (
        "[Phối hợp] Giao thực hiện biện pháp: {measure_kind_vi} – vụ việc {case_id}",
        "Kính gửi: {agency_name}\n\n"
        "Quý cơ quan được giao thực hiện biện pháp {measure_kind_vi} đối với vụ "
        "việc {case_id}, hạn hoàn thành {due_at}.\n"
        "Mô tả: {description}\n"
        "Căn cứ pháp lý: {legal_basis}\n"
        "Đề nghị báo cáo kết quả về UBND thành phố, đồng gửi Sở Thông tin và "
        "Truyền thông (Điều 7.6, Điều 8.2). Mã biện pháp: {measure_id}\n"
        "{redaction_note}",
    ),
    "measure.reported": (
        "[Phối hợp] Kết quả thực hiện biện pháp – vụ việc {case_id}",
        "Kính gửi: {agency_name}\n\n"
        "{reporting_agency_name} báo cáo kết quả thực hiện biện pháp "
        "{measure_kind_vi} (mã {measure_id}): {result_vi}.\n"
        "Ghi chú: {note}\nKhó khăn, vướng mắc: {difficulties}\n{redaction_note}",
    ),
    "case.escalated": (
        "[Phối hợp] {escalation_title} – vụ việc {case_id}",
        "Kính gửi: {agency_name}\n\n"
        "Sở Thông tin và Truyền thông {escalation_verb} đối với vụ việc {case_id} "
        "(Điều {article} Quy chế).\n"
        "Lý do: {reason}\n"
        "Đề nghị trả lời trước: {due_at}\n{redaction_note}",
    ),
    "case.escalation_answered": (
        "[Phối hợp] Kết quả xử lý kiến nghị – vụ việc {case_id}",
        "Kính gửi: {agency_name}\n\nKiến nghị về vụ việc {case_id} đã có kết quả: "
        "{escalation_outcome_vi}.\nGhi chú: {note}\n{redaction_note}",
    ),
    "case.resolved": (
        "[Phối hợp] Vụ việc {case_id} đã xử lý xong",
        "Kính gửi: {agency_name}\n\nCác biện pháp của vụ việc {case_id} đã được "
        "báo cáo kết quả.\n{redaction_note}",
    ),
    "case.closed": (
        "[Phối hợp] Vụ việc {case_id} đã kết thúc",
        "Kính gửi: {agency_name}\n\nVụ việc {case_id} đã kết thúc.\n"
        "Lý do: {reason}\n{redaction_note}",
    ),
    "case.reopened": (
        "[Phối hợp] Vụ việc {case_id} được mở lại",
        "Kính gửi: {agency_name}\n\nVụ việc {case_id} được mở lại để xác minh.\n"
        "Lý do: {reason}\n{redaction_note}",
    ),
    "press.initial_info_due": (
        "[Phối hợp] Cung cấp thông tin ban đầu trước {due_at} (Điều 7.6.d)",
        "Kính gửi: {agency_name}\n\n"
        "Vụ việc {case_id} là sự cố thuộc lĩnh vực, địa bàn quý cơ quan phụ "
        "trách. Theo Điều 7.6.d Quy chế, đề nghị cung cấp thông tin ban đầu cho "
        "các cơ quan báo chí thành phố chậm nhất lúc {due_at}, nêu rõ quan điểm "
        "của lãnh đạo và các biện pháp xử lý bước đầu.\n{redaction_note}",
    ),
    "press.statement_distributed": (
        "[Thông cáo] {title}",
        "Kính gửi: {agency_name}\n\n"
        "Đề nghị đăng tải thông tin chính thức sau (Điều 7.1.i, 7.7 Quy chế).\n"
        "Cơ quan phát hành: {issuing_agency_name}\n"
        "Duyệt lúc: {approved_at}\n\n{title}\n\n{body}\n\n"
        "Căn cứ pháp lý: {legal_basis}\nMã thông cáo: {statement_id}\n"
        "{redaction_note}",
    ),
    "press.results_published": (
        "[Thông cáo] Kết quả xử lý – mã {statement_id}",
        "Kính gửi: {agency_name}\n\nThông cáo kết quả xử lý (Điều 6.6 Quy chế) "
        "đã được phát hành lúc {published_at}.\nCăn cứ pháp lý: {legal_basis}\n"
        "{redaction_note}",
    ),
    "deadline.due_soon": (
        "[Phối hợp] Sắp đến hạn: {deadline_kind} – {due_at}",
        "Kính gửi: {agency_name}\n\nViệc {deadline_kind} của vụ việc {case_id} "
        "đến hạn lúc {due_at}.\n{redaction_note}",
    ),
    "deadline.overdue": (
        "[Phối hợp] Quá hạn: {deadline_kind} – vụ việc {case_id}",
        "Kính gửi: {agency_name}\n\nViệc {deadline_kind} của vụ việc {case_id} đã "
        "quá hạn (hạn {due_at}).\n{redaction_note}",
    ),
    "report.generated": (
        "[Báo cáo] {report_kind} kỳ {period}",
        "Kính gửi: {agency_name}\n\nBáo cáo {report_kind} kỳ {period} về công tác "
        "phối hợp xử lý thông tin xấu, độc (Điều 8 Quy chế) đã được lập.\n"
        "Định dạng: {formats}\nMã kiểm tra SHA-256: {sha256}\n{redaction_note}",
    ),
}

DEFAULT_TEMPLATE = (
    "[Phối hợp] {event_type_vi} – vụ việc {case_id}",
    "Kính gửi: {agency_name}\n\nSự kiện: {event_type_vi} ({event_type})\n"
    "Thời điểm: {occurred_at}\n{redaction_note}",
)

ROLES_VI = {"lead": "chủ trì xử lý", "coordinating": "phối hợp xử lý"}
RULES_VI = {
    "lead": "cơ quan chủ trì",
    "category": "theo loại nội dung",
    "sector": "theo lĩnh vực",
    "locality": "theo địa bàn",
    "journalists_involved": "có liên quan đến nhà báo",
}
MEASURES_VI = {
    "removal_request": "đề nghị gỡ bỏ nội dung",
    "sanction_proposal": "đề xuất xử phạt vi phạm hành chính",
    "police_referral": "chuyển cơ quan công an",
    "official_information": "đăng tải thông tin chính thức",
    "rebuttal": "phản bác, định hướng thông tin",
    "no_action": "không áp dụng biện pháp",
}
RESULTS_VI = {
    "done": "đã thực hiện",
    "partly_done": "thực hiện một phần",
    "not_possible": "không thực hiện được",
}
OUTCOMES_VI = {
    "violates": "có vi phạm",
    "does_not_violate": "không vi phạm (Điều 4.2)",
    "insufficient_evidence": "chưa đủ căn cứ",
}
ESCALATIONS_VI = {
    "city": (
        "Báo cáo, đề xuất UBND thành phố",
        "báo cáo, đề xuất UBND thành phố chỉ đạo xử lý",
    ),
    "ministry": ("Đề nghị gỡ bỏ nội dung vi phạm", "đề nghị Bộ gỡ bỏ nội dung vi phạm"),
}
ESCALATION_OUTCOMES_VI = {
    "directed": "UBND thành phố đã chỉ đạo xử lý",
    "returned": "chuyển lại Sở Thông tin và Truyền thông xử lý theo thẩm quyền",
    "removal_requested": "Bộ đã yêu cầu gỡ bỏ nội dung",
    "removal_refused": "Bộ không chấp nhận đề nghị gỡ bỏ",
}
CHANGES_VI = {"added": "bổ sung", "removed": "rút"}
EVENT_TYPES_VI = {
    "case.opened": "Tiếp nhận vụ việc mới",
    "case.triaged": "Phân loại vụ việc",
    "report.received": "Tiếp nhận phản ánh",
    "consultation.closed": "Kết thúc đợt lấy ý kiến",
    "consultation.opinion_submitted": "Ý kiến của cơ quan phối hợp",
    "meeting.minutes_approved": "Biên bản họp đã được thông qua",
    "case.rejected": "Nội dung không vi phạm (Điều 4.2)",
    "deadline.met": "Hoàn thành đúng hạn",
    "press.initial_info_overdue": "Quá hạn thông tin ban đầu (Điều 7.6.d)",
}
CLASSIFICATIONS_VI = {
    "public": "công khai",
    "internal": "nội bộ",
    "confidential": "mật",
    "secret": "tối mật",
}

# Every name a template may use.
FIELDS = frozenset(
    {
        "agency_name",
        "agenda",
        "approved_at",
        "article",
        "case_id",
        "categories",
        "change_vi",
        "changed_agency_name",
        "consultation_id",
        "deadline_kind",
        "description",
        "difficulties",
        "due_at",
        "escalation_outcome_vi",
        "escalation_title",
        "escalation_verb",
        "event_id",
        "event_type",
        "event_type_vi",
        "formats",
        "from_agency_name",
        "incident_vi",
        "issuing_agency_name",
        "lead_name",
        "legal_basis",
        "link",
        "locality",
        "measure_id",
        "measure_kind_vi",
        "measures",
        "note",
        "occurred_at",
        "outcome_vi",
        "period",
        "place",
        "published_at",
        "question",
        "reason",
        "redaction_note",
        "report_kind",
        "reporting_agency_name",
        "result_vi",
        "role_vi",
        "rule_vi",
        "sector",
        "sha256",
        "starts_at",
        "statement_id",
        "title",
        "to_agency_name",
        "body",
    }
)


def template_names(text):
    """The ``{names}`` a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def check_templates(overrides, where="templates"):
    """Validate configured templates; returns them as (subject, body) pairs."""
    checked = {}
    for event_type, texts in (overrides or {}).items():
        if not isinstance(texts, dict) or set(texts) - {"subject", "body"}:
            raise AdapterConfigError(
                "a template has a subject and a body",
                {f"{where}.{event_type}": "give subject and body only"},
            )
        default = TEMPLATES.get(event_type, DEFAULT_TEMPLATE)
        subject = texts.get("subject", default[0])
        body = texts.get("body", default[1])
        for part, text in (("subject", subject), ("body", body)):
            try:
                unknown = template_names(text) - FIELDS
            except ValueError as exc:
                raise AdapterConfigError(
                    "a template is not valid format text",
                    {f"{where}.{event_type}.{part}": str(exc)},
                ) from exc
            if unknown:
                raise AdapterConfigError(
                    "a template uses names that do not exist",
                    {
                        f"{where}.{event_type}.{part}": "unknown: "
                        + ", ".join(sorted(unknown))
                    },
                )
        checked[event_type] = (subject, body)

    return checked


def _agency_name(registry, code):
    if not code:
        return ""
    if registry is not None and code in registry:
        return registry.get(code).name_vi
    return code


def _time(value):
    try:
        return local_time(value) if value else ""
    except (TypeError, ValueError):
        return str(value)


def _join(values):
    return ", ".join(str(value) for value in values or ()) or "—"


def _role_of(payload, agency):
    for item in payload.get("agencies") or ():
        if isinstance(item, dict) and item.get("agency") == agency:
            return item
    return {}


def context(event, agency, registry):
    """The values every template may use, for ``event`` sent to ``agency``."""
    payload = event.payload
    role = _role_of(payload, agency)
    target = payload.get("to") or ""
    escalation = ESCALATIONS_VI.get(target, ("Kiến nghị", "kiến nghị"))
    period = payload.get("period") or {}
    measures = [
        f"- {MEASURES_VI.get(item.get('kind'), item.get('kind'))}: "
        f"{_agency_name(registry, item.get('agency'))}, hạn {_time(item.get('due_at'))}"
        for item in payload.get("measures") or ()
        if isinstance(item, dict)
    ]
    redaction_note = ""
    if event.redacted:
        level = CLASSIFICATIONS_VI.get(event.classification, event.classification)
        redaction_note = (
            f'\nLưu ý: nội dung có độ mật "{level}" đã được lược bỏ vì quý cơ '
            "quan chưa được phép tiếp nhận mức độ mật này; đề nghị liên hệ Sở "
            "Thông tin và Truyền thông để được cung cấp theo quy định."
        )
    deadline = payload.get("kind") if event.type.startswith("deadline.") else ""

    return {
        "agency_name": _agency_name(registry, agency),
        "agenda": "\n".join(f"- {item}" for item in payload.get("agenda") or ()),
        "approved_at": _time(payload.get("approved_at")),
        "article": role.get("article") or payload.get("article") or "",
        "body": payload.get("body", ""),
        "case_id": event.case_id or "—",
        "categories": _join(payload.get("categories")),
        "change_vi": CHANGES_VI.get(payload.get("change"), ""),
        "changed_agency_name": _agency_name(registry, payload.get("agency")),
        "consultation_id": payload.get("consultation_id", ""),
        "deadline_kind": deadline or "",
        "description": payload.get("description", ""),
        "difficulties": payload.get("difficulties", ""),
        "due_at": _time(payload.get("due_at")),
        "escalation_outcome_vi": ESCALATION_OUTCOMES_VI.get(payload.get("outcome"), ""),
        "escalation_title": escalation[0],
        "escalation_verb": escalation[1],
        "event_id": event.id,
        "event_type": event.type,
        "event_type_vi": EVENT_TYPES_VI.get(event.type, event.type),
        "formats": _join(payload.get("format")),
        "from_agency_name": _agency_name(registry, payload.get("from_agency")),
        "incident_vi": "có" if payload.get("incident") else "không",
        "issuing_agency_name": payload.get("agency_name")
        or _agency_name(registry, payload.get("agency")),
        "lead_name": _agency_name(registry, payload.get("lead")),
        "legal_basis": _join(payload.get("legal_basis")),
        "link": payload.get("link") or "—",
        "locality": payload.get("locality") or "—",
        "measure_id": payload.get("measure_id", ""),
        "measure_kind_vi": MEASURES_VI.get(
            payload.get("kind"), payload.get("kind", "")
        ),
        "measures": "\n".join(measures),
        "note": payload.get("note", ""),
        "occurred_at": _time(event.occurred_at),
        "outcome_vi": OUTCOMES_VI.get(payload.get("outcome"), ""),
        "period": " – ".join(
            _time(period.get(key)) for key in ("start", "end") if period.get(key)
        ),
        "place": payload.get("place") or "—",
        "published_at": _time(payload.get("published_at")),
        "question": payload.get("question", ""),
        "reason": payload.get("reason", ""),
        "redaction_note": redaction_note,
        "report_kind": payload.get("report_kind", ""),
        "reporting_agency_name": _agency_name(registry, payload.get("agency")),
        "result_vi": RESULTS_VI.get(payload.get("result"), ""),
        "role_vi": ROLES_VI.get(role.get("role"), "phối hợp xử lý"),
        "rule_vi": RULES_VI.get(role.get("rule"), role.get("rule", "")),
        "sector": payload.get("sector") or "—",
        "sha256": payload.get("sha256", ""),
        "starts_at": _time(payload.get("starts_at")),
        "statement_id": payload.get("statement_id", ""),
        "title": payload.get("title", ""),
        "to_agency_name": _agency_name(registry, payload.get("to_agency")),
    }


def render(event, agency, registry, overrides=None):
    """(subject, body) of ``event`` for ``agency``, signature included."""
    subject, body = (overrides or {}).get(event.type) or TEMPLATES.get(
        event.type, DEFAULT_TEMPLATE
    )
    values = context(event, agency, registry)
    text = body.format_map(values).rstrip() + SIGNATURE.format_map(values)

    return " ".join(subject.format_map(values).split()), text
