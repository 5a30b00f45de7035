"""The reporting service: event log, projections and reports (Art. 7.6.c, 8.2,
8.3 of 664/QĐ-UBND).

It logs every event of the bus once, in a hash-chained append-only log;
keeps the case board, deadline records and counters current from the log;
answers the gateway's questions about them; and compiles the periodic
reports DIC sends to the City People's Committee and the result reports of
each agency (copied to DIC), as Word documents with an Excel workbook.

Contract
--------
RPC (``reporting.<method>``):

- ``list_cases(filters=None)``: the case board; filters ``state`` (one or a
  list), ``agency``, ``category``, ``period {start, end}`` (local days the
  case was opened), ``text`` (title or case id, diacritics optional),
  ``classification``, ``page``, ``page_size`` -> ``{items, total, page,
  page_size}``.
- ``get_case(case_id, include_classified=False)``: the board's record of a
  case with its ``timeline`` (its events from the log, in log order; for a
  classified event only metadata unless ``include_classified``).
- ``board_summary(due_soon_hours=None, limit=20)``: counts per state,
  agency, category, channel and classification; deadlines due soon and
  overdue.
- ``agency_workload(agency=None)``: per agency, cases (open, as lead or
  coordinating, per state), measures pending and reported, deadlines open,
  met and overdue.
- ``deadline_compliance(kind="month", period=None, start=None, end=None,
  agency=None)``: deadlines falling due in the period (default: the current
  one), met on time, late or missed, per kind and agency, with the 2-hour
  initial information apart.
- ``generate_report(kind, period=None, start=None, end=None, agency=None,
  actor=None)``: ``kind`` is week, month, quarter, year or range
  (``period`` "2026-11", "2026-Q4", "2026-W45", "2026"; or ``start`` and
  ``end`` days); with ``agency``, that agency's result report (Art. 7.6.c).
  Returns the report record: files (path, sha256, size), totals, period.
- ``list_reports(kind=None, agency=None, limit=50)``, ``get_report_file(
  report_id, format="docx")`` (content in base64).
- ``verify_log()``: walk the hash chain; names the first broken entry.
- ``log_status()``: head of the log and how far projections lag behind.

Events emitted: ``report.generated``.

Events handled: every event (``#``), including the ``agency.<code>.*``
copies, each logged once.
"""

import base64
from datetime import UTC, datetime
from pathlib import Path

from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError
from nameko.rpc import rpc
from pymongo import ASCENDING, DESCENDING, IndexModel

from phoihop.bus import EventSubscriber
from phoihop.config import Config
from phoihop.contracts.reporting import (
    GRANULARITIES,
    REPORT_KINDS,
    CaseFilterSchema,
    ReportRequest,
)
from phoihop.errors import EXPECTED_ERRORS, Forbidden, NotFound, ValidationError
from phoihop.events import ActorSchema
from phoihop.service import ServiceBase
from phoihop.store import Store

from . import labels, queries
from .eventlog import INDEXES as LOG_INDEXES
from .eventlog import LOG_COLLECTION, verify
from .figures import ReportSources
from .generator import FORMATS, generate, sha256_of
from .ledger import EventLedger
from .periods import current_period_code, parse_period

REPORTS_COLLECTION = "reports"

# The log must not lose an event while the database is briefly away: more
# attempts, longer back-off, then the dead-letter queue (replayable).
LOG_MAX_ATTEMPTS = 8
LOG_RETRY_DELAYS_SECONDS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0)

DEFAULT_RECIPIENTS = (
    "Ủy ban nhân dân thành phố (để báo cáo)",
    "Giám đốc, các Phó Giám đốc Sở",
    "Các cơ quan, đơn vị tại Điều 7 Quy chế",
    "Lưu: VT, TTr",
)
DEFAULT_PROPOSALS = (
    "Đề nghị Ủy ban nhân dân thành phố chỉ đạo các sở, ban, ngành, Ủy ban nhân "
    "dân các quận, huyện tiếp tục thực hiện nghiêm Quy chế, cung cấp thông tin "
    "ban đầu cho cơ quan báo chí đúng thời hạn 2 giờ khi có sự cố và báo cáo "
    "kết quả xử lý về Sở Thông tin và Truyền thông để tổng hợp.",
)


