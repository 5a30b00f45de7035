"""The press service: initial information within 2 hours, statements to the
press, and publication of handling results (Art. 7.6.d, 7.1.i, 7.7.c, 6.6).

When an incident case is assigned, the agency answerable for its sector or
locality owes city media initial information within 2 hours (Art. 7.6.d): a
durable clock starts, reminders go to the agency before it falls due, and
when it is missed the escalation goes to DIC. A statement is drafted from a
Vietnamese template, approved only by the issuing agency's spokesperson
(from the agency registry), and distributed to every press agency of the
registry through their adapters; each one's delivery is tracked. After a case
is resolved, DIC approves a results notice with the provisions applied and a
legal-education paragraph (Art. 6.6). Nothing classified leaves: a
classified case, or a draft repeating protected content, is refused.

RPC (mutating methods take ``actor`` = ``{"agency", "officer"}``)::

    draft_statement(case_id, kind, actor, content=None)
    update_draft(statement_id, changes, actor)
    approve_statement(statement_id, actor, revision=None)
    distribute_statement(statement_id, actor, recipients=None)
    confirm_delivery(statement_id, press_agency, actor, note="")
    draft_results_notice(case_id, actor, content=None)
    get_statement(statement_id)
    list_statements(case_id=None, agency=None, press_agency=None, kind=None,
                    status=None)
    initial_info_status(case_id)
    compliance(period)
    spokespersons(agency)

Request shapes are the schemas of ``services.press.schemas``.

Events emitted: ``press.initial_info_due``, ``press.initial_info_overdue``
(copied to DIC: the escalation), ``press.statement_drafted``,
``press.statement_approved``, ``press.statement_distributed`` and
``press.results_published`` (copied to each press agency),
``press.delivery_confirmed``; and, through ``phoihop.deadlines``,
``deadline.set/due_soon/overdue/met/cancelled`` of kind ``initial_info``.

Events handled: ``case.opened``, ``case.triaged``, ``case.assigned``,
``case.assignment_changed``, ``case.lead_transferred``, ``case.merged``,
``case.decided``, ``measure.reported``, ``case.resolved``, ``case.closed``,
``case.reopened`` (the case view), and ``deadline.overdue`` of its own
clocks (the escalation).
"""

from nameko.rpc import rpc
from pymongo import ASCENDING, DESCENDING

from phoihop.bus import subscribe
from phoihop.cases import CLOSED, RESOLVED
from phoihop.config import Config
from phoihop.deadlines import Deadlines
from phoihop.errors import (
    EXPECTED_ERRORS,
    Conflict,
    Forbidden,
    ValidationError,
)
from phoihop.i18n import t
from phoihop.logging import get_logger
from phoihop.service import ServiceBase
from phoihop.store import Store, utcnow
from services.press import casebook, records, review, statementbook
from services.press import clock as rules
from services.press.casebook import CASES, atomic, instant
from services.press.dependencies import Reference
from services.press.disclosure import fingerprint, stricter
from services.press.drafting import Drafter
from services.press.initial_info import (
    CLOCKS,
    DEADLINE_KIND,
    DEFAULT_DEADLINE_KINDS,
    InitialInfoClock,
)
from services.press.initial_info import (
    INDEXES as CLOCK_INDEXES,
)
from services.press.schemas import (
    ActorRequest,
    DistributeRequest,
    DraftRequest,
    PressSettings,
    ResultsDraftRequest,
    UpdateRequest,
    load_request,
)
from services.press.spokespersons import find_spokesperson
from services.press.statementbook import STATEMENTS
from services.press.statements import (
    APPROVED,
    DISTRIBUTED,
    DRAFT,
    INITIAL_INFO,
    OFFICIAL,
    RESULTS,
    render_footer,
    shorten,
)

log = get_logger(__name__)

INDEXES = {STATEMENTS: statementbook.INDEXES, CLOCKS: CLOCK_INDEXES}

NOTE_MAX_CHARS = 2000


def _officer(actor):
    return {"agency": actor["agency"], "officer": actor["officer"]}


