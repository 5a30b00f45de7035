"""The intake service: whatever arrives becomes a report, and a case.

Every channel of Art. 5.1 (phone, SMS, email, electronic documents, post,
the shared document-management application through edXML) plus the API
form, CSV/XLSX batches and partners' MISP and STIX files. Each input is
validated and normalised, joins an open case when its URL or text matches
(near-duplicates are proposed to an officer, never merged silently), or is
quarantined with the exact reason. Triage suggestions come from rules; an
officer confirms the triage.

RPC:
    submit_report(report, actor, idempotency_key=None)
    submit_input(channel, data, actor, encoding="text", idempotency_key=None)
    submit_batch(channel, rows, actor, filename=None, file_sha256=None)
    get_report(report_id, include_raw=False), list_reports(case_id)
    get_case(case_id), list_cases(state=None, limit=100)
    list_quarantine(status=None, channel=None, limit=100, offset=0)
    get_quarantine(quarantine_id, include_raw=True)
    resubmit_quarantined(quarantine_id, corrected_raw, actor, encoding="text")
    list_merge_proposals(status="proposed", case_id=None)
    confirm_merge(case_id, into_case_id, actor, reason="")
    dismiss_merge_proposal(proposal_id, actor, reason="")
    confirm_triage(case_id, categories, sector, locality, incident,
                   journalists_involved, severity, classification, posted_at, actor)
Events emitted: report.received, report.quarantined, case.opened,
    case.report_attached, case.merge_proposed, case.merged, case.triaged.
Events handled: every ``case.*`` event and ``consultation.opened`` that
    carries a ``state``, to know when a case stops being open (dedup joins
    open cases only).
"""

import base64
import binascii
import hashlib
import json

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import PyMongoError

from phoihop.agencies import load_registry
from phoihop.bus import subscribe
from phoihop.cases import STATES
from phoihop.config import Config
from phoihop.constants import CLASSIFICATIONS
from phoihop.errors import (
    EXPECTED_ERRORS,
    Conflict,
    NotFound,
    PhoihopError,
    ValidationError,
)
from phoihop.events import ActorSchema, UtcDateTime
from phoihop.legal import load_catalogue
from phoihop.reports import CHANNELS, MAX_TEXT_CHARS, SEVERITIES, ReportSchema
from phoihop.service import ServiceBase
from phoihop.store import Store
from services.intake import blobs
from services.intake.channels import PARSERS, batch, edxml, mbox
from services.intake.channels.imap import MailboxPoller
from services.intake.dedup import NearDuplicates
from services.intake.pipeline import (
    CASES,
    MERGE_PROPOSALS,
    OPENED,
    QUARANTINE,
    QUARANTINED,
    REPORTS,
    Intake,
    Rejected,
    parse_input,
)
from services.intake.triage import load_rules

# The IMAP poller's timer ticks this often; the configured interval decides
# how many ticks pass between two polls.
IMAP_TICK_SECONDS = 15
INTAKE_EVENTS = frozenset(
    (
        "case.opened",
        "case.report_attached",
        "case.merge_proposed",
        "case.merged",
        "case.triaged",
    )
)
RAW_PREVIEW_CHARS = 20_000
MAX_LIST = 1000


class LimitsSchema(Schema):
    max_input_bytes = fields.Integer(
        load_default=12 * 1024 * 1024,
        validate=validate.Range(min=1024, max=15 * 1024 * 1024),
    )
    max_text_chars = fields.Integer(
        load_default=MAX_TEXT_CHARS,
        validate=validate.Range(min=100, max=MAX_TEXT_CHARS),
    )
    max_attachment_bytes = fields.Integer(
        load_default=10 * 1024 * 1024, validate=validate.Range(min=1024)
    )


class NearDuplicateSchema(Schema):
    threshold = fields.Float(
        load_default=0.8, validate=validate.Range(min=0.3, max=1.0)
    )
    num_perm = fields.Integer(
        load_default=128, validate=validate.Range(min=16, max=512)
    )
    bands = fields.Integer(load_default=16, validate=validate.Range(min=1, max=512))
    shingle_words = fields.Integer(
        load_default=3, validate=validate.Range(min=1, max=10)
    )
    min_words = fields.Integer(load_default=8, validate=validate.Range(min=1))
    max_proposals = fields.Integer(
        load_default=5, validate=validate.Range(min=1, max=50)
    )

    @validates_schema
    def _bands_divide(self, data, **kwargs):
        if data["num_perm"] % data["bands"]:
            raise SchemaError("num_perm must be a multiple of bands", "bands")


