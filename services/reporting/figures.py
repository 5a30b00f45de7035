"""The figures of a report, computed from the event log and the projections.

One function, ``compile_report``, gives every number and table a report
shows; the Word document and the Excel workbook only lay them out, so the
two always agree. What each number counts:

- cases received: cases whose ``case.opened`` occurred in the period, by
  channel and by category (the categories last confirmed by triage or
  assignment, the suggested ones before that; a case in two categories
  counts in both rows, the total counts it once);
- cases per agency: the lead and coordinating agencies assigned to those
  cases; per state: each case's state at the end of the period;
- appraisal outcomes, decisions, measures by kind, handling results,
  cases resolved and closed, escalations and the difficulties recorded with
  handling results (Art. 8.3): events of those types that occurred in the
  period (a measure reported twice counts once, with its last result);
- deadline compliance: deadlines falling due in the period, by kind, with
  the 2-hour initial information of Art. 7.6.d on its own.

For an agency's result report (Art. 7.6.c) the same figures are limited to
that agency: its cases, the measures it was given, the results it reported,
its deadlines and the difficulties it recorded.

Classified cases are counted like any other, but no text of theirs (title,
reason, difficulty) appears in a report.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from phoihop.cases import STATES, is_open
from phoihop.contracts.reporting import AGENCY_RESULTS, CITY_REPORT
from phoihop.i18n import local_time

from . import labels
from .fold import is_classified

# Texts of classified cases are replaced by this in a report.
WITHHELD = "(nội dung mật, không đưa vào báo cáo)"

# Board fields a report reads.
_CASE_FIELDS = {
    "case_id": 1,
    "channel": 1,
    "categories": 1,
    "suggested_categories": 1,
    "lead": 1,
    "agencies": 1,
    "agency_codes": 1,
    "transitions": 1,
    "classification": 1,
    "incident": 1,
    "opened_at": 1,
}

# Log entry fields a report reads (not the hashes and digests).
_ENTRY_FIELDS = {
    "seq": 1,
    "event_id": 1,
    "type": 1,
    "case_id": 1,
    "occurred_at": 1,
    "classification": 1,
    "event.payload": 1,
    "event.actor": 1,
}

_ACTIVITY_TYPES = (
    "case.appraised",
    "case.rejected",
    "case.decided",
    "measure.reported",
    "case.resolved",
    "case.closed",
    "case.escalated",
    "case.escalation_answered",
    "consultation.opened",
    "meeting.convened",
    "consultation.opinion_submitted",
    "press.statement_distributed",
    "press.results_published",
)


@dataclass
class Table:
    """One table of a report; ``formats`` per column: text, int, percent."""

    key: str
    title: str
    columns: list
    rows: list
    formats: list
    total: list | None = None
    note: str = ""
    in_document: bool = True

    def column(self, name):
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def to_dict(self):
        return {
            "key": self.key,
            "title": self.title,
            "columns": self.columns,
            "rows": self.rows,
            "total": self.total,
        }


@dataclass
class ReportData:
    kind: str
    period: object
    agency: str | None
    generated_at: datetime
    log_head: dict
    totals: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)

    @property
    def agency_name(self):
        return labels.agency(self.agency) if self.agency else None

    def add(self, table):
        self.tables[table.key] = table
        return table


def state_at(doc, instant):
    """The state a case was in at ``instant``, from its transitions."""
    current = None
    for transition in doc.get("transitions") or ():
        if transition["at"] < instant:
            current = transition["state"]
        else:
            break
    return current or ("received" if doc.get("opened_at") else None)


def assigned_roles(doc):
    """``{agency: "lead"|"coordinating"}`` of a case."""
    roles = {}
    for item in doc.get("agencies") or ():
        roles[item["agency"]] = "lead" if item.get("role") == "lead" else "coordinating"
    if doc.get("lead"):
        roles[doc["lead"]] = "lead"
    return roles


def case_categories(doc):
    """The categories an officer confirmed. A report to the City counts
    decisions, not the triage rules' suggestions: a case still waiting
    for its triage counts as not yet categorised."""
    return list(doc.get("categories") or [])


def _rate(part, whole):
    return (part / whole) if whole else None


def _sorted_counts(counter, label):
    return [
        [label(key), count]
        for key, count in sorted(
            counter.items(), key=lambda item: (-item[1], str(item[0]))
        )
    ]


def _payload(entry):
    return (entry.get("event") or {}).get("payload") or {}


class ReportSources:
    """Where the figures come from: the log, the board and the deadlines."""

    def __init__(self, event_log, projection):
        self.log = event_log
        self.projection = projection

    def cases_opened(self, period):
        query = {"opened_at": {"$gte": period.start_utc, "$lt": period.end_utc}}
        return self.projection.board.find(query, _CASE_FIELDS)

    def cases(self, case_ids):
        ids = list(case_ids)
        for start in range(0, len(ids), 100):
            yield from self.projection.board.find(
                {"_id": {"$in": ids[start : start + 100]}}, _CASE_FIELDS
            )

    def case_ids_of(self, agency):
        """Every case the agency takes part in, whenever it was opened."""
        return {
            doc["_id"]
            for doc in self.projection.board.find({"agency_codes": agency}, {"_id": 1})
        }

    def activity(self, period):
        by_type = defaultdict(list)
        entries = self.log.of_types(
            _ACTIVITY_TYPES, period.start_utc, period.end_utc, _ENTRY_FIELDS
        )
        for entry in entries:
            by_type[entry["type"]].append(entry)
        for entries in by_type.values():
            entries.sort(key=lambda entry: (entry["occurred_at"], entry["_id"]))
        return by_type

    def deadlines_due(self, period):
        query = {"due_at": {"$gte": period.start_utc, "$lt": period.end_utc}}
        return list(self.projection.deadlines.find(query))


def compile_report(sources, period, agency=None, now=None, log_head=None):
    """Every figure of the report for ``period`` (and ``agency``)."""
    now = now or datetime.now(UTC)
    data = ReportData(
        kind=AGENCY_RESULTS if agency else CITY_REPORT,
        period=period,
        agency=agency,
        generated_at=now,
        log_head=log_head or {},
    )
    received = [
        doc
        for doc in sources.cases_opened(period)
        if agency is None or agency in (doc.get("agency_codes") or ())
    ]
    activity = sources.activity(period)
    own_cases = sources.case_ids_of(agency) if agency else None
    classified_cases = {
        doc["case_id"] for doc in received if is_classified(doc.get("classification"))
    }

    _received_tables(data, received, period)
    _agency_tables(data, received, period, agency)
    _appraisal_tables(data, activity, agency, own_cases)
    _measure_tables(data, activity, agency, own_cases)
    _deadline_tables(data, sources.deadlines_due(period), agency, now)
    _escalation_tables(data, activity, own_cases, sources, classified_cases)
    _difficulty_table(data, activity, agency, sources, classified_cases)
    _coordination_totals(data, activity, agency, own_cases)

    return data


def _received_tables(data, received, period):
    by_channel = Counter(doc.get("channel") for doc in received)
    by_category = Counter()
    for doc in received:
        for category in case_categories(doc) or ["uncategorised"]:
            by_category[category] += 1
    by_state = Counter(state_at(doc, period.end_utc) for doc in received)
    incidents = sum(1 for doc in received if doc.get("incident"))
    open_at_end = sum(1 for state in by_state.elements() if state and is_open(state))

    data.totals.update(
        {
            "cases_received": len(received),
            "incidents": incidents,
            "classified_cases": sum(
                1 for doc in received if is_classified(doc.get("classification"))
            ),
            "open_at_end": open_at_end,
        }
    )
    data.add(
        Table(
            "received_by_channel",
            "Vụ việc tiếp nhận theo kênh",
            ["Kênh tiếp nhận", "Số vụ việc"],
            _sorted_counts(by_channel, labels.channel),
            ["text", "int"],
            total=["Tổng cộng", len(received)],
        )
    )
    data.add(
        Table(
            "received_by_category",
            "Vụ việc tiếp nhận theo nhóm nội dung",
            ["Nhóm nội dung", "Số vụ việc"],
            _sorted_counts(
                by_category,
                lambda code: (
                    "Chưa phân loại"
                    if code == "uncategorised"
                    else labels.category(code)
                ),
            ),
            ["text", "int"],
            total=["Tổng số vụ việc", len(received)],
            note="Một vụ việc có thể thuộc nhiều nhóm nội dung. Nhóm nội dung "
            "do cán bộ xác nhận khi phân loại; vụ việc chưa được xác nhận "
            "phân loại tính vào dòng Chưa phân loại.",
        )
    )
    order = {state: index for index, state in enumerate(STATES)}
    data.add(
        Table(
            "cases_by_state",
            "Tình trạng xử lý vụ việc tại thời điểm cuối kỳ",
            ["Tình trạng", "Số vụ việc"],
            [
                [labels.state(state), count]
                for state, count in sorted(
                    by_state.items(), key=lambda item: order.get(item[0], 99)
                )
            ],
            ["text", "int"],
            total=["Tổng cộng", len(received)],
        )
    )


def _agency_tables(data, received, period, agency):
    lead = Counter()
    coordinating = Counter()
    open_at_end = Counter()
    matrix = defaultdict(Counter)
    for doc in received:
        state = state_at(doc, period.end_utc)
        for code, role in assigned_roles(doc).items():
            if agency and code != agency:
                continue
            (lead if role == "lead" else coordinating)[code] += 1
            matrix[code][state] += 1
            if state and is_open(state):
                open_at_end[code] += 1
    codes = sorted(set(lead) | set(coordinating), key=lambda code: labels.agency(code))
    rows = []
    for code in codes:
        total = lead[code] + coordinating[code]
        rows.append(
            [
                labels.agency(code),
                lead[code],
                coordinating[code],
                total,
                open_at_end[code],
                total - open_at_end[code],
            ]
        )
    data.add(
        Table(
            "cases_by_agency",
            "Vụ việc theo cơ quan chủ trì, phối hợp",
            [
                "Cơ quan, đơn vị",
                "Chủ trì",
                "Phối hợp",
                "Tổng số",
                "Chưa kết thúc",
                "Đã kết thúc",
            ],
            rows,
            ["text", "int", "int", "int", "int", "int"],
            note="Vụ việc chưa kết thúc: đang ở một bước xử lý tại thời điểm cuối kỳ.",
        )
    )
    states = [state for state in STATES if any(matrix[code][state] for code in codes)]
    data.add(
        Table(
            "agency_by_state",
            "Vụ việc theo cơ quan và tình trạng cuối kỳ",
            ["Cơ quan, đơn vị", *[labels.state(state) for state in states]],
            [
                [labels.agency(code), *[matrix[code][state] for state in states]]
                for code in codes
            ],
            ["text", *["int"] * len(states)],
            in_document=False,
        )
    )
    data.totals["agencies_involved"] = len(codes)


def _latest_per(entries, key):
    latest = {}
    for entry in entries:
        payload = _payload(entry)
        ident = payload.get(key) or entry["event_id"]
        revision = payload.get("revision") or 0
        known = latest.get(ident)
        if known is None or (revision, entry["occurred_at"]) >= known[0]:
            latest[ident] = ((revision, entry["occurred_at"]), entry)
    return [entry for _, entry in latest.values()]


def _in_scope(entry, agency, cases=None):
    """Whether an activity entry belongs to an agency's report."""
    if agency is None:
        return True
    payload = _payload(entry)
    if payload.get("agency") == agency:
        return True
    return cases is not None and entry.get("case_id") in cases


