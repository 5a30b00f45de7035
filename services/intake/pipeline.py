"""From a parsed input to a stored report and a case, in one transaction.

``Intake`` holds the steps the service runs for every channel: validate
against the report schema, normalise, store raw bytes and attachments,
check idempotency, deduplicate (join an open case, or open one, or propose a
merge), emit the events, and quarantine whatever cannot be read. It works
on a worker's ``ServiceStore`` so the service stays a thin RPC surface.
"""

import base64
import binascii
import json
import random
import time
import uuid
from dataclasses import dataclass

from marshmallow import ValidationError as SchemaError
from pymongo.errors import DuplicateKeyError, PyMongoError

from phoihop.cases import MERGED, OPEN_STATES, RECEIVED, TRIAGED, check_transition
from phoihop.constants import CLASSIFICATIONS
from phoihop.errors import Conflict, NotFound, ServiceUnavailable, ValidationError
from phoihop.logging import get_logger
from phoihop.normalise import (
    UrlError,
    canonical_url,
    normalise_text,
    platform_of,
    text_key,
)
from phoihop.reports import ReportInputSchema
from phoihop.store import is_transient, utcnow
from services.intake import blobs
from services.intake.channels import ParseError
from services.intake.dedup import matched_by, report_keys

log = get_logger(__name__)

# Collections of the intake database.
REPORTS = "reports"
CASES = "cases"
DEDUP_KEYS = "dedup_keys"
IDEMPOTENCY = "idempotency"
QUARANTINE = "quarantine"
MERGE_PROPOSALS = "merge_proposals"

OPENED = "opened"
ATTACHED = "attached"
DUPLICATE = "duplicate"
QUARANTINED = "quarantined"

SECRET = "secret"
STATE_SECRETS = "state_secrets"
TITLE_CHARS = 120
MAX_TRANSACTION_ATTEMPTS = 30


class _Retry(Exception):
    """A concurrent writer got there first; run the transaction again."""


class _Duplicate(Exception):
    """The idempotency key was seen before; nothing new is created."""


@dataclass
class Rejected(Exception):
    """An input failed validation; carries what the quarantine records."""

    reason: str
    fields: dict

    def __str__(self):
        return self.reason