class ImapSchema(Schema):
    enabled = fields.Boolean(load_default=False)
    host = fields.String(load_default="")
    port = fields.Integer(load_default=993)
    ssl = fields.Boolean(load_default=True)
    username = fields.String(load_default="")
    password = fields.String(load_default="")
    mailbox = fields.String(load_default="INBOX")
    interval_seconds = fields.Integer(load_default=60, validate=validate.Range(min=15))
    batch = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))
    timeout = fields.Integer(load_default=30)

    @validates_schema
    def _complete_when_enabled(self, data, **kwargs):
        if data["enabled"]:
            missing = [k for k in ("host", "username", "password") if not data.get(k)]
            if missing:
                raise SchemaError(
                    f"needed when the poller is enabled: {', '.join(missing)}",
                    missing[0],
                )


class EdxmlSchema(Schema):
    # Document-exchange organisation id -> agency code (Decision 20/2020).
    organ_agencies = fields.Dict(
        keys=fields.String(), values=fields.String(), load_default=dict
    )
    city_level1_code = fields.String(load_default="H31")


class IntakeSettingsSchema(Schema):
    limits = fields.Nested(LimitsSchema, load_default=lambda: LimitsSchema().load({}))
    near_duplicate = fields.Nested(
        NearDuplicateSchema, load_default=lambda: NearDuplicateSchema().load({})
    )
    imap = fields.Nested(ImapSchema, load_default=lambda: ImapSchema().load({}))
    edxml = fields.Nested(EdxmlSchema, load_default=lambda: EdxmlSchema().load({}))
    legal_basis_path = fields.String(load_default=None, allow_none=True)
    triage_rules_path = fields.String(load_default=None, allow_none=True)
    # The agency registry (default: the shipped files): an agency reporter
    # must name one of its agencies.
    registry_path = fields.String(load_default=None, allow_none=True)
    registry_extra_paths = fields.List(fields.String(), load_default=list)


class TriageInputSchema(Schema):
    categories = fields.List(
        fields.String(), required=True, validate=validate.Length(min=1)
    )
    sector = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=100)
    )
    locality = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=100)
    )
    incident = fields.Boolean(required=True, truthy={True}, falsy={False})
    journalists_involved = fields.Boolean(required=True, truthy={True}, falsy={False})
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    classification = fields.String(
        required=True, validate=validate.OneOf(CLASSIFICATIONS)
    )
    posted_at = UtcDateTime(load_default=None, allow_none=True)


class Rulebook(DependencyProvider):
    """The legal-basis catalogue, triage rules and near-duplicate settings.

    ``setup()`` runs once at container start and loads and validates them
    (a bad file stops the service there); workers share the loaded objects.
    """

    def setup(self):
        section = IntakeSettingsSchema().load(self.container.config.get("intake") or {})
        self.catalogue = load_catalogue(section["legal_basis_path"])
        self.rules = load_rules(self.catalogue, section["triage_rules_path"])
        self.registry = load_registry(
            section["registry_path"], extra_paths=section["registry_extra_paths"]
        )
        near = section["near_duplicate"]
        self.near = NearDuplicates(
            threshold=near["threshold"],
            num_perm=near["num_perm"],
            bands=near["bands"],
            shingle_words=near["shingle_words"],
            min_words=near["min_words"],
        )
        self.polls = 0

    def get_dependency(self, worker_ctx):
        return self


INDEXES = {
    REPORTS: [
        IndexModel(
            [("case_id", ASCENDING), ("received_at", ASCENDING)], name="by_case"
        ),
        IndexModel([("received_at", DESCENDING)], name="by_time"),
    ],
    CASES: [
        IndexModel([("lsh", ASCENDING)], name="lsh_bands"),
        IndexModel([("state", ASCENDING), ("opened_at", DESCENDING)], name="by_state"),
    ],
    QUARANTINE: [
        IndexModel(
            [("status", ASCENDING), ("received_at", DESCENDING)], name="by_status"
        ),
    ],
    MERGE_PROPOSALS: [
        IndexModel([("pair", ASCENDING)], name="by_pair"),
        IndexModel(
            [("status", ASCENDING), ("proposed_at", DESCENDING)], name="by_status"
        ),
    ],
    blobs.CHUNKS: [IndexModel([("blob", ASCENDING), ("n", ASCENDING)], name="by_blob")],
}