def _appraisal_tables(data, activity, agency, own_cases):
    appraisals = [
        entry
        for entry in _latest_per(activity.get("case.appraised", []), "appraisal_id")
        if _in_scope(entry, agency, own_cases)
    ]
    outcomes = Counter(_payload(entry).get("outcome") for entry in appraisals)
    rejected = {
        entry["case_id"]
        for entry in activity.get("case.rejected", [])
        if _in_scope(entry, agency, own_cases)
    }
    data.totals.update(
        {
            "appraisals": len(appraisals),
            "violations": outcomes.get("violates", 0),
            "rejected": len(rejected),
        }
    )
    data.add(
        Table(
            "appraisal_outcomes",
            "Kết quả kiểm tra, xác minh, thẩm định",
            ["Kết quả thẩm định", "Số vụ việc"],
            [[labels.outcome(code), outcomes.get(code, 0)] for code in labels.OUTCOMES]
            + [
                [labels.outcome(code), count]
                for code, count in sorted(
                    outcomes.items(), key=lambda item: str(item[0])
                )
                if code not in labels.OUTCOMES
            ],
            ["text", "int"],
            total=["Tổng cộng", len(appraisals)],
        )
    )


def _measure_tables(data, activity, agency, own_cases):
    decisions = activity.get("case.decided", [])
    measures = []
    for entry in decisions:
        for item in _payload(entry).get("measures") or ():
            if isinstance(item, dict) and (
                agency is None or item.get("agency") == agency
            ):
                measures.append(item)
    by_kind = Counter(item.get("kind") for item in measures)
    reports = [
        entry
        for entry in _latest_per(activity.get("measure.reported", []), "measure_id")
        if agency is None or _payload(entry).get("agency") == agency
    ]
    by_agency = defaultdict(Counter)
    for entry in reports:
        payload = _payload(entry)
        by_agency[payload.get("agency")][payload.get("result")] += 1
    result_codes = list(labels.RESULTS)
    rows = []
    for code in sorted(by_agency, key=lambda code: labels.agency(code)):
        counts = by_agency[code]
        rows.append(
            [
                labels.agency(code),
                *[counts.get(result, 0) for result in result_codes],
                sum(counts.values()),
            ]
        )
    totals_by_result = Counter()
    for counts in by_agency.values():
        totals_by_result.update(counts)
    resolved = {entry["case_id"] for entry in activity.get("case.resolved", [])}
    closed = {entry["case_id"] for entry in activity.get("case.closed", [])}
    if own_cases is not None:
        resolved &= own_cases
        closed &= own_cases

    data.totals.update(
        {
            "decisions": len(
                {
                    entry["case_id"]
                    for entry in decisions
                    if agency is None
                    or any(
                        isinstance(item, dict) and item.get("agency") == agency
                        for item in _payload(entry).get("measures") or ()
                    )
                }
            ),
            "measures": len(measures),
            "results_reported": len(reports),
            "results_done": totals_by_result.get("done", 0),
            "results_partly_done": totals_by_result.get("partly_done", 0),
            "results_not_possible": totals_by_result.get("not_possible", 0),
            "cases_resolved": len(resolved),
            "cases_closed": len(closed),
        }
    )
    data.add(
        Table(
            "measures_by_kind",
            "Biện pháp xử lý đã quyết định",
            ["Biện pháp", "Số lượng"],
            [[labels.measure(code), by_kind.get(code, 0)] for code in labels.MEASURES]
            + [
                [labels.measure(code), count]
                for code, count in sorted(
                    by_kind.items(), key=lambda item: str(item[0])
                )
                if code not in labels.MEASURES
            ],
            ["text", "int"],
            total=["Tổng cộng", len(measures)],
        )
    )
    data.add(
        Table(
            "handling_results",
            "Kết quả thực hiện biện pháp xử lý",
            [
                "Cơ quan, đơn vị",
                *[labels.result(code) for code in result_codes],
                "Tổng số",
            ],
            rows,
            ["text", "int", "int", "int", "int"],
            total=[
                "Tổng cộng",
                *[totals_by_result.get(code, 0) for code in result_codes],
                len(reports),
            ],
        )
    )


