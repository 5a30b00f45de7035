"""Scripted case lifecycles: synthetic events that follow the producers'
contracts, for the reporting service's tests and benchmarks.

Each case follows one of the paths a real case takes (docs/events.md): a
scam handled and closed after a written round, an incident with the 2-hour
initial information given on time or late, content rejected under Art.
4.2, an escalation to the City People's Committee, a classified case,
a duplicate merged into another, and cases still open. The same seed gives
the same events, ids included, so a run can be compared with a rebuild.

``simulate(count, start, days)`` returns ``SimEvent`` objects sorted by the
time they occurred; ``envelope`` is what a producer's outbox would hold and
``agencies`` the per-agency copies it would publish.
"""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, timedelta

PATHS = (
    "scam",
    "incident",
    "rejected",
    "scam",
    "escalated",
    "incident_late",
    "classified",
    "in_progress",
    "scam",
    "merged",
)

CHANNELS = ("api", "email", "sms", "phone", "edxml", "post", "adapter")
LOCALITIES = ("local-le-chan", "local-ngo-quyen", "local-hong-bang", "local-hai-an")
SECTORS = {
    "dept-health": "health",
    "dept-education": "education",
    "dept-transport": "transport",
}
PRESS = ("press-hp", "press-thp", "portal")

TITLES = {
    "scam": "Trang giả mạo ngân hàng lừa đảo chiếm đoạt tài sản",
    "incident": "Tin sai sự thật về sự cố ngộ độc thực phẩm tại trường học",
    "incident_late": "Thông tin bịa đặt về tai nạn giao thông nghiêm trọng",
    "rejected": "Bài viết phản ánh chậm giải quyết thủ tục hành chính",
    "escalated": "Nội dung kích động gây rối trật tự công cộng",
    "classified": "Nội dung làm lộ tài liệu mật của cơ quan nhà nước",
    "in_progress": "Tài khoản mạng xã hội mạo danh lãnh đạo thành phố",
    "merged": "Trang giả mạo ngân hàng (báo cáo trùng)",
}

CATEGORIES = {
    "scam": ["fraud_scam", "impersonation"],
    "incident": ["false_information"],
    "incident_late": ["false_information", "economic_false_info"],
    "rejected": ["defamation"],
    "escalated": ["public_disorder_incitement"],
    "classified": ["state_secrets"],
    "in_progress": ["impersonation"],
    "merged": ["fraud_scam"],
}

LEGAL = {
    "scam": ["CYBER2018-18.1.b"],
    "incident": ["PRESS2016-9.8"],
    "incident_late": ["CYBER2018-8.1.d"],
    "escalated": ["CYBER2018-16.2"],
    "classified": ["CYBER2018-17.1"],
}

DIFFICULTIES = (
    "Nền tảng xuyên biên giới chậm phản hồi yêu cầu gỡ bỏ nội dung.",
    "Chưa xác định được chủ tài khoản do đăng ký bằng thông tin giả.",
    "Thiếu cán bộ có chuyên môn về an ninh mạng tại đơn vị.",
)


@dataclass
class SimEvent:
    envelope: dict
    agencies: tuple = field(default_factory=tuple)

    @property
    def occurred_at(self):
        return self.envelope["occurred_at"]


def _iso(moment):
    return moment.astimezone(UTC).isoformat()


