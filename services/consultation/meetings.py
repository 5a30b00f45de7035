"""Meetings (Art. 5.2.a): DIC convenes the agencies to agree on checking,
verifying and appraising the content and on the handling plan.

A meeting goes convened -> held (attendance recorded) -> minutes recorded ->
minutes approved. Minutes may be corrected until they are approved; only
approved minutes count towards an appraisal, and they cannot change after.
"""

import uuid

from pymongo import ASCENDING, IndexModel

from phoihop.cases import VERIFYING
from phoihop.errors import Conflict, NotFound, ValidationError
from phoihop.i18n import local_time, t
from phoihop.logging import get_logger

from . import rules

log = get_logger(__name__)

MEETINGS = "meetings"
CONVENED = "convened"
HELD = "held"
MINUTES_RECORDED = "minutes_recorded"
APPROVED = "approved"

INDEXES = {
    MEETINGS: [
        IndexModel([("case_id", ASCENDING), ("starts_at", ASCENDING)], name="case"),
        IndexModel([("invited", ASCENDING), ("state", ASCENDING)], name="invited"),
    ],
}


def new_meeting_id():
    return f"meeting-{uuid.uuid4().hex[:16]}"


class Meetings:
    """Convening meetings and recording what they agreed, in a transaction."""

    def __init__(self, cases, reference, clock):
        self.cases = cases
        self.reference = reference
        self.clock = clock

    def get(self, db, meeting_id, session=None):
        found = db[MEETINGS].find_one({"_id": meeting_id}, session=session)
        if found is None:
            raise NotFound(
                t(
                    f"không có cuộc họp {meeting_id}",
                    f"there is no meeting {meeting_id}",
                ),
                {"meeting_id": "unknown meeting"},
            )
        return found

    def convene(self, tx, case_id, data, actor):
        case = self.cases.load(tx, case_id)
        self._require_lead(actor, case, ("triệu tập cuộc họp", "convene a meeting"))
        self._check_invited(data)

        meeting_id = new_meeting_id()
        now = self.clock()
        doc = {
            "_id": meeting_id,
            "case_id": case_id,
            "cycle": case.get("cycle", 1),
            "agenda": data["agenda"],
            "starts_at": data["starts_at"],
            "place": data.get("place"),
            "link": data.get("link"),
            "invited": data["invited"],
            "officers": data["officers"],
            "state": CONVENED,
            "convened_at": now,
            "convened_by": actor,
            "attendance": [],
            "minutes": None,
            "conclusions": [],
            "minutes_revision": 0,
        }
        tx.db[MEETINGS].insert_one(doc, session=tx.session)
        self.cases.move(
            tx,
            case,
            VERIFYING,
            "meeting.convened",
            {
                "meeting_id": meeting_id,
                "agenda": data["agenda"],
                "starts_at": data["starts_at"],
                "place": data.get("place"),
                "link": data.get("link"),
                "invited": data["invited"],
                "officers": data["officers"],
                "cycle": doc["cycle"],
            },
            actor=actor,
            agencies=data["invited"],
            allow_stay=True,
        )
        log.info("meeting_convened", case_id=case_id, meeting_id=meeting_id)

        return doc

    def _check_invited(self, data):
        registry = self.reference.registry
        errors = {
            f"invited[{index}]": f"{agency} is not an agency in the registry"
            for index, agency in enumerate(data["invited"])
            if not registry.is_active(agency)
        }
        for index, officer in enumerate(data["officers"]):
            if officer["agency"] not in data["invited"] + [self.reference.lead]:
                errors[f"officers[{index}].agency"] = "not an invited agency"
        if errors:
            raise ValidationError(
                t("giấy mời họp không hợp lệ", "the meeting invitation is not valid"),
                errors,
            )

    def record_attendance(self, tx, meeting_id, data, actor):
        doc, case = self._load_for_change(tx, meeting_id, actor)
        allowed = set(doc["invited"]) | {self.reference.lead, case.get("lead")}
        errors = {
            f"attendance[{index}].agency": "not invited to this meeting"
            for index, entry in enumerate(data["attendance"])
            if entry["agency"] not in allowed
        }
        if errors:
            raise ValidationError(
                t("danh sách dự họp không hợp lệ", "the attendance list is not valid"),
                errors,
            )

        state = doc["state"] if doc["state"] != CONVENED else HELD
        self._write(tx, doc, {"attendance": data["attendance"], "state": state})
        self.cases.update(tx, case)

        return doc

    def record_minutes(self, tx, meeting_id, data, actor):
        doc, case = self._load_for_change(tx, meeting_id, actor)
        if self.clock() < doc["starts_at"]:
            raise Conflict(
                t(
                    f"cuộc họp {meeting_id} bắt đầu lúc {local_time(doc['starts_at'])};"
                    " chưa thể ghi biên bản",
                    f"meeting {meeting_id} starts at {doc['starts_at'].isoformat()}; "
                    "minutes can be recorded once it has started",
                ),
                {"meeting_id": "meeting not started"},
            )

        self._write(
            tx,
            doc,
            {
                "minutes": data["minutes"],
                "conclusions": data["conclusions"],
                "minutes_revision": doc["minutes_revision"] + 1,
                "minutes_recorded_at": self.clock(),
                "minutes_recorded_by": actor,
                "state": MINUTES_RECORDED,
            },
        )
        self.cases.update(tx, case)

        return doc

    def approve_minutes(self, tx, meeting_id, actor):
        doc, case = self._load_for_change(tx, meeting_id, actor)
        if doc["minutes"] is None:
            raise Conflict(
                t(
                    f"cuộc họp {meeting_id} chưa có biên bản để phê duyệt",
                    f"meeting {meeting_id} has no minutes to approve yet",
                ),
                {"minutes": "record the minutes first"},
            )
        if not any(entry["present"] for entry in doc["attendance"]):
            raise Conflict(
                t(
                    f"cuộc họp {meeting_id} chưa ghi danh sách dự họp",
                    f"meeting {meeting_id} has no attendance recorded",
                ),
                {"attendance": "record who attended first"},
            )

        now = self.clock()
        self._write(
            tx, doc, {"state": APPROVED, "approved_at": now, "approved_by": actor}
        )
        self.cases.update(tx, case)
        self.cases.emit(
            tx,
            case,
            "meeting.minutes_approved",
            {
                "meeting_id": meeting_id,
                "attendance": doc["attendance"],
                "conclusions": doc["conclusions"],
                "approved_by": actor,
            },
            actor=actor,
            agencies=doc["invited"],
        )
        log.info("minutes_approved", meeting_id=meeting_id)

        return doc

    def _load_for_change(self, tx, meeting_id, actor):
        doc = self.get(tx.db, meeting_id, tx.session)
        case = self.cases.load(tx, doc["case_id"])
        self._require_lead(actor, case, ("ghi nhận cuộc họp", "record a meeting"))
        if doc["state"] == APPROVED:
            raise Conflict(
                t(
                    f"biên bản cuộc họp {meeting_id} đã được phê duyệt lúc "
                    f"{local_time(doc['approved_at'])}; không thể sửa",
                    f"the minutes of meeting {meeting_id} were approved at "
                    f"{doc['approved_at'].isoformat()} and can no longer change",
                ),
                {"meeting_id": "minutes approved"},
            )

        return doc, case

    def _write(self, tx, doc, changes):
        tx.db[MEETINGS].update_one(
            {"_id": doc["_id"]}, {"$set": changes}, session=tx.session
        )
        doc.update(changes)

    def _require_lead(self, actor, case, action):
        rules.require_lead(actor, case, action, self.reference.lead)

    def for_case(self, db, case_id):
        return list(
            db[MEETINGS].find({"case_id": case_id}).sort("starts_at", ASCENDING)
        )