def compliance_counts(records, now):
    counts = Counter()
    for record in records:
        status = record.get("status")
        if status == "cancelled":
            counts["cancelled"] += 1
            continue
        counts["due"] += 1
        if status == "met":
            counts["on_time" if record.get("on_time") else "late"] += 1
        elif status == "overdue" or (record.get("due_at") and record["due_at"] < now):
            counts["missed"] += 1
        else:
            counts["pending"] += 1
    return counts


def compliance_row(label, counts):
    settled = counts["on_time"] + counts["late"] + counts["missed"]
    return [
        label,
        counts["due"],
        counts["on_time"],
        counts["late"],
        counts["missed"],
        counts["pending"],
        counts["cancelled"],
        _rate(counts["on_time"], settled),
    ]


_COMPLIANCE_COLUMNS = [
    "Hạn chót trong kỳ",
    "Đúng hạn",
    "Trễ hạn",
    "Quá hạn chưa thực hiện",
    "Chưa đến hạn",
    "Đã hủy",
    "Tỷ lệ đúng hạn",
]
_COMPLIANCE_FORMATS = ["text", "int", "int", "int", "int", "int", "int", "percent"]


def _deadline_tables(data, records, agency, now):
    if agency:
        records = [record for record in records if record.get("owner_agency") == agency]
    by_kind = defaultdict(list)
    for record in records:
        by_kind[record.get("kind")].append(record)
    all_counts = compliance_counts(records, now)
    data.add(
        Table(
            "deadline_compliance",
            "Chấp hành thời hạn xử lý",
            ["Loại thời hạn", *_COMPLIANCE_COLUMNS],
            [
                compliance_row(
                    labels.deadline_kind(kind), compliance_counts(by_kind[kind], now)
                )
                for kind in sorted(by_kind, key=labels.deadline_kind)
            ],
            _COMPLIANCE_FORMATS,
            total=compliance_row("Tổng cộng", all_counts),
            note="Hạn chót trong kỳ = Đúng hạn + Trễ hạn + Quá hạn chưa thực hiện "
            "+ Chưa đến hạn; thời hạn đã hủy (vụ việc gộp hoặc không vi phạm) "
            "không tính vào. Tỷ lệ đúng hạn tính trên số thời hạn đã đến hạn và "
            "đã có kết quả.",
        )
    )

    initial = [record for record in records if record.get("initial_info")]
    by_owner = defaultdict(list)
    for record in initial:
        by_owner[record.get("owner_agency")].append(record)
    initial_counts = compliance_counts(initial, now)
    data.add(
        Table(
            "initial_info",
            "Cung cấp thông tin ban đầu cho báo chí trong 2 giờ (Điều 7.6.d)",
            ["Cơ quan, đơn vị", *_COMPLIANCE_COLUMNS],
            [
                compliance_row(
                    labels.agency(code), compliance_counts(by_owner[code], now)
                )
                for code in sorted(by_owner, key=lambda code: labels.agency(code))
            ],
            _COMPLIANCE_FORMATS,
            total=compliance_row("Tổng cộng", initial_counts),
        )
    )
    data.totals.update(
        {
            "deadlines_due": all_counts["due"],
            "deadlines_on_time": all_counts["on_time"],
            "deadlines_late": all_counts["late"],
            "deadlines_missed": all_counts["missed"],
            "deadlines_pending": all_counts["pending"],
            "initial_info_due": initial_counts["due"],
            "initial_info_on_time": initial_counts["on_time"],
            "initial_info_late": initial_counts["late"],
            "initial_info_missed": initial_counts["missed"],
            "initial_info_pending": initial_counts["pending"],
        }
    )