def new_id(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def max_classification(*levels):
    ranked = [
        CLASSIFICATIONS.index(level) for level in levels if level in CLASSIFICATIONS
    ]
    return CLASSIFICATIONS[max(ranked)] if ranked else "internal"


def run_in_transaction(store, work):
    """Run ``work(tx)`` in a transaction, again when a concurrent writer
    conflicted (write conflict, or the unique key of the dedup race)."""
    for attempt in range(MAX_TRANSACTION_ATTEMPTS):
        try:
            with store.transaction() as tx:
                return work(tx)
        except _Retry:
            pass
        except DuplicateKeyError:
            # A unique index refused a write another transaction made first
            # (dedup key, proposal pair): the next attempt reads it.
            pass
        except PyMongoError as exc:
            if not is_transient(exc) and "WriteConflict" not in str(exc):
                raise ServiceUnavailable(f"database error: {exc}") from exc
        time.sleep(min(0.5, 0.005 * (2 ** min(attempt, 6))) * random.random())

    raise ServiceUnavailable("the database kept refusing the write; try again")


class Intake:
    """The intake steps over one worker's store, settings and rules."""

    def __init__(self, store, settings, catalogue, rules, near_duplicates, registry):
        self.store = store
        self.db = store.db
        self.settings = settings
        self.limits = settings["limits"]
        self.catalogue = catalogue
        self.rules = rules
        self.near = near_duplicates
        self.registry = registry

    # Validation and normalisation -------------------------------------

    def validate(self, form):
        """The report form loaded by the schema, limits of the configuration
        applied; raises ``Rejected`` naming the fields."""
        broken = _lone_surrogate(form)
        if broken is not None:
            # JSON may carry "\udce1"; no database can store it.
            reason = "not valid Unicode (a lone surrogate code point)"
            raise Rejected(f"{broken} is {reason}", {broken: reason})
        try:
            report = ReportInputSchema().load(form)
        except SchemaError as exc:
            fields = _flatten(exc.messages)
            raise Rejected(_summary(fields), fields) from exc

        limit = self.limits["max_text_chars"]
        texts = [("about.text", (report.get("about") or {}).get("text") or "")]
        texts += [
            (f"content_items.{i}.captured_text", item.get("captured_text") or "")
            for i, item in enumerate(report["content_items"])
        ]
        for name, text in texts:
            if len(text) > limit:
                reason = f"{len(text)} characters, over the limit of {limit}"
                raise Rejected(f"{name} is {reason}", {name: reason})

        # A report in an agency's name names an agency of the registry: an
        # unknown code would route nothing back and count under no agency.
        reporter = report["reporter"]
        if reporter["kind"] == "agency" and reporter["agency"] not in self.registry:
            reason = f"{reporter['agency']!r} is not an agency of the registry"
            raise Rejected(f"reporter.agency: {reason}", {"reporter.agency": reason})

        return report

    def normalise(self, report, actor):
        """NFC text, canonical URLs, platforms, title; attachments stored."""
        items = []
        for item in report["content_items"]:
            url = item.get("url")
            canonical = platform = None
            if url:
                try:
                    canonical = canonical_url(url)
                except UrlError as exc:  # the schema checked it; belt and braces
                    raise Rejected(exc.reason, {"url": exc.reason}) from exc
                platform = item.get("platform") or platform_of(canonical)
            items.append(
                {
                    "url": url,
                    "canonical_url": canonical,
                    "platform": platform,
                    "captured_text": normalise_text(item.get("captured_text") or ""),
                    "posted_at": item.get("posted_at"),
                    "attachments": item.get("attachments") or [],
                }
            )
        about = report.get("about") or {}
        about = {
            "sector": about.get("sector"),
            "locality": about.get("locality"),
            "text": normalise_text(about.get("text") or ""),
        }
        text = main_text(items, about)
        title = normalise_text(report.get("title") or "") or _title(text, items)

        return {
            "channel": report["channel"],
            "received_at": report.get("received_at") or utcnow(),
            "reporter": report["reporter"],
            "title": title,
            "content_items": items,
            "attachments": self.store_attachments(report.get("attachments") or []),
            "about": about,
            "suggested_categories": list(dict.fromkeys(report["suggested_categories"])),
            "incident": report["incident"],
            "classification": report["classification"],
            "idempotency_key": report.get("idempotency_key"),
            "source": report.get("source") or {},
            "submitted_by": actor,
        }

    def store_attachments(self, attachments):
        stored = []
        limit = self.limits["max_attachment_bytes"]
        for index, item in enumerate(attachments):
            try:
                data = base64.b64decode(item["data_base64"], validate=True)
            except (binascii.Error, ValueError) as exc:
                name = f"attachments.{index}.data_base64"
                raise Rejected(
                    f"{name} is not valid base64", {name: "not base64"}
                ) from exc
            if len(data) > limit:
                name = f"attachments.{index}"
                reason = f"{len(data)} bytes, over the limit of {limit}"
                raise Rejected(f"{name} is {reason}", {name: reason})
            ref = blobs.put(self.db, data, item.get("content_type"))
            stored.append(
                {
                    "sha256": ref["sha256"],
                    "content_type": item.get("content_type")
                    or "application/octet-stream",
                    "size": ref["size_bytes"],
                    "filename": item.get("filename"),
                }
            )
        return stored

    # Ingest ------------------------------------------------------------

    def ingest(
        self, form, actor, raw=None, raw_type="application/json", same_input=False
    ):
        """Validate, normalise and store one report form; returns the outcome.

        Raises ``Rejected`` when the form is invalid (the caller decides
        between an error to the sender and a quarantine entry). With
        ``same_input``, a known idempotency key sent with other bytes raises
        ``Conflict``: a caller's key names one submission, and answering
        "duplicate" would hide that the second report was never stored.
        """
        report = self.normalise(self.validate(form), actor)
        if raw is None:
            raw = json.dumps(
                form, ensure_ascii=False, default=str, sort_keys=True
            ).encode()
        report["raw"] = blobs.put(self.db, raw, raw_type)
        suggestion = self.rules.suggest(
            "\n".join(
                filter(
                    None,
                    [
                        report["title"],
                        main_text(report["content_items"], report["about"]),
                    ],
                )
            )
        )
        report["triage_suggestions"] = suggestion
        keys = report_keys(
            report["content_items"], main_text(report["content_items"], report["about"])
        )
        signature = self.near.signature(
            main_text(report["content_items"], report["about"])
        )

        try:
            return run_in_transaction(
                self.store, lambda tx: self._ingest(tx, report, keys, signature, actor)
            )
        except _Duplicate as duplicate:
            existing, stored = self._existing(report["idempotency_key"], duplicate)
        if same_input and stored and stored != report["raw"]["sha256"]:
            key = report["idempotency_key"]
            raise Conflict(
                f"idempotency key {key!r} was used for another report "
                f"({existing['report_id']}); send a new key for a new report",
                {"idempotency_key": "already used for another report"},
            )
        return existing

    def _ingest(self, tx, report, keys, signature, actor):
        report_id = new_id("rpt")
        key = report["idempotency_key"]
        if key:
            try:
                tx.db[IDEMPOTENCY].insert_one(
                    {
                        "_id": key,
                        "report_id": report_id,
                        "raw_sha256": report["raw"]["sha256"],
                        "at": utcnow(),
                    },
                    session=tx.session,
                )
            except DuplicateKeyError as exc:
                raise _Duplicate(key) from exc

        found = {
            doc["_id"]: doc["case_id"]
            for doc in tx.db[DEDUP_KEYS].find(
                {"_id": {"$in": keys}}, session=tx.session
            )
        }
        match = next((k for k in keys if k in found), None)
        if match is not None:
            return self._attach(
                tx, report, report_id, found[match], match, keys, found, actor
            )

        return self._open(tx, report, report_id, keys, signature, actor)

    def _attach(self, tx, report, report_id, case_id, match, keys, found, actor):
        case = tx.db[CASES].find_one({"_id": case_id}, session=tx.session)
        if case is None or case["state"] not in OPEN_STATES:
            # The key outlived its case (released late): take it over.
            tx.db[DEDUP_KEYS].delete_many({"case_id": case_id}, session=tx.session)
            raise _Retry()
        new_keys = [k for k in keys if k not in found]
        if new_keys:
            tx.db[DEDUP_KEYS].insert_many(
                [{"_id": k, "case_id": case_id} for k in new_keys], session=tx.session
            )
        new_urls = [
            item
            for item in report["content_items"]
            if item["canonical_url"]
            and item["canonical_url"] not in case.get("urls", [])
        ]
        classification = max_classification(
            case["classification"], report["classification"]
        )
        tx.db[CASES].update_one(
            {"_id": case_id},
            {
                "$inc": {"reports_count": 1},
                "$addToSet": {
                    "channels": report["channel"],
                    "reporters": _reporter_tag(report["reporter"]),
                    "urls": {"$each": [i["canonical_url"] for i in new_urls]},
                },
                "$push": {
                    "content_items": {"$each": [_event_item(i) for i in new_urls]}
                },
                "$set": {"updated_at": utcnow(), "classification": classification},
            },
            session=tx.session,
        )
        doc = self._report_doc(report, report_id, case_id, matched_by(match))
        tx.db[REPORTS].insert_one(doc, session=tx.session)
        self._emit_received(tx, doc, case_id, classification, actor)
        tx.emit(
            "case.report_attached",
            {
                "case_id": case_id,
                "report_id": report_id,
                "channel": report["channel"],
                "matched_by": matched_by(match),
                "reporter": _event_reporter(report["reporter"]),
                "reports_count": case.get("reports_count", 1) + 1,
            },
            case_id=case_id,
            classification=classification,
            actor=actor,
        )

        return {
            "outcome": ATTACHED,
            "report_id": report_id,
            "case_id": case_id,
            "matched_by": matched_by(match),
        }

    def _open(self, tx, report, report_id, keys, signature, actor):
        case_id = new_id("case")
        if keys:
            # The unique _id is what makes concurrent reports of the same
            # URL or text open one case: the loser's insert fails here.
            tx.db[DEDUP_KEYS].insert_many(
                [{"_id": k, "case_id": case_id} for k in keys], session=tx.session
            )
        suggestion = report["triage_suggestions"]
        categories = list(
            dict.fromkeys(report["suggested_categories"] + suggestion["categories"])
        )
        classification = report["classification"]
        if STATE_SECRETS in categories:
            # Suspected state secrets are handled as secret until an officer
            # triages the case (Art. 4: protect state secrets).
            classification = SECRET
        now = utcnow()
        bands = self.near.band_keys(signature) if signature else []
        case = {
            "_id": case_id,
            "state": RECEIVED,
            "state_at": now,
            "opened_at": now,
            "updated_at": now,
            "title": report["title"],
            "channel": report["channel"],
            "channels": [report["channel"]],
            "reporters": [_reporter_tag(report["reporter"])],
            "reports_count": 1,
            "first_report_id": report_id,
            "urls": [
                i["canonical_url"]
                for i in report["content_items"]
                if i["canonical_url"]
            ],
            "content_items": [_event_item(i) for i in report["content_items"]],
            "about": report["about"],
            "text_key": text_key(main_text(report["content_items"], report["about"])),
            "keys": keys,
            "suggested_categories": categories,
            "suggestions": suggestion["suggestions"],
            "suggested_sector": report["about"].get("sector") or suggestion["sector"],
            "suggested_locality": report["about"].get("locality")
            or suggestion["locality"],
            "fired_rules": suggestion["fired"],
            "incident": report["incident"],
            "classification": classification,
            "minhash": signature,
            "lsh": bands,
        }
        tx.db[CASES].insert_one(case, session=tx.session)
        doc = self._report_doc(report, report_id, case_id, None)
        tx.db[REPORTS].insert_one(doc, session=tx.session)
        self._emit_received(tx, doc, case_id, classification, actor)
        tx.emit(
            "case.opened",
            {
                "case_id": case_id,
                "report_id": report_id,
                "channel": report["channel"],
                "title": report["title"],
                "content_items": case["content_items"],
                "about": report["about"],
                "suggested_categories": categories,
                "suggestions": suggestion["suggestions"],
                "incident": report["incident"],
                "classification": classification,
                "severity": None,
                "state": RECEIVED,
                "previous_state": None,
            },
            case_id=case_id,
            classification=classification,
            actor=actor,
        )
        proposals = self._propose_merges(tx, case, actor) if bands else []

        return {
            "outcome": OPENED,
            "report_id": report_id,
            "case_id": case_id,
            "merge_proposals": proposals,
        }

    def _propose_merges(self, tx, case, actor):
        threshold = self.near.threshold
        candidates = (
            tx.db[CASES]
            .find(
                {
                    "lsh": {"$in": case["lsh"]},
                    "state": {"$in": sorted(OPEN_STATES)},
                    "_id": {"$ne": case["_id"]},
                },
                {"minhash": 1, "classification": 1},
                session=tx.session,
            )
            .limit(200)
        )
        scored = []
        for candidate in candidates:
            similarity = self.near.similarity(case["minhash"], candidate.get("minhash"))
            if similarity >= threshold:
                scored.append((similarity, candidate))
        scored.sort(key=lambda pair: -pair[0])
        proposals = []
        for similarity, candidate in scored[
            : self.settings["near_duplicate"]["max_proposals"]
        ]:
            proposal_id = new_id("merge")
            tx.db[MERGE_PROPOSALS].insert_one(
                {
                    "_id": proposal_id,
                    "pair": _pair(case["_id"], candidate["_id"]),
                    "case_id": case["_id"],
                    "candidate_case_id": candidate["_id"],
                    "similarity": round(similarity, 4),
                    "threshold": threshold,
                    "status": "proposed",
                    "proposed_at": utcnow(),
                },
                session=tx.session,
            )
            classification = max_classification(
                case["classification"], candidate["classification"]
            )
            tx.emit(
                "case.merge_proposed",
                {
                    "proposal_id": proposal_id,
                    "case_id": case["_id"],
                    "candidate_case_id": candidate["_id"],
                    "similarity": round(similarity, 4),
                    "threshold": threshold,
                },
                case_id=case["_id"],
                classification=classification,
                actor=actor,
            )
            proposals.append(
                {
                    "proposal_id": proposal_id,
                    "candidate_case_id": candidate["_id"],
                    "similarity": round(similarity, 4),
                }
            )
        return proposals

    def _report_doc(self, report, report_id, case_id, matched):
        return {
            "_id": report_id,
            **report,
            "case_id": case_id,
            "original_case_id": case_id,
            "matched_by": matched,
            "stored_at": utcnow(),
        }

    def _emit_received(self, tx, doc, case_id, classification, actor):
        tx.emit(
            "report.received",
            {
                "report_id": doc["_id"],
                "channel": doc["channel"],
                "received_at": doc["received_at"],
                "reporter": _event_reporter(doc["reporter"]),
                "content_items": [_event_item(i) for i in doc["content_items"]],
                "attachments": doc["attachments"],
                "about": doc["about"],
                "incident": doc["incident"],
                "classification": classification,
                "idempotency_key": doc["idempotency_key"],
            },
            case_id=case_id,
            classification=classification,
            actor=actor,
        )

    def _existing(self, key, duplicate):
        """What the key's first submission became, and the SHA-256 of the
        bytes it came with (None for keys stored before it was kept)."""
        record = self.db[IDEMPOTENCY].find_one({"_id": key}) or {}
        report = self.db[REPORTS].find_one(
            {"_id": record.get("report_id")}, {"case_id": 1}
        )
        answer = {
            "outcome": DUPLICATE,
            "report_id": record.get("report_id"),
            "case_id": (report or {}).get("case_id"),
            "idempotency_key": key,
        }
        return answer, record.get("raw_sha256")

    # Quarantine --------------------------------------------------------

    def quarantine(self, channel, raw, reason, fields, actor, key=None, context=None):
        """Keep an input that could not be read, with the exact reason.

        The same bytes on the same channel (or the same idempotency key)
        are quarantined once.
        """
        ref = blobs.put(self.db, raw)
        dedup = f"quarantine:{key}" if key else f"quarantine:{channel}:{ref['sha256']}"
        fields = {str(k): str(v)[:500] for k, v in (fields or {}).items()}

        def work(tx):
            quarantine_id = new_id("q")
            try:
                tx.db[IDEMPOTENCY].insert_one(
                    {"_id": dedup, "quarantine_id": quarantine_id, "at": utcnow()},
                    session=tx.session,
                )
            except DuplicateKeyError as exc:
                raise _Duplicate(dedup) from exc
            tx.db[QUARANTINE].insert_one(
                {
                    "_id": quarantine_id,
                    "channel": channel,
                    "reason": reason[:2000],
                    "fields": fields,
                    "raw_sha256": ref["sha256"],
                    "size_bytes": ref["size_bytes"],
                    "received_at": utcnow(),
                    "status": "open",
                    "idempotency_key": key,
                    "context": context or {},
                    "actor": actor,
                    "attempts": [],
                    "resubmitted_as": [],
                },
                session=tx.session,
            )
            tx.emit(
                "report.quarantined",
                {
                    "quarantine_id": quarantine_id,
                    "channel": channel,
                    "reason": reason[:2000],
                    "fields": fields,
                    "size_bytes": ref["size_bytes"],
                    "sha256": ref["sha256"],
                },
                actor=actor,
            )
            return quarantine_id

        try:
            quarantine_id = run_in_transaction(self.store, work)
            duplicate = False
        except _Duplicate:
            quarantine_id = (self.db[IDEMPOTENCY].find_one({"_id": dedup}) or {}).get(
                "quarantine_id"
            )
            duplicate = True
        log.info(
            "report_quarantined",
            channel=channel,
            quarantine_id=quarantine_id,
            reason=reason[:200],
            duplicate=duplicate,
        )

        return {
            "outcome": QUARANTINED,
            "quarantine_id": quarantine_id,
            "reason": reason,
            "fields": fields,
            "duplicate": duplicate,
        }

    def resubmitted(self, quarantine_id, actor, outcomes=None, failure=None):
        """Record a resubmission of a quarantined input and its result."""
        attempt = {"at": utcnow(), "actor": actor}
        update = {"$push": {"attempts": attempt}}
        if failure is not None:
            attempt.update({"outcome": "rejected", "reason": failure.reason})
            update["$set"] = {"reason": failure.reason, "fields": failure.fields}
        else:
            ids = [o.get("report_id") for o in outcomes if o.get("report_id")]
            attempt.update({"outcome": "accepted", "report_ids": ids})
            update["$set"] = {"status": "resubmitted"}
            update["$addToSet"] = {"resubmitted_as": {"$each": ids}}
        self.db[QUARANTINE].update_one({"_id": quarantine_id}, update)

    # Officer actions ---------------------------------------------------

    def confirm_merge(self, case_id, into_case_id, actor, reason=""):
        if case_id == into_case_id:
            raise ValidationError(
                "a case cannot be merged into itself",
                {"into_case_id": "must differ from case_id"},
            )

        def work(tx):
            case = self._case(tx, case_id)
            into = self._case(tx, into_case_id, "into_case_id")
            check_transition(case["state"], MERGED, case_id)
            if into["state"] not in OPEN_STATES:
                raise Conflict(
                    f"case {into_case_id} is {into['state']}, not open",
                    {"into_case_id": "must be an open case"},
                )
            proposal = tx.db[MERGE_PROPOSALS].find_one(
                {"pair": _pair(case_id, into_case_id), "status": "proposed"},
                session=tx.session,
            )
            now = utcnow()
            tx.db[CASES].update_one(
                {"_id": case_id},
                {
                    "$set": {
                        "state": MERGED,
                        "state_at": now,
                        "merged_into": into_case_id,
                        "updated_at": now,
                    }
                },
                session=tx.session,
            )
            moved = (
                tx.db[REPORTS]
                .update_many(
                    {"case_id": case_id},
                    {"$set": {"case_id": into_case_id}},
                    session=tx.session,
                )
                .modified_count
            )
            tx.db[DEDUP_KEYS].update_many(
                {"case_id": case_id},
                {"$set": {"case_id": into_case_id}},
                session=tx.session,
            )
            tx.db[CASES].update_one(
                {"_id": into_case_id},
                {
                    "$inc": {"reports_count": moved},
                    "$addToSet": {
                        "channels": {"$each": case.get("channels", [])},
                        "merged_from": case_id,
                    },
                    "$set": {
                        "updated_at": now,
                        "classification": max_classification(
                            case["classification"], into["classification"]
                        ),
                    },
                },
                session=tx.session,
            )
            tx.db[MERGE_PROPOSALS].update_many(
                {
                    "$or": [{"case_id": case_id}, {"candidate_case_id": case_id}],
                    "status": "proposed",
                },
                {
                    "$set": {
                        "status": "obsolete",
                        "decided_at": now,
                        "decided_by": actor,
                    }
                },
                session=tx.session,
            )
            if proposal:
                tx.db[MERGE_PROPOSALS].update_one(
                    {"_id": proposal["_id"]},
                    {
                        "$set": {
                            "status": "confirmed",
                            "decided_at": now,
                            "decided_by": actor,
                        }
                    },
                    session=tx.session,
                )
            classification = max_classification(
                case["classification"], into["classification"]
            )
            tx.emit(
                "case.merged",
                {
                    "case_id": case_id,
                    "into_case_id": into_case_id,
                    "proposal_id": proposal["_id"] if proposal else None,
                    "reason": reason or "",
                    "state": MERGED,
                    "previous_state": case["state"],
                },
                case_id=case_id,
                classification=classification,
                actor=actor,
            )
            return {
                "case_id": case_id,
                "into_case_id": into_case_id,
                "state": MERGED,
                "reports_moved": moved,
            }

        return run_in_transaction(self.store, work)

    def dismiss_merge(self, proposal_id, actor, reason=""):
        result = self.db[MERGE_PROPOSALS].update_one(
            {"_id": proposal_id, "status": "proposed"},
            {
                "$set": {
                    "status": "dismissed",
                    "decided_at": utcnow(),
                    "decided_by": actor,
                    "reason": reason,
                }
            },
        )
        if result.matched_count == 0:
            if self.db[MERGE_PROPOSALS].find_one({"_id": proposal_id}) is None:
                raise NotFound(
                    f"merge proposal {proposal_id} does not exist",
                    {"proposal_id": "unknown"},
                )
            raise Conflict(
                f"merge proposal {proposal_id} was already decided",
                {"proposal_id": "already decided"},
            )
        return {"proposal_id": proposal_id, "status": "dismissed"}

    def confirm_triage(self, case_id, triage, actor):
        categories = triage["categories"]
        classification = triage["classification"]
        if STATE_SECRETS in categories:
            classification = SECRET
        on = triage.get("posted_at") or utcnow()
        codes = self.catalogue.codes_for_categories(categories, on=on)

        def work(tx):
            case = self._case(tx, case_id)
            if case["state"] not in (RECEIVED, TRIAGED):
                check_transition(case["state"], TRIAGED, case_id)
            now = utcnow()
            record = {
                **triage,
                "classification": classification,
                "legal_basis_suggested": codes,
                "confirmed_by": actor,
                "confirmed_at": now,
            }
            tx.db[CASES].update_one(
                {"_id": case_id},
                {
                    "$set": {
                        "state": TRIAGED,
                        "state_at": now,
                        "updated_at": now,
                        "triage": record,
                        "classification": classification,
                        "incident": triage["incident"],
                    }
                },
                session=tx.session,
            )
            tx.emit(
                "case.triaged",
                {
                    "case_id": case_id,
                    "categories": categories,
                    "legal_basis_suggested": codes,
                    "sector": triage.get("sector"),
                    "locality": triage.get("locality"),
                    "incident": triage["incident"],
                    "journalists_involved": triage["journalists_involved"],
                    "severity": triage["severity"],
                    "classification": classification,
                    "posted_at": triage.get("posted_at"),
                    "state": TRIAGED,
                    "previous_state": case["state"],
                },
                case_id=case_id,
                classification=classification,
                actor=actor,
            )
            return {
                "case_id": case_id,
                "state": TRIAGED,
                "previous_state": case["state"],
                "classification": classification,
                "legal_basis_suggested": codes,
            }

        return run_in_transaction(self.store, work)

    def follow_state(self, case_id, state, occurred_at):
        """Follow a case's state from another service's event; release the
        case's dedup keys when it stops being open, take them back when it
        reopens (those no other case took meanwhile)."""

        def work(tx):
            case = tx.db[CASES].find_one({"_id": case_id}, session=tx.session)
            if case is None or case.get("state_at") and case["state_at"] > occurred_at:
                return None
            was_open = case["state"] in OPEN_STATES
            tx.db[CASES].update_one(
                {"_id": case_id},
                {"$set": {"state": state, "state_at": occurred_at}},
                session=tx.session,
            )
            if was_open and state not in OPEN_STATES:
                tx.db[DEDUP_KEYS].delete_many({"case_id": case_id}, session=tx.session)
            elif not was_open and state in OPEN_STATES:
                keys = case.get("keys") or []
                taken = {
                    d["_id"]
                    for d in tx.db[DEDUP_KEYS].find(
                        {"_id": {"$in": keys}}, session=tx.session
                    )
                }
                free = [k for k in keys if k not in taken]
                if free:
                    tx.db[DEDUP_KEYS].insert_many(
                        [{"_id": k, "case_id": case_id} for k in free],
                        session=tx.session,
                    )
            return state

        return run_in_transaction(self.store, work)

    def _case(self, tx, case_id, field="case_id"):
        case = tx.db[CASES].find_one({"_id": case_id}, session=tx.session)
        if case is None:
            raise NotFound(f"case {case_id} does not exist", {field: "unknown case"})
        return case


def main_text(items, about):
    """The text a report is compared by: the first captured text, else the
    free text of what it is about."""
    for item in items:
        if (item.get("captured_text") or "").strip():
            return item["captured_text"]
    return (about or {}).get("text") or ""


def parse_input(parser, data, reporter, **options):
    """Run a channel parser; a ``ParseError`` becomes ``Rejected``."""
    try:
        return parser(data, reporter=reporter, **options)
    except ParseError as exc:
        raise Rejected(exc.reason, exc.fields) from exc
    except RecursionError as exc:
        raise Rejected("the input is nested too deeply", {"input": "too deep"}) from exc


def _title(text, items):
    first = " ".join((text or "").split())
    if first:
        return first[:TITLE_CHARS] + ("…" if len(first) > TITLE_CHARS else "")
    for item in items:
        if item.get("canonical_url"):
            return item["canonical_url"][:TITLE_CHARS]
    return "(không có tiêu đề)"


def _pair(first, second):
    return "|".join(sorted((first, second)))


def _reporter_tag(reporter):
    if reporter.get("kind") == "agency":
        return f"agency:{reporter.get('agency')}"
    if reporter.get("organisation"):
        return f"partner:{reporter['organisation'][:100]}"
    return reporter.get("kind", "anonymous")


def _event_reporter(reporter):
    return {
        k: reporter.get(k)
        for k in ("kind", "agency", "officer", "organisation", "contact")
    }


def _event_item(item):
    return {
        "url": item.get("url"),
        "canonical_url": item.get("canonical_url"),
        "platform": item.get("platform"),
        "captured_text": item.get("captured_text") or "",
        "posted_at": item.get("posted_at"),
        "attachments": item.get("attachments") or [],
    }


def _lone_surrogate(value, path=""):
    """The path of the first text holding a lone surrogate, or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "input"
        return None
    if isinstance(value, dict):
        items = ((f"{path}.{key}" if path else str(key), v) for key, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{path}.{i}" if path else str(i), v) for i, v in enumerate(value))
    else:
        return None
    for where, item in items:
        found = _lone_surrogate(item, where)
        if found is not None:
            return found
    return None


def _flatten(messages, prefix=""):
    flat = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "input"] = "; ".join(messages)
    else:
        flat[prefix or "input"] = str(messages)
    return flat


def _summary(fields):
    parts = [f"{name}: {reason}" for name, reason in list(fields.items())[:5]]
    return "invalid report: " + "; ".join(parts)