class CaseScript:
    """The events of one case, in the order they occur."""

    def __init__(self, rng, index, path, opened_at, previous_case=None):
        self.rng = rng
        self.index = index
        self.path = path
        self.now = opened_at
        self.case_id = f"HP-{opened_at:%Y%m%d}-{index:06d}"
        self.correlation = self._id()
        self.previous_case = previous_case
        self.classification = "secret" if path == "classified" else "public"
        self.events = []
        self.state = None
        sector_agency = rng.choice(sorted(SECTORS))
        self.sector_agency = sector_agency
        self.sector = SECTORS[sector_agency]
        self.locality = rng.choice(LOCALITIES)

    def _id(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def later(self, minutes_low, minutes_high):
        self.now = self.now + timedelta(
            minutes=self.rng.uniform(minutes_low, minutes_high)
        )
        return self.now

    def emit(self, kind, payload, actor="dic", agencies=(), moves=None):
        if moves is not None:
            payload = {**payload, "state": moves, "previous_state": self.state}
            self.state = moves
        envelope = {
            "id": self._id(),
            "type": kind,
            "version": 1,
            "occurred_at": _iso(self.now),
            "case_id": self.case_id,
            "actor": {"agency": actor, "officer": f"can-bo-{actor}"},
            "correlation_id": self.correlation,
            "causation_id": None,
            "classification": self.classification,
            "payload": payload,
        }
        self.events.append(SimEvent(envelope, tuple(agencies)))

    # Steps ------------------------------------------------------------

    def open(self):
        channel = self.rng.choice(CHANNELS)
        report_id = f"R-{self._id()[:12]}"
        incident = self.path in ("incident", "incident_late")
        about = {
            "sector": self.sector,
            "locality": self.locality,
            "text": "Phản ánh của người dân",
        }
        items = [
            {
                "url": f"https://social.example/post/{self.index}",
                "canonical_url": f"https://social.example/post/{self.index}",
                "platform": "facebook",
                "captured_text": "Nội dung được ghi nhận khi tiếp nhận",
                "posted_at": _iso(self.now - timedelta(hours=3)),
                "attachments": [],
            }
        ]
        self.emit(
            "report.received",
            {
                "report_id": report_id,
                "channel": channel,
                "received_at": _iso(self.now),
                "reporter": {"kind": "citizen"},
                "content_items": items,
                "attachments": [],
                "about": about,
                "incident": incident,
                "classification": self.classification,
            },
            actor="dic",
        )
        self.later(0.01, 0.05)
        self.emit(
            "case.opened",
            {
                "case_id": self.case_id,
                "report_id": report_id,
                "channel": channel,
                "title": f"{TITLES[self.path]} (vụ {self.index})",
                "content_items": items,
                "about": about,
                "suggested_categories": CATEGORIES[self.path][:1],
                "suggestions": [],
                "incident": incident,
                "classification": self.classification,
                "severity": "high" if incident else "medium",
            },
            moves="received",
        )
        if self.rng.random() < 0.2:
            self.later(5, 60)
            self.emit(
                "case.report_attached",
                {
                    "case_id": self.case_id,
                    "report_id": f"R-{self._id()[:12]}",
                    "channel": self.rng.choice(CHANNELS),
                    "matched_by": "url",
                    "reports_count": 2,
                },
            )

    def triage(self):
        self.later(10, 90)
        self.emit(
            "case.triaged",
            {
                "case_id": self.case_id,
                "categories": CATEGORIES[self.path],
                "legal_basis_suggested": LEGAL.get(self.path, []),
                "sector": self.sector,
                "locality": self.locality,
                "incident": self.path in ("incident", "incident_late"),
                "journalists_involved": False,
                "severity": "high",
                "classification": self.classification,
                "posted_at": _iso(self.now - timedelta(hours=4)),
            },
            moves="triaged",
        )

    def assign(self):
        self.later(0.1, 2)
        coordinating = {
            "scam": ["police"],
            "incident": [self.sector_agency, self.locality],
            "incident_late": [self.sector_agency],
            "rejected": ["journalists"],
            "escalated": ["police", "internal_affairs"],
            "classified": ["police"],
            "in_progress": ["police"],
        }.get(self.path, [])
        agencies = [
            {"agency": "dic", "role": "lead", "rule": "lead", "article": "7.1.a"}
        ]
        agencies += [
            {
                "agency": code,
                "role": "coordinating",
                "rule": "category",
                "article": "7.2",
            }
            for code in coordinating
        ]
        self.agencies = ["dic", *coordinating]
        responsible = [self.sector_agency] if self.path.startswith("incident") else []
        self.emit(
            "case.assigned",
            {
                "lead": "dic",
                "agencies": agencies,
                "responsible_agencies": responsible,
                "categories": CATEGORIES[self.path],
                "sector": self.sector,
                "locality": self.locality,
                "incident": self.path.startswith("incident"),
                "journalists_involved": False,
                "severity": "high",
                "flags": [],
            },
            actor="dic",
            agencies=self.agencies,
            moves="assigned",
        )

    def deadline(self, kind, owner, hours, outcome, article=""):
        """A deadline set now; ``outcome`` met, late, overdue or open."""
        deadline_id = f"DL-{self._id()[:16]}"
        started = self.now
        due = started + timedelta(hours=hours)
        common = {
            "deadline_id": deadline_id,
            "kind": kind,
            "owner_agency": owner,
            "due_at": _iso(due),
            "subject": {"type": "case", "id": self.case_id},
            "severity": "high",
            "article": article,
            "service": "routing",
            "classification": "internal",
        }
        self.emit(
            "deadline.set",
            {**common, "started_at": _iso(started), "working_days": False},
            agencies=[owner],
        )
        return deadline_id, started, due, common

    def settle(self, common, due, outcome):
        if outcome == "met":
            self.emit(
                "deadline.met",
                {**common, "met_at": _iso(self.now), "late": self.now > due},
                agencies=[common["owner_agency"]],
            )
        elif outcome == "overdue":
            saved = self.now
            self.now = due
            self.emit(
                "deadline.overdue",
                {**common, "fired_at": _iso(due)},
                agencies=[common["owner_agency"]],
            )
            self.now = max(saved, due)

    def initial_info(self, late):
        owner = self.sector_agency
        deadline_id, started, due, common = self.deadline(
            "initial_info", owner, 2, "met", article="7.6.d"
        )
        self.emit(
            "press.initial_info_due",
            {
                "deadline_id": deadline_id,
                "statement_id": None,
                "agency": owner,
                "started_at": _iso(started),
                "due_at": _iso(due),
                "limit_minutes": 120.0,
                "reminders_minutes_before": [60.0, 30.0],
                "article": "7.6.d",
            },
            actor="press",
            agencies=[owner, "dic"],
        )
        statement_id = f"ST-{self._id()[:12]}"
        if late:
            self.now = due
            self.emit(
                "deadline.overdue", {**common, "fired_at": _iso(due)}, agencies=[owner]
            )
            self.emit(
                "press.initial_info_overdue",
                {
                    "deadline_id": deadline_id,
                    "agency": owner,
                    "started_at": _iso(started),
                    "due_at": _iso(due),
                    "escalated_to": "dic",
                    "drafts": [],
                    "article": "7.6.d",
                },
                actor="press",
                agencies=["dic"],
            )
            self.later(30, 90)
        else:
            self.later(20, 80)
        ref = {
            "statement_id": statement_id,
            "kind": "initial_info",
            "agency": owner,
            "recipients": list(PRESS),
            "revision": 1,
        }
        self.emit(
            "press.statement_drafted",
            {**ref, "title": "Thông tin ban đầu"},
            actor=owner,
        )
        self.later(5, 15)
        approver = {"agency": owner, "officer": "nguoi-phat-ngon"}
        approved_at = _iso(self.now)
        self.emit(
            "press.statement_approved",
            {**ref, "approved_by": approver, "approved_at": approved_at},
            actor=owner,
        )
        self.later(1, 5)
        on_time = self.now <= due
        self.emit(
            "press.statement_distributed",
            {
                **ref,
                "case_id": self.case_id,
                "agency_name": owner,
                "title": "Thông tin ban đầu về sự việc",
                "body": "Lãnh đạo đơn vị đã chỉ đạo xác minh, xử lý.",
                "approved_by": approver,
                "approved_at": approved_at,
                "distributed_at": _iso(self.now),
                "legal_basis": [],
                "initial_info": {
                    "deadline_id": deadline_id,
                    "started_at": _iso(started),
                    "due_at": _iso(due),
                    "given_at": _iso(self.now),
                    "on_time": on_time,
                    "minutes": (self.now - started).total_seconds() / 60,
                },
            },
            actor=owner,
            agencies=list(PRESS),
        )
        if on_time:
            self.emit(
                "deadline.met",
                {**common, "met_at": _iso(self.now), "late": False},
                agencies=[owner],
            )

    def written_round(self, invited, dissent=False):
        self.later(30, 240)
        consultation_id = f"C-{self._id()[:12]}"
        due = self.now + timedelta(days=2)
        question = "Đề nghị cho ý kiến về nội dung vi phạm"
        self.emit(
            "consultation.opened",
            {
                "consultation_id": consultation_id,
                "mode": "written",
                "question": question,
                "invited": invited,
                "due_at": _iso(due),
                "cycle": 1,
            },
            moves="verifying",
        )
        for agency in invited:
            self.emit(
                "consultation.opinion_requested",
                {
                    "consultation_id": consultation_id,
                    "agency": agency,
                    "question": question,
                    "due_at": _iso(due),
                },
                agencies=[agency],
            )
        tally = {"agree": 0, "disagree": 0, "abstain": 0, "missing": 0}
        for position_index, agency in enumerate(invited):
            self.later(60, 600)
            position = "disagree" if dissent and position_index == 0 else "agree"
            tally[position] += 1
            self.emit(
                "consultation.opinion_submitted",
                {
                    "consultation_id": consultation_id,
                    "agency": agency,
                    "position": position,
                    "reasoning": "Ý kiến của cơ quan",
                    "legal_basis": LEGAL.get(self.path, []),
                    "attachments": [],
                    "revision": 1,
                    "late": False,
                },
                actor=agency,
            )
        self.later(1, 10)
        self.emit(
            "consultation.closed",
            {
                "consultation_id": consultation_id,
                "reason": "all_answered",
                "tally": tally,
                "outcome": "agreed" if not dissent else "split",
                "dissent": [],
                "missing": [],
                "legal_basis_proposed": {},
            },
        )

    def meeting(self, invited):
        self.later(30, 180)
        meeting_id = f"M-{self._id()[:12]}"
        self.emit(
            "meeting.convened",
            {
                "meeting_id": meeting_id,
                "agenda": ["Thẩm định nội dung"],
                "starts_at": _iso(self.now + timedelta(hours=4)),
                "place": "Phòng họp Sở",
                "link": None,
                "invited": invited,
                "officers": [],
                "cycle": 1,
            },
            moves="verifying",
        )
        self.later(240, 300)
        self.emit(
            "meeting.minutes_approved",
            {
                "meeting_id": meeting_id,
                "attendance": [
                    {
                        "agency": agency,
                        "officer": f"can-bo-{agency}",
                        "present": True,
                        "role": "",
                    }
                    for agency in invited
                ],
                "conclusions": ["Nội dung có dấu hiệu vi phạm"],
                "approved_by": {"agency": "dic", "officer": "lanh-dao"},
            },
        )

    def appraise(self, outcome):
        self.later(30, 300)
        self.appraisal_id = f"A-{self._id()[:12]}"
        self.emit(
            "case.appraised",
            {
                "appraisal_id": self.appraisal_id,
                "outcome": outcome,
                "legal_basis": LEGAL.get(self.path, [])
                if outcome == "violates"
                else [],
                "art_4_2_consideration": "Không cản trở quyền tự do ngôn luận",
                "appraised_by": {"agency": "dic", "officer": "thanh-tra"},
                "posted_at": None,
                "summary": "",
            },
            moves="appraised",
        )

    def decide(self, measures):
        self.later(60, 600)
        decision_id = f"D-{self._id()[:12]}"
        planned = []
        for kind, agency in measures:
            item = {
                "measure_id": f"MS-{self._id()[:12]}",
                "kind": kind,
                "agency": agency,
                "due_at": _iso(self.now + timedelta(days=3)),
                "sanction_code": None,
                "target": "platform" if kind == "removal_request" else None,
            }
            if kind == "sanction_proposal":
                item["sanction_code"] = "D15-101.1.a"
            planned.append(item)
        self.emit(
            "case.decided",
            {
                "decision_id": decision_id,
                "legal_basis": LEGAL.get(self.path, ["X"]),
                "measures": planned,
                "summary": "",
                "appraisal_id": self.appraisal_id,
            },
            moves="decided",
        )
        for item in planned:
            self.emit(
                "measure.assigned",
                {
                    "measure_id": item["measure_id"],
                    "decision_id": decision_id,
                    "kind": item["kind"],
                    "agency": item["agency"],
                    "due_at": item["due_at"],
                    "sanction_code": item["sanction_code"],
                    "target": item["target"],
                    "platform": None,
                    "description": "",
                    "legal_basis": [],
                },
                agencies=[item["agency"]],
                moves="handling",
            )
        return decision_id, planned

    def report_results(self, decision_id, planned, with_difficulty):
        counts = {"done": 0, "partly_done": 0, "not_possible": 0}
        for position, item in enumerate(planned):
            self.later(120, 2000)
            result = (
                "done" if position == 0 or self.rng.random() < 0.6 else "partly_done"
            )
            counts[result] += 1
            difficulty = ""
            if with_difficulty and position == len(planned) - 1:
                difficulty = DIFFICULTIES[self.index % len(DIFFICULTIES)]
            self.emit(
                "measure.reported",
                {
                    "measure_id": item["measure_id"],
                    "decision_id": decision_id,
                    "kind": item["kind"],
                    "agency": item["agency"],
                    "result": result,
                    "evidence": [
                        {"description": "Biên bản", "url": None, "attachment": None}
                    ],
                    "note": "" if result == "done" else "Thực hiện một phần",
                    "difficulties": difficulty,
                    "revision": 1,
                    "late": False,
                },
                actor=item["agency"],
            )
        self.later(10, 60)
        self.emit(
            "case.resolved",
            {"reason": "", "decision_id": decision_id, "results": counts},
            moves="resolved",
        )

    def close(self):
        self.later(60, 1440)
        self.emit("case.closed", {"reason": "Đã xử lý xong"}, moves="closed")

    # Paths ------------------------------------------------------------

    def play(self):
        self.open()
        path = self.path
        if path == "merged" and self.previous_case:
            self.later(30, 120)
            self.emit(
                "case.merged",
                {
                    "case_id": self.case_id,
                    "into_case_id": self.previous_case,
                    "proposal_id": None,
                    "reason": "Trùng nội dung",
                },
                moves="merged",
            )
            return self.events
        self.triage()
        self.assign()
        if path in ("scam", "classified"):
            deadline_id, _, due, common = self.deadline(
                "verification", "dic", 72, "met"
            )
            self.written_round(
                self.agencies[1:] or ["police"], dissent=self.index % 3 == 0
            )
            self.appraise("violates")
            self.settle(common, due, "met" if self.index % 4 else "overdue")
            decision_id, planned = self.decide(
                [("removal_request", "dic"), ("police_referral", "police")]
            )
            self.report_results(
                decision_id, planned, with_difficulty=(self.index // 10) % 3 == 0
            )
            if path == "scam":
                self.close()
        elif path in ("incident", "incident_late"):
            self.initial_info(late=path == "incident_late")
            self.meeting(self.agencies)
            self.appraise("violates")
            decision_id, planned = self.decide(
                [("rebuttal", self.sector_agency), ("official_information", "dic")]
            )
            self.report_results(decision_id, planned, with_difficulty=True)
            self.later(30, 120)
            self.emit(
                "press.results_published",
                {
                    "statement_id": f"ST-{self._id()[:12]}",
                    "legal_basis": LEGAL[path],
                    "recipients": list(PRESS),
                    "published_at": _iso(self.now),
                },
                actor="press",
                agencies=list(PRESS),
            )
        elif path == "rejected":
            self.written_round(["journalists"])
            self.appraise("does_not_violate")
            self.later(5, 30)
            self.emit(
                "case.rejected",
                {
                    "reason": "Phản ánh chính đáng, không phải thông tin xấu, độc",
                    "appraisal_id": self.appraisal_id,
                },
                moves="rejected",
            )
        elif path == "escalated":
            self.written_round(["police"])
            self.later(60, 300)
            escalation_id = f"E-{self._id()[:12]}"
            self.emit(
                "case.escalated",
                {
                    "escalation_id": escalation_id,
                    "to": "city",
                    "reason": "Vượt thẩm quyền xử lý của Sở",
                    "article": "7.1.h",
                    "due_at": None,
                },
                agencies=["city"],
                moves="escalated",
            )
            if (self.index // 10) % 2 == 0:
                self.later(600, 2000)
                self.emit(
                    "case.escalation_answered",
                    {
                        "escalation_id": escalation_id,
                        "to": "city",
                        "outcome": "directed",
                        "note": "",
                        "next_state": "verifying",
                    },
                    actor="city",
                    moves="verifying",
                )
        elif path == "in_progress":
            deadline_id, _, due, common = self.deadline(
                "verification", "dic", 24, "open"
            )
            self.written_round(["police"])
            if self.index % 2:
                self.settle(common, due, "overdue")

        return self.events


def simulate(count, start, days=28, seed=7, first_index=0):
    """Events of ``count`` cases opened over ``days`` from ``start``."""
    rng = random.Random(seed)
    span = days * 24 * 3600
    events = []
    previous = None
    for index in range(first_index, first_index + count):
        path = PATHS[index % len(PATHS)]
        opened = start + timedelta(seconds=rng.uniform(0, span))
        script = CaseScript(rng, index, path, opened, previous_case=previous)
        events.extend(script.play())
        if path != "merged":
            previous = script.case_id
    events.sort(key=lambda item: item.envelope["occurred_at"])

    return events


def start_of_month(year, month):
    """Midnight of the first day of a month in Hai Phong, in UTC."""
    from .periods import local_midnight_utc, month_period

    return local_midnight_utc(month_period(year, month).first)