class IntakeService(ServiceBase):
    name = "intake"
    settings = Config(IntakeSettingsSchema)
    store = Store(indexes=INDEXES)
    rulebook = Rulebook()

    def _intake(self):
        return Intake(
            self.store,
            self.settings,
            self.rulebook.catalogue,
            self.rulebook.rules,
            self.rulebook.near,
            self.rulebook.registry,
        )

    # Submission ----------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def submit_report(self, report, actor, idempotency_key=None):
        """The API form (JSON). Invalid input is refused with the fields at
        fault; the caller holds the input and can correct it."""
        actor = _actor(actor)
        if not isinstance(report, dict):
            raise ValidationError(
                "the report must be a JSON object", {"report": "object"}
            )
        form = dict(report)
        form.setdefault("channel", "api")
        if idempotency_key is not None:
            form["idempotency_key"] = idempotency_key
        raw = json.dumps(
            report, ensure_ascii=False, default=str, sort_keys=True
        ).encode("utf-8", "surrogatepass")
        limit = self.settings["limits"]["max_input_bytes"]
        if len(raw) > limit:
            raise ValidationError(
                f"the report is {len(raw)} bytes, over the limit of {limit}",
                {"report": f"over {limit} bytes"},
            )
        try:
            result = self._intake().ingest(form, actor, raw=raw, same_input=True)
        except Rejected as exc:
            raise ValidationError(exc.reason, exc.fields) from exc
        self._log_result(result, form["channel"])

        return result

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def submit_input(
        self, channel, data, actor, encoding="text", idempotency_key=None, options=None
    ):
        """One input of a channel as it arrived (an email, an SMS webhook
        payload, an edXML package, a MISP or STIX file, a call log, a letter,
        an mbox, a CSV or XLSX file). What cannot be read is quarantined."""
        actor = _actor(actor)
        if channel not in CHANNELS and channel != "mbox":
            raise ValidationError(
                f"unknown channel {channel!r}",
                {"channel": f"one of {', '.join(CHANNELS)}, mbox"},
            )
        raw, parsed = _raw_bytes(data, encoding)
        results = self._process(
            channel, raw, parsed, actor, idempotency_key, options or {}
        )

        return {"channel": channel, "results": results, "summary": _summary(results)}

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def submit_batch(self, channel, rows, actor, filename=None, file_sha256=None):
        """Rows of a CSV or XLSX file read by the client (with progress).

        Each row is ``{"number", "raw", "report"}`` or, for a row the client
        could not read, ``{"number", "raw", "reason", "fields"}``. The file's
        SHA-256 and the row number make each row's idempotency key.
        """
        actor = _actor(actor)
        if channel not in ("csv", "xlsx"):
            raise ValidationError("batches are csv or xlsx", {"channel": "csv or xlsx"})
        if not isinstance(rows, list) or len(rows) > 5000:
            raise ValidationError(
                "rows must be a list of at most 5000", {"rows": "list, at most 5000"}
            )
        intake = self._intake()
        reporter = {
            "kind": "agency",
            "agency": actor["agency"],
            "officer": actor.get("officer"),
        }
        results = []
        for row in rows:
            results.append(
                self._batch_row(
                    intake, channel, row, reporter, actor, filename, file_sha256
                )
            )

        return {"results": results, "summary": _summary(results)}

    # Reading ---------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_report(self, report_id, include_raw=False):
        doc = self.store.db[REPORTS].find_one({"_id": report_id})
        if doc is None:
            raise NotFound(
                f"report {report_id} does not exist", {"report_id": "unknown"}
            )
        report = _report_out(doc)
        if include_raw and doc.get("raw"):
            data = blobs.get(self.store.db, doc["raw"]["sha256"]) or b""
            report["raw_base64"] = base64.b64encode(data).decode("ascii")

        return report

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_reports(self, case_id, limit=500):
        docs = (
            self.store.db[REPORTS]
            .find({"case_id": case_id})
            .sort("received_at", ASCENDING)
        )
        return [_report_out(doc) for doc in docs.limit(_limit(limit))]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_case(self, case_id):
        case = self.store.db[CASES].find_one({"_id": case_id}, {"minhash": 0, "lsh": 0})
        if case is None:
            raise NotFound(f"case {case_id} does not exist", {"case_id": "unknown"})
        return _jsonable(_rename(case, "case_id"))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_cases(self, state=None, limit=100):
        query = {}
        if state is not None:
            if state not in STATES:
                raise ValidationError(f"unknown state {state!r}", {"state": "unknown"})
            query["state"] = state
        docs = (
            self.store.db[CASES]
            .find(query, {"minhash": 0, "lsh": 0, "content_items": 0, "suggestions": 0})
            .sort("opened_at", DESCENDING)
            .limit(_limit(limit))
        )
        return [_jsonable(_rename(doc, "case_id")) for doc in docs]

    # Quarantine ------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_quarantine(self, status=None, channel=None, limit=100, offset=0):
        query = {}
        if status:
            query["status"] = status
        if channel:
            query["channel"] = channel
        docs = (
            self.store.db[QUARANTINE]
            .find(query, {"attempts": 0})
            .sort("received_at", DESCENDING)
            .skip(max(int(offset), 0))
            .limit(_limit(limit))
        )
        return [_jsonable(_rename(doc, "quarantine_id")) for doc in docs]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_quarantine(self, quarantine_id, include_raw=True):
        doc = self.store.db[QUARANTINE].find_one({"_id": quarantine_id})
        if doc is None:
            raise NotFound(
                f"quarantine entry {quarantine_id} does not exist",
                {"quarantine_id": "unknown"},
            )
        entry = _jsonable(_rename(doc, "quarantine_id"))
        if include_raw:
            data = blobs.get(self.store.db, doc["raw_sha256"]) or b""
            entry["raw_base64"] = base64.b64encode(data).decode("ascii")
            entry["raw_preview"] = data[:RAW_PREVIEW_CHARS].decode("utf-8", "replace")

        return entry

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def resubmit_quarantined(
        self, quarantine_id, corrected_raw, actor, encoding="text"
    ):
        """Send a corrected input through its channel again. On success the
        entry is marked resubmitted with the reports it became; otherwise it
        stays open with the new reason."""
        actor = _actor(actor)
        doc = self.store.db[QUARANTINE].find_one({"_id": quarantine_id})
        if doc is None:
            raise NotFound(
                f"quarantine entry {quarantine_id} does not exist",
                {"quarantine_id": "unknown"},
            )
        if doc.get("status") == "resubmitted":
            became = ", ".join(doc.get("resubmitted_as") or []) or "-"
            raise Conflict(
                f"quarantine entry {quarantine_id} was already resubmitted "
                f"and became {became}",
                {"quarantine_id": "already resubmitted"},
            )
        raw, parsed = _raw_bytes(corrected_raw, encoding)
        channel = doc["channel"]
        intake = self._intake()
        reporter = {
            "kind": "agency",
            "agency": actor["agency"],
            "officer": actor.get("officer"),
        }
        try:
            if channel in ("csv", "xlsx") and doc.get("context", {}).get("row"):
                forms = [_row_form(raw, channel, reporter)]
            else:
                forms = self._parse(channel, raw, parsed, reporter)
            results = []
            for number, form in enumerate(forms):
                # Two officers resubmitting the same entry at once make one
                # report per form, not two: the entry's id keys each form.
                if not form.get("idempotency_key"):
                    form["idempotency_key"] = doc.get("idempotency_key") or (
                        f"resubmit:{quarantine_id}:{number}"
                    )
                results.append(
                    intake.ingest(form, actor, raw=raw, raw_type=_raw_type(channel))
                )
        except Rejected as exc:
            intake.resubmitted(quarantine_id, actor, failure=exc)
            return {
                "outcome": QUARANTINED,
                "quarantine_id": quarantine_id,
                "reason": exc.reason,
                "fields": exc.fields,
            }
        intake.resubmitted(quarantine_id, actor, outcomes=results)

        return {
            "outcome": "resubmitted",
            "quarantine_id": quarantine_id,
            "results": results,
        }

    # Merges and triage -------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_merge_proposals(self, status="proposed", case_id=None, limit=100):
        query = {}
        if status:
            query["status"] = status
        if case_id:
            query["$or"] = [{"case_id": case_id}, {"candidate_case_id": case_id}]
        docs = (
            self.store.db[MERGE_PROPOSALS].find(query).sort("proposed_at", DESCENDING)
        )
        return [
            _jsonable(_rename(doc, "proposal_id")) for doc in docs.limit(_limit(limit))
        ]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def confirm_merge(self, case_id, into_case_id, actor, reason=""):
        """An officer merges ``case_id`` into ``into_case_id``."""
        actor = _actor(actor)
        result = self._intake().confirm_merge(
            case_id, into_case_id, actor, reason or ""
        )
        self.log.info("case_merged", case_id=case_id, into_case_id=into_case_id)
        return result

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def dismiss_merge_proposal(self, proposal_id, actor, reason=""):
        actor = _actor(actor)
        return self._intake().dismiss_merge(proposal_id, actor, reason or "")

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def confirm_triage(
        self,
        case_id,
        categories,
        sector,
        locality,
        incident,
        journalists_involved,
        severity,
        classification,
        posted_at,
        actor,
    ):
        """An officer confirms the triage; routing acts on ``case.triaged``."""
        actor = _actor(actor)
        try:
            triage = TriageInputSchema().load(
                {
                    "categories": categories,
                    "sector": sector,
                    "locality": locality,
                    "incident": incident,
                    "journalists_involved": journalists_involved,
                    "severity": severity,
                    "classification": classification,
                    "posted_at": posted_at,
                }
            )
        except SchemaError as exc:
            raise ValidationError("invalid triage", _flat(exc.messages)) from exc
        unknown = [
            c
            for c in triage["categories"]
            if c not in self.rulebook.catalogue.categories
        ]
        if unknown:
            raise ValidationError(
                f"unknown categories: {', '.join(unknown)}",
                {
                    "categories": "not in the legal-basis catalogue: "
                    + ", ".join(unknown)
                },
            )
        triage["categories"] = list(dict.fromkeys(triage["categories"]))
        result = self._intake().confirm_triage(case_id, triage, actor)
        self.log.info("case_triaged", case_id=case_id, categories=triage["categories"])

        return _jsonable(result)

    # Events and timers -------------------------------------------------------

    @subscribe("case.*", "consultation.opened")
    def handle_case_state(self, event):
        """Follow the state other services give a case (closed, rejected,
        reopened ...): a report joins only an open case."""
        state = event["payload"].get("state")
        if (
            event["type"] in INTAKE_EVENTS
            or not event["case_id"]
            or state not in STATES
        ):
            return
        self._intake().follow_state(event["case_id"], state, event["occurred_at"])

    @timer(interval=IMAP_TICK_SECONDS)
    def poll_mailbox(self):
        """Poll the configured mailbox when the IMAP poller is enabled."""
        settings = self.settings["imap"]
        if not settings["enabled"]:
            return
        self.rulebook.polls += 1
        ticks = max(1, settings["interval_seconds"] // IMAP_TICK_SECONDS)
        if (self.rulebook.polls - 1) % ticks:
            return
        actor = {"agency": "dic", "officer": None}

        def store_message(raw):
            self._process("email", raw, None, actor, None, {})

        try:
            count = MailboxPoller(settings).poll(store_message)
        except OSError as exc:
            self.log.warning("imap_poll_failed", error=str(exc))
            return
        if count:
            self.log.info("imap_polled", messages=count)

    # Internals ---------------------------------------------------------------

    def _process(self, channel, raw, parsed, actor, idempotency_key, options):
        intake = self._intake()
        limit = self.settings["limits"]["max_input_bytes"]
        if len(raw) > limit:
            reason = f"the input is {len(raw)} bytes, over the limit of {limit}"
            return [
                intake.quarantine(
                    channel,
                    raw,
                    reason,
                    {"input": f"over {limit} bytes"},
                    actor,
                    idempotency_key,
                )
            ]
        if channel == "mbox":
            try:
                messages = mbox.split(raw)
            except Exception as exc:  # noqa: BLE001 - reported in the quarantine
                return [
                    intake.quarantine(
                        "email",
                        raw,
                        getattr(exc, "reason", str(exc)),
                        {"mbox": "cannot be split"},
                        actor,
                        idempotency_key,
                    )
                ]
            results = []
            for message in messages:
                results.extend(
                    self._process("email", message, None, actor, None, options)
                )
            return results
        if channel in ("csv", "xlsx"):
            return self._process_file(intake, channel, raw, actor)

        reporter = {
            "kind": "agency",
            "agency": actor["agency"],
            "officer": actor.get("officer"),
        }
        try:
            forms = self._parse(channel, raw, parsed, reporter)
        except Rejected as exc:
            return [
                intake.quarantine(
                    channel, raw, exc.reason, exc.fields, actor, idempotency_key
                )
            ]
        results = []
        # A key the caller gave names this input: other bytes under it are
        # refused (409) rather than answered as a duplicate.
        callers_key = bool(idempotency_key) and len(forms) == 1
        for form in forms:
            if callers_key:
                form["idempotency_key"] = idempotency_key
            try:
                result = intake.ingest(
                    form,
                    actor,
                    raw=raw,
                    raw_type=_raw_type(channel),
                    same_input=callers_key,
                )
            except Rejected as exc:
                result = intake.quarantine(
                    channel,
                    raw,
                    exc.reason,
                    exc.fields,
                    actor,
                    form.get("idempotency_key"),
                )
            except (PhoihopError, PyMongoError):
                # Refused, or the database is away: the caller is told and
                # still holds the input.
                raise
            except Exception as exc:  # noqa: BLE001 - kept, not lost
                # A fault of ours on an input we accepted: the input is kept
                # in quarantine (the transaction left nothing else behind)
                # and can be resubmitted once the fault is fixed.
                self.log.exception("input_failed", channel=channel)
                result = intake.quarantine(
                    channel,
                    raw,
                    f"the input could not be processed ({type(exc).__name__}); "
                    "kept to be resubmitted",
                    {"input": "processing failed"},
                    actor,
                    form.get("idempotency_key"),
                )
            self._log_result(result, channel)
            results.append(result)

        return results

    def _parse(self, channel, raw, parsed, reporter):
        parser = PARSERS.get(channel)
        if parser is None:
            raise ValidationError(
                f"channel {channel!r} takes batches", {"channel": "use submit_batch"}
            )
        options = {}
        if channel == "edxml":
            options["organ_agencies"] = self.settings["edxml"]["organ_agencies"]
            parser = edxml.parse
        data = parsed if parsed is not None else raw
        return parse_input(parser, data, reporter, **options)

    def _process_file(self, intake, channel, raw, actor):
        reader = batch.read_csv if channel == "csv" else batch.read_xlsx
        digest = hashlib.sha256(raw).hexdigest()
        reporter = {
            "kind": "agency",
            "agency": actor["agency"],
            "officer": actor.get("officer"),
        }
        try:
            rows = list(reader(raw))
        except Exception as exc:  # noqa: BLE001 - a ParseError or a reader's own error
            return [
                intake.quarantine(
                    channel,
                    raw,
                    getattr(exc, "reason", str(exc)),
                    getattr(exc, "fields", {}),
                    actor,
                )
            ]
        results = []
        for row in rows:
            item = (
                {
                    "number": row.number,
                    "raw": row.raw,
                    "reason": row.reason,
                    "fields": row.fields,
                }
                if isinstance(row, batch.RowError)
                else {"number": row.number, "raw": row.raw, "report": row.report}
            )
            results.append(
                self._batch_row(intake, channel, item, reporter, actor, None, digest)
            )
        return results

    def _batch_row(self, intake, channel, row, reporter, actor, filename, file_sha256):
        number = row.get("number") if isinstance(row, dict) else None
        raw_text = row.get("raw") if isinstance(row, dict) else None
        raw = (
            raw_text if isinstance(raw_text, str) else json.dumps(row, default=str)
        ).encode("utf-8", "surrogatepass")
        key = f"{channel}:{file_sha256}:{number}" if file_sha256 and number else None
        context = {"row": number, "filename": filename, "file_sha256": file_sha256}
        if not isinstance(row, dict) or not isinstance(number, int):
            return intake.quarantine(
                channel,
                raw,
                "a batch row needs its number",
                {"number": "required"},
                actor,
                key,
                context,
            )
        if row.get("reason"):
            return intake.quarantine(
                channel,
                raw,
                str(row["reason"]),
                row.get("fields") or {},
                actor,
                key,
                context,
            )
        form = row.get("report")
        if not isinstance(form, dict):
            return intake.quarantine(
                channel,
                raw,
                "the row has no report",
                {"report": "required"},
                actor,
                key,
                context,
            )
        form = {
            **form,
            "channel": channel,
            "reporter": form.get("reporter") or reporter,
        }
        if key:
            form["idempotency_key"] = key
        try:
            result = intake.ingest(form, actor, raw=raw, raw_type="text/csv")
        except Rejected as exc:
            result = intake.quarantine(
                channel,
                raw,
                f"row {number}: {exc.reason}",
                exc.fields,
                actor,
                key,
                context,
            )
        result["row"] = number

        return result

    def _log_result(self, result, channel):
        self.log.info(
            "report_processed",
            channel=channel,
            outcome=result.get("outcome"),
            report_id=result.get("report_id"),
            case_id=result.get("case_id"),
        )


def _row_form(raw, channel, reporter):
    rows = list(batch.read_csv(raw))
    if len(rows) != 1:
        raise Rejected(
            "a corrected row is the header line and one row",
            {"raw": "header and one row"},
        )
    row = rows[0]
    if isinstance(row, batch.RowError):
        raise Rejected(row.reason, row.fields)
    return {**row.report, "channel": channel, "reporter": reporter}


def _actor(actor):
    try:
        return ActorSchema().load(actor if isinstance(actor, dict) else {})
    except SchemaError as exc:
        raise ValidationError(
            "the actor must name an agency (and officer)",
            {f"actor.{k}": "; ".join(v) for k, v in exc.messages.items()},
        ) from exc


def _raw_bytes(data, encoding):
    """The raw bytes of an input, and the parsed JSON when it came parsed."""
    if encoding == "base64":
        if not isinstance(data, str):
            raise ValidationError("base64 data must be text", {"data": "base64 text"})
        try:
            return base64.b64decode(data, validate=True), None
        except (binascii.Error, ValueError) as exc:
            raise ValidationError(
                "data is not valid base64", {"data": "not base64"}
            ) from exc
    if encoding != "text":
        raise ValidationError(
            "encoding is text or base64", {"encoding": "text or base64"}
        )
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass"), None
    if isinstance(data, (dict, list)):
        raw = json.dumps(data, ensure_ascii=False, default=str)
        return raw.encode("utf-8", "surrogatepass"), data
    raise ValidationError(
        "data must be text, base64 text or a JSON object", {"data": "text or object"}
    )


def _raw_type(channel):
    return {
        "email": "message/rfc822",
        "edxml": "application/xml",
        "csv": "text/csv",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }.get(channel, "application/json")


def _summary(results):
    counts = {
        "opened": 0,
        "attached": 0,
        "duplicate": 0,
        "quarantined": 0,
        "proposed": 0,
    }
    for result in results:
        # A quarantined input seen again is a duplicate of its entry.
        outcome = "duplicate" if result.get("duplicate") else result.get("outcome")
        counts[outcome] = counts.get(outcome, 0) + 1
        if result.get("outcome") == OPENED:
            counts["proposed"] += len(result.get("merge_proposals") or [])
    counts["total"] = len(results)
    return counts


def _limit(limit):
    try:
        return max(1, min(int(limit), MAX_LIST))
    except (TypeError, ValueError):
        return 100


def _rename(doc, name):
    doc = dict(doc)
    doc[name] = doc.pop("_id")
    return doc


def _report_out(doc):
    doc = _rename(doc, "report_id")
    out = ReportSchema().dump(doc)
    out["triage_suggestions"] = _jsonable(doc.get("triage_suggestions"))
    out["submitted_by"] = doc.get("submitted_by")
    out["received_at"] = _jsonable(doc.get("received_at"))
    return out


def _jsonable(value):
    return json.loads(json.dumps(value, default=_default))


def _default(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _flat(messages, prefix=""):
    flat = {}
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = "; ".join(str(v) for v in value)
    return flat