def _escalation_tables(data, activity, own_cases, sources, classified_cases):
    entries = activity.get("case.escalated", [])
    if own_cases is not None:
        entries = [entry for entry in entries if entry.get("case_id") in own_cases]
    answers = {}
    for entry in activity.get("case.escalation_answered", []):
        answers[_payload(entry).get("escalation_id")] = _payload(entry).get("outcome")
    classified = set(classified_cases) | _classified_among(
        sources, {entry.get("case_id") for entry in entries} - set(classified_cases)
    )
    by_target = Counter(_payload(entry).get("to") for entry in entries)
    rows = []
    for entry in entries:
        payload = _payload(entry)
        secret = entry.get("case_id") in classified or is_classified(
            entry.get("classification")
        )
        rows.append(
            [
                entry.get("case_id") or "",
                local_time(entry["occurred_at"], "%d/%m/%Y"),
                labels.escalation_target(payload.get("to")),
                payload.get("article") or "",
                WITHHELD if secret else (payload.get("reason") or ""),
                labels.escalation_outcome(answers.get(payload.get("escalation_id"))),
            ]
        )
    data.totals.update(
        {
            "escalations": len(entries),
            "escalations_city": by_target.get("city", 0),
            "escalations_ministry": by_target.get("ministry", 0),
        }
    )
    data.add(
        Table(
            "escalations",
            "Vụ việc vượt thẩm quyền, báo cáo cấp trên",
            ["Vụ việc", "Ngày", "Báo cáo lên", "Căn cứ", "Lý do", "Kết quả"],
            rows,
            ["text"] * 6,
        )
    )