class LogSubscriber(EventSubscriber):
    """The event entrypoint of the log, without the inbox.

    The log is its own record of what was handled: an event id is unique in
    it, and ``EventLog.append`` returns the stored entry for an event seen
    before. Skipping the inbox saves two database round trips per message,
    which matters here, where every event of the bus (and every per-agency
    copy) arrives.
    """

    def _store(self):
        return None


log_subscribe = LogSubscriber.decorator


class IssuerSchema(Schema):
    parent = fields.String(load_default="ỦY BAN NHÂN DÂN THÀNH PHỐ HẢI PHÒNG")
    name = fields.String(load_default="Sở Thông tin và Truyền thông")
    short_name = fields.String(load_default="Sở Thông tin và Truyền thông")
    abbreviation = fields.String(
        load_default="STTTT", validate=validate.Regexp(r"^[A-Z0-9Đ-]{2,20}$")
    )
    place = fields.String(load_default="Hải Phòng")


class SignerSchema(Schema):
    authority = fields.String(load_default="KT. GIÁM ĐỐC")
    title = fields.String(load_default="PHÓ GIÁM ĐỐC")
    name = fields.String(load_default="")


class ReportingSettings(Schema):
    """The ``reporting:`` section of ``deploy/config/reporting.yaml``."""

    reports_dir = fields.String(load_default="var/reports")
    due_soon_hours = fields.Float(
        load_default=24.0, validate=validate.Range(min=0.25, max=24 * 30)
    )
    projection_poll_seconds = fields.Float(
        load_default=1.0, validate=validate.Range(min=0.05, max=60)
    )
    issuer = fields.Nested(IssuerSchema, load_default=lambda: IssuerSchema().load({}))
    signer = fields.Nested(SignerSchema, load_default=lambda: SignerSchema().load({}))
    recipients = fields.List(
        fields.String(validate=validate.Length(min=1, max=300)),
        load_default=lambda: list(DEFAULT_RECIPIENTS),
    )
    proposals = fields.List(
        fields.String(validate=validate.Length(min=1, max=4000)),
        load_default=lambda: list(DEFAULT_PROPOSALS),
    )


INDEXES = {
    **LOG_INDEXES,
    REPORTS_COLLECTION: [
        IndexModel([("generated_at", DESCENDING)], name="generated_at"),
        IndexModel(
            [("report_kind", ASCENDING), ("agency", ASCENDING)], name="kind_agency"
        ),
    ],
}


def _flatten(messages, prefix):
    if not isinstance(messages, dict):
        return {prefix: "; ".join(str(item) for item in messages)}
    flat = {}
    for key, value in messages.items():
        flat.update(_flatten(value, f"{prefix}.{key}"))
    return flat


def _load(schema, data, name):
    try:
        return schema.load(data if data is not None else {})
    except SchemaError as exc:
        raise ValidationError(f"invalid {name}", _flatten(exc.messages, name)) from exc


def _actor(actor):
    if actor is None:
        raise ValidationError(
            "the caller must be named", {"actor": "give {agency, officer}"}
        )
    return _load(ActorSchema(), actor, "actor")