class PressService(ServiceBase):
    name = "press"

    settings = Config(PressSettings)
    store = Store(indexes=INDEXES)
    deadlines = Deadlines(kinds=DEFAULT_DEADLINE_KINDS)
    reference = Reference()

    # Helpers ----------------------------------------------------------------

    @property
    def _lead(self):
        return self.reference.registry.lead.code

    @property
    def _refused_levels(self):
        return self.reference.settings["disclosure"]["refused_case_levels"]

    @property
    def _drafter(self):
        return Drafter(self.reference)

    @property
    def _clock(self):
        return InitialInfoClock(
            self.deadlines,
            self.reference.registry,
            self._refused_levels,
            self._prepare_draft,
        )

    def _actor(self, actor):
        loaded = load_request(ActorRequest, actor, "actor", "actor.")
        if loaded["agency"] not in self.reference.registry:
            raise ValidationError(
                "invalid actor", {"actor.agency": "not an agency of the registry"}
            )

        return loaded

    def _update_view(self, tx, event, changes, dated=()):
        return casebook.update(tx, event, changes, dated, self._refused_levels)

    def _level(self, view):
        """The classification of a statement's events before it is public."""
        return stricter("internal", view.get("classification"))

    def _check(self, doc, view):
        return review.review(self.reference, doc, view)

    def _started_at(self, view, fallback, tx=None):
        """When the case's clock started, or when it was assigned: the time
        an initial-information statement refers to."""
        if tx is None:
            current = self._clock.get(self.store.db, view["_id"])
        else:
            current = self._clock.get(tx.db, view["_id"], tx.session)

        return (current or {}).get("started_at") or view.get("assigned_at") or fallback

    # The case view, from the case's events -------------------------------------

    @subscribe("case.opened")
    def handle_case_opened(self, event):
        """Keep the facts a statement may use: title and summary (never for
        a classified case), and hashes of the captured text (see
        ``disclosure``), never the text itself."""
        payload = event["payload"]
        level = stricter(payload["classification"], event["classification"])

        def work(tx):
            key = casebook.ensure(tx, event["case_id"])["key"]
            items = [
                {"index": index, "fingerprint": found}
                for index, item in enumerate(payload["content_items"])
                if (found := fingerprint(item.get("captured_text"), key))
            ]
            about = payload.get("about") or {}
            changes = {
                "opened_at": event["occurred_at"],
                "items": items,
                "classification": level,
                "sector": about.get("sector"),
                "locality": about.get("locality"),
                "incident": payload["incident"],
            }
            if level not in self._refused_levels:
                changes["title"] = payload["title"]
                changes["summary"] = shorten(about.get("text") or "")
            view = self._update_view(
                tx,
                event,
                changes,
                dated=("classification", "sector", "locality", "incident"),
            )
            self._clock.draft_if_missing(tx, view)
            return len(items)

        items = atomic(self.store, work)
        log.info("case_facts_received", case_id=event["case_id"], fingerprinted=items)

    @subscribe("case.triaged")
    def handle_case_triaged(self, event):
        payload = event["payload"]
        changes = {
            "classification": payload["classification"],
            "sector": payload.get("sector"),
            "locality": payload.get("locality"),
            "incident": payload["incident"],
            "categories": payload["categories"],
            "posted_at": instant(payload.get("posted_at")),
            "state": payload["state"],
        }
        atomic(
            self.store,
            lambda tx: self._update_view(tx, event, changes, dated=tuple(changes)),
        )

    @subscribe("case.decided")
    def handle_case_decided(self, event):
        payload = event["payload"]
        changes = {
            "decision": {
                "decision_id": payload["decision_id"],
                "legal_basis": payload["legal_basis"],
                "measures": payload["measures"],
                "summary": payload.get("summary") or "",
                "decided_at": event["occurred_at"],
            },
            "state": payload["state"],
        }
        atomic(
            self.store,
            lambda tx: self._update_view(tx, event, changes, dated=tuple(changes)),
        )

    @subscribe("measure.reported")
    def handle_measure_reported(self, event):
        payload = event["payload"]
        measure_id = payload["measure_id"]

        def work(tx):
            view = casebook.get(tx.db, event["case_id"], tx.session)
            known = (view.get("results") or {}).get(measure_id) or {}
            changes = {}
            if known.get("revision", 0) < payload["revision"]:
                changes[f"results.{measure_id}"] = {
                    "result": payload["result"],
                    "revision": payload["revision"],
                }
            self._update_view(tx, event, changes)

        atomic(self.store, work)

    @subscribe("case.resolved", "case.closed", "case.reopened")
    def handle_case_resolved(self, event):
        payload = event["payload"]
        changes = {"state": payload["state"]}
        if payload["state"] == RESOLVED:
            changes["resolved_at"] = event["occurred_at"]
            changes["resolved_results"] = payload["results"]
        atomic(
            self.store,
            lambda tx: self._update_view(tx, event, changes, dated=("state",)),
        )

    # The 2-hour clock (Art. 7.6.d) --------------------------------------------

    @subscribe("case.assigned", "case.assignment_changed", "case.lead_transferred")
    def handle_case_assigned(self, event):
        """Start the clock of an incident case, or move it when the agency
        that owes the information changes."""
        payload = event["payload"]
        changes = {
            "agencies": [item["agency"] for item in payload["agencies"]],
            "lead": payload.get("lead") or payload.get("to_agency"),
        }
        if event["type"] == "case.assigned":
            changes.update(
                sector=payload.get("sector"),
                locality=payload.get("locality"),
                incident=payload["incident"],
                responsible_agencies=payload["responsible_agencies"],
                state=payload["state"],
            )

        def work(tx):
            view = self._update_view(tx, event, changes, dated=tuple(changes))
            if event["type"] == "case.assigned" and not view.get("assigned_at"):
                tx.db[CASES].update_one(
                    {"_id": event["case_id"]},
                    {"$set": {"assigned_at": event["occurred_at"]}},
                    session=tx.session,
                )
                view["assigned_at"] = event["occurred_at"]
            return self._clock.follow(tx, event, view)

        outcome = atomic(self.store, work)
        if outcome:
            log.info("initial_info_clock", case_id=event["case_id"], **outcome)

    @subscribe("case.merged")
    def handle_case_merged(self, event):
        payload = event["payload"]

        def work(tx):
            self._update_view(tx, event, {"state": payload["state"]}, dated=("state",))
            self._clock.stop_running(
                tx,
                event["case_id"],
                rules.CANCELLED,
                f"the case was merged into {payload['into_case_id']}",
            )

        atomic(self.store, work)

    @subscribe("deadline.overdue")
    def handle_deadline_overdue(self, event):
        """Escalate a missed 2-hour clock to DIC (Art. 7.6.d, Art. 7.1)."""
        payload = event["payload"]
        if payload.get("service") != self.name or payload["kind"] != DEADLINE_KIND:
            return
        case_id = payload["subject"]["id"]
        agency = atomic(
            self.store, lambda tx: self._clock.escalate(tx, case_id, payload)
        )
        if agency:
            log.warning(
                "initial_info_overdue_escalated",
                case_id=case_id,
                agency=agency,
                escalated_to=self._lead,
            )

    def _prepare_draft(self, tx, case_id, agency, view, started):
        """A first draft of the initial information, ready when the clock
        starts, so the agency only adds its position and first measures."""
        drafter = self._drafter
        values = drafter.values(view, agency, started, {})
        title, body = drafter.draft(INITIAL_INFO, values)
        inputs = {"facts": values["facts"], "leadership_position": None}
        doc = statementbook.create(
            tx,
            case_id,
            INITIAL_INFO,
            agency,
            title,
            body,
            {**inputs, "first_measures": []},
            {"agency": agency, "officer": None},
            self._level(view),
        )

        return doc["_id"]

    # Drafting ---------------------------------------------------------------

    def _check_case_agency(self, view, agency):
        if agency == self._lead or agency in (view.get("agencies") or []):
            return
        raise Forbidden(
            t(
                f"{agency} không được phân công xử lý vụ việc {view['_id']}",
                f"{agency} is not assigned to case {view['_id']}",
            ),
            {"agency": "not among the agencies assigned to the case"},
        )

    def _check_may_edit(self, actor, doc):
        allowed = {
            doc["agency"],
            self._lead,
            (doc.get("drafted_by") or {}).get("agency"),
        }
        if actor["agency"] not in allowed:
            raise Forbidden(
                t(
                    f"chỉ {doc['agency']} hoặc Sở TT&TT được sửa thông cáo này",
                    f"only {doc['agency']} or DIC may change this statement",
                ),
                {"actor.agency": "not the issuing agency"},
            )

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def draft_statement(self, case_id, kind, actor, content=None):
        """Draft an initial-information or official statement from its
        template, with the case facts, the leadership position and the
        first measures; returns the statement and its review."""
        actor = self._actor(actor)
        if kind not in (INITIAL_INFO, OFFICIAL):
            raise ValidationError(
                "invalid statement kind",
                {
                    "kind": f"one of {INITIAL_INFO}, {OFFICIAL}; a results notice "
                    "is drafted with draft_results_notice"
                },
            )
        content = load_request(DraftRequest, content, "statement draft", "content.")
        view = casebook.require(self.store.db, case_id)
        current = self._clock.get(self.store.db, case_id)
        agency = content.get("agency")
        if agency is None and kind == INITIAL_INFO and current:
            agency = current["agency"]
        agency = agency or actor["agency"]
        if agency not in self.reference.registry:
            raise ValidationError(
                "invalid statement draft", {"content.agency": "not in the registry"}
            )
        if actor["agency"] not in (agency, self._lead):
            raise Forbidden(
                t(
                    "chỉ cơ quan phát ngôn hoặc Sở TT&TT được soạn thông cáo",
                    "only the issuing agency or DIC may draft its statement",
                ),
                {"actor.agency": f"not {agency}"},
            )
        self._check_case_agency(view, agency)

        drafter = self._drafter
        values = drafter.values(view, agency, self._started_at(view, utcnow()), content)
        title, body = drafter.draft(kind, values)
        inputs = {
            "facts": content.get("facts") or values["facts"],
            "leadership_position": content.get("leadership_position"),
            "first_measures": content.get("first_measures") or [],
            "body_edited": bool(content.get("body")),
        }
        doc = atomic(
            self.store,
            lambda tx: statementbook.create(
                tx,
                case_id,
                kind,
                agency,
                content.get("title") or title,
                content.get("body") or body,
                inputs,
                _officer(actor),
                self._level(view),
            ),
        )
        log.info(
            "statement_drafted",
            statement_id=doc["_id"],
            case_id=case_id,
            kind=kind,
            agency=agency,
        )

        return records.statement(doc, self._check(doc, view))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def update_draft(self, statement_id, changes, actor):
        """Change a draft; an approved one goes back to draft and needs
        approval again. A distributed statement cannot change."""
        actor = self._actor(actor)
        changes = load_request(UpdateRequest, changes, "statement changes", "changes.")

        def work(tx):
            doc = statementbook.get(tx.db, statement_id, tx.session)
            self._check_may_edit(actor, doc)
            if doc["status"] == DISTRIBUTED:
                raise Conflict(
                    t(
                        "thông cáo đã phát hành, không sửa được; "
                        "hãy soạn thông cáo mới",
                        "the statement was distributed and cannot change; "
                        "draft a new one",
                    ),
                    {"status": DISTRIBUTED},
                )
            if changes.get("revision") not in (None, doc["revision"]):
                raise Conflict(
                    t("thông cáo đã có bản sửa mới hơn", "a newer revision exists"),
                    {"revision": f"current revision is {doc['revision']}"},
                )
            return self._apply_changes(tx, doc, changes, actor)

        doc = atomic(self.store, work)
        view = casebook.get(self.store.db, doc["case_id"])

        return records.statement(doc, self._check(doc, view))

    def _apply_changes(self, tx, doc, changes, actor):
        view = casebook.get(tx.db, doc["case_id"], tx.session)
        inputs = dict(doc.get("inputs") or {})
        redraw = False
        for field in ("facts", "leadership_position", "first_measures"):
            if field in changes:
                inputs[field] = changes[field]
                redraw = True
        body = changes.get("body")
        if body is None and redraw:
            if doc.get("body_edited"):
                raise Conflict(
                    t(
                        "nội dung thông cáo đã được sửa tay; hãy gửi kèm nội dung mới",
                        "the body was edited by hand; "
                        "send the new body with the change",
                    ),
                    {"changes.body": "required once the body was edited by hand"},
                )
            started = self._started_at(view, doc["drafted_at"], tx)
            body = self._drafter.redraw(
                doc["kind"], view, doc["agency"], started, inputs
            )
        by = _officer(actor)
        updated = statementbook.write(
            tx,
            doc,
            {
                "title": changes.get("title") or doc["title"],
                "body": body if body is not None else doc["body"],
                "body_edited": doc.get("body_edited", False)
                or changes.get("body") is not None,
                "inputs": inputs,
                "revision": doc["revision"] + 1,
                "status": DRAFT,
                "updated_by": by,
                "approved_by": None,
                "approved_at": None,
                "footer": "",
            },
            "updated",
            by,
        )
        statementbook.emit(
            tx,
            "press.statement_drafted",
            updated,
            by,
            self._level(view),
            title=updated["title"],
        )

        return updated

    # Approval and distribution (Art. 7.6.d, Art. 4) ----------------------------

    def _refuse(self, doc, actor, reasons, error):
        """Record a refusal on the statement, then raise ``error``."""
        statementbook.record_refusal(self.store.db, doc, _officer(actor), reasons)
        log.warning(
            "statement_refused",
            statement_id=doc["_id"],
            case_id=doc["case_id"],
            fields=sorted(reasons),
        )
        raise error

    def _check_disclosure(self, doc, actor, view, refused_message):
        result = self._check(doc, view)
        reasons = review.disclosure_reasons(result)
        if reasons:
            self._refuse(doc, actor, reasons, Forbidden(refused_message, reasons))

        return result

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def approve_statement(self, statement_id, actor, revision=None):
        """The issuing agency's spokesperson approves the statement; it is
        refused if the case is classified, if it repeats protected content,
        or if a blank of the template is still unfilled."""
        actor = self._actor(actor)
        doc = statementbook.get(self.store.db, statement_id)
        if doc["status"] != DRAFT:
            raise Conflict(
                t(
                    f"thông cáo đang ở trạng thái {doc['status']}, không duyệt được",
                    f"the statement is {doc['status']}; only a draft is approved",
                ),
                {"status": doc["status"]},
            )
        if revision is not None and revision != doc["revision"]:
            raise Conflict(
                t("thông cáo đã có bản sửa mới hơn", "a newer revision exists"),
                {"revision": f"current revision is {doc['revision']}"},
            )
        if actor["agency"] != doc["agency"]:
            raise Forbidden(
                t(
                    f"thông cáo của {doc['agency']} do người phát ngôn của "
                    f"{doc['agency']} duyệt (Điều 7.6.d)",
                    f"a statement of {doc['agency']} is approved by its own "
                    "spokesperson (Art. 7.6.d)",
                ),
                {"actor.agency": f"must be {doc['agency']}"},
            )
        person = find_spokesperson(
            self.reference.registry, doc["agency"], actor["officer"]
        )

        view = casebook.get(self.store.db, doc["case_id"])
        result = self._check_disclosure(
            doc,
            actor,
            view,
            t(
                "không duyệt: thông cáo có thể làm lộ thông tin mật",
                "refused: the statement could disclose classified information",
            ),
        )
        if result["unfilled"]:
            reasons = review.blank_reasons(result)
            self._refuse(
                doc,
                actor,
                reasons,
                ValidationError(
                    t(
                        "không duyệt: thông cáo còn nội dung chưa điền",
                        "refused: the statement still has blanks to fill",
                    ),
                    reasons,
                ),
            )

        now = utcnow()
        by = _officer(actor)
        footer = render_footer(
            self.reference.templates,
            doc["kind"],
            self._drafter.footer_values(doc["agency"], person, now),
        )

        def work(tx):
            approved = statementbook.write(
                tx,
                doc,
                {
                    "status": APPROVED,
                    "approved_by": by,
                    "approved_at": now,
                    "footer": footer,
                    "updated_at": now,
                },
                "approved",
                by,
            )
            statementbook.emit(
                tx,
                "press.statement_approved",
                approved,
                by,
                self._level(view),
                approved_by=by,
                approved_at=now,
            )
            return approved

        approved = atomic(self.store, work)
        log.info("statement_approved", statement_id=statement_id, agency=doc["agency"])

        return records.statement(approved, self._check(approved, view))

    def _recipients(self, requested):
        press = [agency.code for agency in self.reference.registry.press_agencies()]
        if not requested:
            if not press:
                raise Conflict(
                    t(
                        "danh mục cơ quan không có cơ quan báo chí nào",
                        "the agency registry lists no press agency",
                    ),
                    {"recipients": "none in the registry"},
                )
            return press
        wrong = {
            f"recipients[{index}]": "not a press agency of the registry"
            for index, code in enumerate(requested)
            if code not in press
        }
        if wrong:
            raise ValidationError("invalid recipients", wrong)

        return list(dict.fromkeys(requested))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def distribute_statement(self, statement_id, actor, recipients=None):
        """Send an approved statement to the press agencies (every one of the
        registry unless named); stops the 2-hour clock for initial
        information and records whether it came in time."""
        actor = self._actor(actor)
        requested = load_request(
            DistributeRequest, {"recipients": recipients}, "distribution"
        )["recipients"]
        recipients = self._recipients(requested)
        doc = statementbook.get(self.store.db, statement_id)
        if actor["agency"] not in (doc["agency"], self._lead):
            raise Forbidden(
                t(
                    f"chỉ {doc['agency']} hoặc Sở TT&TT được phát hành thông cáo này",
                    f"only {doc['agency']} or DIC may distribute this statement",
                ),
                {"actor.agency": "not the issuing agency"},
            )
        if doc["status"] != APPROVED:
            draft = doc["status"] == DRAFT
            raise Conflict(
                t(
                    "thông cáo phải được người phát ngôn duyệt trước khi phát hành"
                    if draft
                    else "thông cáo đã được phát hành",
                    "the statement must be approved by the spokesperson first"
                    if draft
                    else "the statement was already distributed",
                ),
                {"status": doc["status"]},
            )
        # The case may have been classified since approval: check again.
        self._check_disclosure(
            doc,
            actor,
            casebook.get(self.store.db, doc["case_id"]),
            t(
                "không phát hành: thông cáo có thể làm lộ thông tin mật",
                "refused: the statement could disclose classified information",
            ),
        )
        by = _officer(actor)
        sent = atomic(
            self.store, lambda tx: self._distribute(tx, statement_id, recipients, by)
        )
        log.info(
            "statement_distributed",
            statement_id=statement_id,
            case_id=sent["case_id"],
            kind=sent["kind"],
            recipients=len(recipients),
            on_time=(sent.get("initial_info") or {}).get("on_time"),
        )

        return records.statement(sent)

    def _distribute(self, tx, statement_id, recipients, by):
        doc = statementbook.get(tx.db, statement_id, tx.session)
        if doc["status"] != APPROVED:
            raise Conflict(
                t(
                    "thông cáo đã được phát hành",
                    "the statement was already distributed",
                ),
                {"status": doc["status"]},
            )
        now = utcnow()
        changes = {
            "status": DISTRIBUTED,
            "distributed_at": now,
            "distributed_by": by,
            "recipients": recipients,
            "deliveries": {
                code: {"sent_at": now, "confirmed_at": None} for code in recipients
            },
            "updated_at": now,
        }
        if doc["kind"] == INITIAL_INFO:
            changes["initial_info"] = self._clock.give(tx, doc, recipients, by, now)
        sent = statementbook.write(tx, doc, changes, "distributed", by)

        # The per-agency copies (agency.press-hp.press.statement_distributed,
        # ...) are what each press agency's adapter delivers.
        footer = sent.get("footer")
        statementbook.emit(
            tx,
            "press.statement_distributed",
            sent,
            by,
            "public",
            agencies=recipients,
            case_id=sent["case_id"],
            agency_name=self._drafter.agency_name(sent["agency"]),
            title=sent["title"],
            body=sent["body"] + (f"\n\n{footer}" if footer else ""),
            approved_by=sent["approved_by"],
            approved_at=sent["approved_at"],
            distributed_at=now,
            legal_basis=sent.get("legal_basis") or [],
            initial_info=changes.get("initial_info"),
        )
        if sent["kind"] == RESULTS:
            tx.emit(
                "press.results_published",
                {
                    "statement_id": sent["_id"],
                    "legal_basis": sent.get("legal_basis") or [],
                    "recipients": recipients,
                    "published_at": now,
                },
                case_id=sent["case_id"],
                agencies=[*recipients, self._lead],
                classification="public",
                actor=by,
            )

        return sent

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def confirm_delivery(self, statement_id, press_agency, actor, note=""):
        """A press agency (or DIC on its word) confirms it received the
        statement; confirming twice changes nothing."""
        actor = self._actor(actor)
        if actor["agency"] not in (press_agency, self._lead):
            raise Forbidden(
                t(
                    f"chỉ {press_agency} hoặc Sở TT&TT xác nhận được việc nhận",
                    f"only {press_agency} or DIC may confirm its delivery",
                ),
                {"actor.agency": f"not {press_agency}"},
            )
        note = "" if note is None else note
        if not isinstance(note, str) or len(note) > NOTE_MAX_CHARS:
            raise ValidationError(
                "invalid note", {"note": f"text of at most {NOTE_MAX_CHARS} characters"}
            )
        by = _officer(actor)

        def work(tx):
            doc = statementbook.get(tx.db, statement_id, tx.session)
            if doc["status"] != DISTRIBUTED:
                raise Conflict(
                    t(
                        "thông cáo chưa được phát hành",
                        "the statement was not distributed",
                    ),
                    {"status": doc["status"]},
                )
            delivery = (doc.get("deliveries") or {}).get(press_agency)
            if delivery is None:
                raise ValidationError(
                    t("cơ quan này không nhận thông cáo", "not a recipient"),
                    {"press_agency": "not among the statement's recipients"},
                )
            if delivery.get("confirmed_at"):
                return doc
            now = utcnow()
            key = f"deliveries.{press_agency}"
            tx.db[STATEMENTS].update_one(
                {"_id": statement_id, f"{key}.confirmed_at": None},
                {
                    "$set": {
                        f"{key}.confirmed_at": now,
                        f"{key}.confirmed_by": by,
                        f"{key}.note": note,
                    }
                },
                session=tx.session,
            )
            tx.emit(
                "press.delivery_confirmed",
                {
                    "statement_id": statement_id,
                    "press_agency": press_agency,
                    "confirmed_at": now,
                    "confirmed_by": by,
                    "note": note,
                },
                case_id=doc["case_id"],
                agencies=[doc["agency"]],
                classification="public",
                actor=by,
            )
            return statementbook.get(tx.db, statement_id, tx.session)

        return records.statement(atomic(self.store, work))

    # Results notices (Art. 6.6) ---------------------------------------------

    def _check_resolved(self, view):
        if view.get("state") not in (RESOLVED, CLOSED) or not view.get("resolved_at"):
            raise Conflict(
                t(
                    "vụ việc chưa xử lý xong; chỉ thông báo kết quả sau khi xử lý xong",
                    "the case is not resolved yet; results are published after it is",
                ),
                {"state": view.get("state") or "unknown"},
            )
        if not view.get("decision"):
            raise Conflict(
                t(
                    "chưa nhận được quyết định xử lý của vụ việc",
                    "the handling decision of the case has not arrived",
                ),
                {"decision": "missing"},
            )
        known = len(view.get("results") or {})
        reported = sum((view.get("resolved_results") or {}).values())
        if known < reported:
            # The resolution counts results this service has not received
            # yet; a notice now would show measures as still under way.
            raise Conflict(
                t(
                    "kết quả xử lý của các biện pháp đang được cập nhật; "
                    "hãy thử lại sau ít phút",
                    "the handling results are still arriving; try again shortly",
                ),
                {"results": f"{known} of {reported}"},
            )

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def draft_results_notice(self, case_id, actor, content=None):
        """Draft the results notice of a resolved case for the press: what was
        handled, under which provision, with legal education (Art. 6.6);
        DIC issues it and DIC's spokesperson approves it."""
        actor = self._actor(actor)
        content = load_request(
            ResultsDraftRequest, content, "results notice", "content."
        )
        view = casebook.require(self.store.db, case_id)
        self._check_case_agency(view, actor["agency"])
        self._check_resolved(view)
        drafter = self._drafter
        codes = drafter.cited_codes(view)
        values = drafter.results_values(view, self._lead, content)
        title, body = drafter.draft(RESULTS, values)

        def work(tx):
            in_progress = tx.db[STATEMENTS].find_one(
                {
                    "case_id": case_id,
                    "kind": RESULTS,
                    "status": {"$in": [DRAFT, APPROVED]},
                },
                session=tx.session,
            )
            if in_progress:
                raise Conflict(
                    t(
                        f"đã có thông báo kết quả đang soạn: {in_progress['_id']}",
                        "a results notice is already in progress: "
                        f"{in_progress['_id']}",
                    ),
                    {"statement_id": in_progress["_id"]},
                )
            return statementbook.create(
                tx,
                case_id,
                RESULTS,
                self._lead,
                content.get("title") or title,
                content.get("body") or body,
                {"facts": values["facts"], "body_edited": bool(content.get("body"))},
                _officer(actor),
                self._level(view),
                legal_basis=codes,
            )

        doc = atomic(self.store, work)
        checks = self._check(doc, view)
        posted_at = view.get("posted_at")
        if posted_at and codes:
            # Codes not in force when the content was posted are shown to
            # the drafter; the decision that cited them was checked too.
            checks["legal_basis"] = [
                problem.to_dict()
                for problem in self.reference.catalogue.check(codes, posted_at)
            ]

        return records.statement(doc, checks)

    # Reading ----------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_statement(self, statement_id):
        """One statement, with its review while it has not gone out."""
        doc = statementbook.get(self.store.db, statement_id)
        checks = None
        if doc["status"] != DISTRIBUTED:
            checks = self._check(doc, casebook.get(self.store.db, doc["case_id"]))

        return records.statement(doc, checks)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_statements(
        self, case_id=None, agency=None, press_agency=None, kind=None, status=None
    ):
        """Statements of a case, issued by an agency, or sent to a press
        agency; newest first."""
        query = {}
        if case_id:
            query["case_id"] = case_id
        if agency:
            query["agency"] = agency
        if press_agency:
            query["recipients"] = press_agency
        if not query:
            raise ValidationError(
                "say whose statements",
                {"case_id": "give case_id, agency or press_agency"},
            )
        if kind:
            query["kind"] = kind
        if status:
            query["status"] = status
        cursor = (
            self.store.db[STATEMENTS]
            .find(query)
            .sort("drafted_at", DESCENDING)
            .limit(self.reference.settings["list_limit"])
        )

        return [records.statement_summary(doc) for doc in cursor]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def initial_info_status(self, case_id):
        """The 2-hour clock of a case: who owes it, due when, reminders,
        and when the information was given and to whom."""
        view = casebook.require(self.store.db, case_id)
        current = self._clock.get(self.store.db, case_id)
        if current is None:
            return {
                "case_id": case_id,
                "status": "none",
                "incident": bool(view.get("incident")),
                "assigned_at": records.iso(view.get("assigned_at")),
            }
        deadline = None
        if current.get("deadline_id"):
            deadline = self.deadlines.get(current["deadline_id"])
        statements = (
            self.store.db[STATEMENTS]
            .find({"case_id": case_id, "kind": INITIAL_INFO})
            .sort("drafted_at", ASCENDING)
        )

        return records.clock(current, deadline, list(statements))

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def compliance(self, period):
        """On-time, late and missing initial information for the clocks
        that fell due in ``period`` (see ``clock.parse_period``); exempt
        clocks have no due time and count by their start."""
        start, end = rules.parse_period(period)
        clocks = self.store.db[CLOCKS]
        counted = [
            *clocks.find({"due_at": {"$gte": start, "$lt": end}}),
            *clocks.find(
                {"status": rules.EXEMPT, "started_at": {"$gte": start, "$lt": end}}
            ),
        ]

        return rules.compliance_report(counted, start, end, utcnow())

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def spokespersons(self, agency):
        """Who may speak for ``agency`` (Art. 7.6.d), from the registry."""
        registry = self.reference.registry
        return [person.to_dict() for person in registry.spokespersons(agency)]