def _classified_among(sources, case_ids):
    case_ids = {case_id for case_id in case_ids if case_id}
    if not case_ids:
        return set()
    return {
        doc["case_id"]
        for doc in sources.cases(case_ids)
        if is_classified(doc.get("classification"))
    }


def _difficulty_table(data, activity, agency, sources, classified_cases):
    entries = [
        entry
        for entry in activity.get("measure.reported", [])
        if str(_payload(entry).get("difficulties") or "").strip()
        and (agency is None or _payload(entry).get("agency") == agency)
    ]
    classified = set(classified_cases) | _classified_among(
        sources, {entry.get("case_id") for entry in entries} - set(classified_cases)
    )
    rows = []
    for entry in entries:
        payload = _payload(entry)
        secret = entry.get("case_id") in classified or is_classified(
            entry.get("classification")
        )
        rows.append(
            [
                labels.agency(payload.get("agency")),
                entry.get("case_id") or "",
                local_time(entry["occurred_at"], "%d/%m/%Y"),
                WITHHELD if secret else str(payload["difficulties"]).strip(),
            ]
        )
    data.totals["difficulties"] = len(rows)

    # The document lists each difficulty once, with who met it and how
    # often; the workbook keeps every record.
    grouped = {}
    for agency_name, _, _, text in rows:
        key = " ".join(text.split()).casefold()
        group = grouped.setdefault(key, {"text": text, "agencies": set(), "count": 0})
        group["agencies"].add(agency_name)
        group["count"] += 1
    data.add(
        Table(
            "difficulties_summary",
            "Khó khăn, vướng mắc các cơ quan ghi nhận (Điều 8.3)",
            ["Khó khăn, vướng mắc", "Cơ quan, đơn vị ghi nhận", "Số lần"],
            [
                [group["text"], "; ".join(sorted(group["agencies"])), group["count"]]
                for group in sorted(
                    grouped.values(), key=lambda item: (-item["count"], item["text"])
                )
            ],
            ["text", "text", "int"],
            total=["Tổng cộng", "", len(rows)],
        )
    )
    data.add(
        Table(
            "difficulties",
            "Khó khăn, vướng mắc theo từng vụ việc (Điều 8.3)",
            ["Cơ quan, đơn vị", "Vụ việc", "Ngày", "Khó khăn, vướng mắc"],
            rows,
            ["text"] * 4,
            in_document=False,
        )
    )