class ReportingService(ServiceBase):
    name = "reporting"
    settings = Config(ReportingSettings)
    store = Store(indexes=INDEXES)
    ledger = EventLedger()

    # "#": every message of the exchange, the per-agency copies included.
    # A narrower pattern such as "*.*" would skip the copies, but also any
    # event type of three or more parts (the registry allows them), and the
    # log must hold every event. A copy costs little: it is found in the log
    # by its event id and not logged again.
    @log_subscribe(
        "#", max_attempts=LOG_MAX_ATTEMPTS, retry_delays=LOG_RETRY_DELAYS_SECONDS
    )
    def handle_event(self, event):
        """Log every event once; the projector picks it up from the log."""
        entry, created = self.ledger.append(event)
        if created:
            self.log.debug("event_logged", seq=entry["seq"], event_type=entry["type"])

    # Board ------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_cases(self, filters=None):
        loaded = _load(CaseFilterSchema(), filters, "filters")
        # An unknown code would find nothing and look like an empty board.
        if loaded["agency"] and not labels.known_agency(loaded["agency"]):
            raise ValidationError(
                f"agency {loaded['agency']!r} is not in the agency registry",
                {"agency": "not an agency of the registry"},
            )
        if loaded["category"] and not labels.known_category(loaded["category"]):
            raise ValidationError(
                f"category {loaded['category']!r} is not in the legal-basis catalogue",
                {"category": "not a category of the catalogue"},
            )
        return queries.list_cases(self.ledger.projection(), loaded)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_case(self, case_id, include_classified=False):
        if not isinstance(case_id, str) or not case_id.strip():
            raise ValidationError("invalid case id", {"case_id": "a non-empty string"})
        case_id = case_id.strip()
        try:
            return queries.get_case(
                self.ledger.projection(),
                self.ledger.log,
                case_id,
                cleared=bool(include_classified),
            )
        except NotFound:
            # A case opened a moment ago may be logged but not yet projected:
            # apply what is logged, then look once more.
            if not self.ledger.log.entries.find_one({"case_id": case_id}, {"_id": 1}):
                raise
            self.ledger.catch_up()
            return queries.get_case(
                self.ledger.projection(),
                self.ledger.log,
                case_id,
                cleared=bool(include_classified),
            )

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def board_summary(self, due_soon_hours=None, limit=20):
        hours = (
            self.settings["due_soon_hours"]
            if due_soon_hours is None
            else due_soon_hours
        )
        if not isinstance(hours, int | float) or not 0 < hours <= 24 * 30:
            raise ValidationError(
                "invalid due_soon_hours", {"due_soon_hours": "hours, from 0 to 720"}
            )
        if not isinstance(limit, int) or not 1 <= limit <= 500:
            raise ValidationError("invalid limit", {"limit": "from 1 to 500"})
        return queries.board_summary(
            self.ledger.projection(), datetime.now(UTC), float(hours), limit
        )

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def agency_workload(self, agency=None):
        if agency is not None and not isinstance(agency, str):
            raise ValidationError("invalid agency", {"agency": "an agency code"})
        return queries.agency_workload(
            self.ledger.projection(), datetime.now(UTC), agency
        )

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def deadline_compliance(
        self, kind="month", period=None, start=None, end=None, agency=None
    ):
        if period is None and kind != "range":
            # Without a period: the one running now (this week, month...).
            period = current_period_code(kind, datetime.now(UTC))
        request = _load(
            ReportRequest(),
            {
                "kind": kind,
                "period": period,
                "start": start,
                "end": end,
                "agency": agency,
            },
            "request",
        )
        span = parse_period(
            request["kind"], request["period"], request["start"], request["end"]
        )
        return queries.deadline_compliance(
            self.ledger.projection(), span, datetime.now(UTC), request["agency"]
        )

    # Reports ----------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def generate_report(
        self, kind, period=None, start=None, end=None, agency=None, actor=None
    ):
        request = _load(
            ReportRequest(),
            {
                "kind": kind,
                "period": period,
                "start": start,
                "end": end,
                "agency": agency,
            },
            "request",
        )
        actor = _actor(actor)
        self._check_may_report(actor, request["agency"])
        span = parse_period(
            request["kind"], request["period"], request["start"], request["end"]
        )

        # The report is computed from the projections brought up to the
        # log's head, and records which entry that was.
        self.ledger.catch_up()
        applied = self.ledger.projector.current()["seq"]
        head_entry = self.ledger.log.entries.find_one({"_id": applied}, {"hash": 1})
        log_head = {
            "seq": applied,
            "hash": head_entry["hash"] if head_entry else "0" * 64,
        }
        sources = ReportSources(self.ledger.log, self.ledger.projection())
        _, record = generate(
            sources,
            span,
            self.settings,
            agency=request["agency"],
            log_head=log_head,
        )

        payload = {
            "report_id": record["report_id"],
            "report_kind": record["report_kind"],
            "period": {
                key: record["period"][key]
                for key in ("granularity", "code", "start", "end", "label")
            },
            "agency": record["agency"],
            "sha256": record["sha256"],
            "format": record["format"],
            "files": [
                {key: item[key] for key in ("format", "name", "sha256", "size_bytes")}
                for item in record["files"]
            ],
            "log_head": log_head,
            "totals": record["totals"],
        }
        with self.store.transaction() as tx:
            tx.db[REPORTS_COLLECTION].insert_one(
                {"_id": record["report_id"], **record, "generated_by": actor},
                session=tx.session,
            )
            tx.emit("report.generated", payload, actor=actor)
        self.log.info(
            "report_generated",
            report_id=record["report_id"],
            report_kind=record["report_kind"],
            period=span.code,
            agency=record["agency"],
            sha256=record["sha256"],
        )

        return queries.jsonable({**record, "generated_by": actor})

    def _check_may_report(self, actor, agency):
        lead = labels.lead_agency_code()
        if agency is None and actor["agency"] != lead:
            raise Forbidden(
                "only the lead department compiles the City report (Art. 8.2, 8.3)",
                {"actor.agency": f"must be {lead}"},
            )
        if agency is not None and actor["agency"] not in (agency, lead):
            raise Forbidden(
                f"an agency reports its own results (Art. 7.6.c); {actor['agency']} "
                f"may not report for {agency}",
                {"agency": f"must be {actor['agency']}"},
            )

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_reports(self, kind=None, agency=None, limit=50):
        query = {}
        if kind is not None:
            if kind not in REPORT_KINDS and kind not in GRANULARITIES:
                raise ValidationError(
                    "invalid kind",
                    {"kind": f"one of {', '.join(REPORT_KINDS + GRANULARITIES)}"},
                )
            if kind in REPORT_KINDS:
                query["report_kind"] = kind
            else:
                query["period.granularity"] = kind
        if agency is not None:
            query["agency"] = agency
        if not isinstance(limit, int) or not 1 <= limit <= 500:
            raise ValidationError("invalid limit", {"limit": "from 1 to 500"})
        found = (
            self.store.db[REPORTS_COLLECTION]
            .find(query)
            .sort("generated_at", DESCENDING)
            .limit(limit)
        )
        return [queries.jsonable(doc) for doc in found]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_report_file(self, report_id, format="docx"):  # noqa: A002 - the API's word
        if format not in FORMATS:
            raise ValidationError("invalid format", {"format": "docx or xlsx"})
        record = self.store.db[REPORTS_COLLECTION].find_one({"_id": report_id})
        if record is None:
            raise NotFound(
                f"report {report_id} does not exist", {"report_id": "unknown"}
            )
        item = next(item for item in record["files"] if item["format"] == format)
        path = Path(item["path"])
        if not path.exists():
            raise NotFound(
                f"the {format} file of report {report_id} is no longer on disk",
                {"report_id": f"{path} is missing; generate the report again"},
            )
        content = path.read_bytes()
        return {
            "report_id": report_id,
            "format": format,
            "name": item["name"],
            "sha256": item["sha256"],
            "intact": sha256_of(content) == item["sha256"],
            "content_base64": base64.b64encode(content).decode("ascii"),
        }

    # The log ----------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def verify_log(self):
        anchors = [
            (doc["log_head"]["seq"], doc["log_head"]["hash"])
            for doc in self.store.db[REPORTS_COLLECTION].find(
                {"log_head.seq": {"$gt": 0}}, {"log_head": 1}
            )
        ]
        return verify(self.store.db, anchors=anchors).to_dict()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def log_status(self):
        head = self.ledger.log.head()
        current = self.ledger.projector.current()
        return {
            "head": head.to_dict(),
            "entries": self.store.db[LOG_COLLECTION].estimated_document_count(),
            "projection": {
                "generation": current["generation"],
                "applied": current["seq"],
                "lag": max(0, head.seq - current["seq"]),
            },
        }