def _coordination_totals(data, activity, agency, own_cases):
    opinions = [
        entry
        for entry in activity.get("consultation.opinion_submitted", [])
        if agency is None or _payload(entry).get("agency") == agency
    ]
    statements = Counter(
        _payload(entry).get("kind")
        for entry in activity.get("press.statement_distributed", [])
        if agency is None or _payload(entry).get("agency") == agency
    )

    def invited(kind):
        return [
            entry
            for entry in activity.get(kind, [])
            if agency is None or agency in (_payload(entry).get("invited") or ())
        ]

    data.totals.update(
        {
            "consultations": len(invited("consultation.opened")),
            "meetings": len(invited("meeting.convened")),
            "opinions": len(opinions),
            "statements": sum(statements.values()),
            "statements_initial_info": statements.get("initial_info", 0),
            "results_published": len(
                [
                    entry
                    for entry in activity.get("press.results_published", [])
                    if agency is None or entry.get("case_id") in (own_cases or ())
                ]
            ),
        }
    )
    if agency is not None:
        positions = Counter(_payload(entry).get("position") for entry in opinions)
        data.totals.update(
            {
                "opinions_agree": positions.get("agree", 0),
                "opinions_disagree": positions.get("disagree", 0),
                "opinions_abstain": positions.get("abstain", 0),
            }
        )
