"""The DIC officer's playbook: the steps a case goes through, over RPC.

The demo and the end-to-end tests walk cases with the same steps an officer
takes in the dashboard or the CLI: confirm the triage, open a written round
or convene a meeting, appraise, decide, close; escalate when a case is
beyond DIC's authority. The other agencies' part (opinions, handling
results, delivery confirmations) is played by their built-in adapters in
``auto_answer`` mode, through the public API, as a real agency's systems
would. Each wait polls the owning service and gives up with a clear error.
"""

import time
from dataclasses import dataclass, field

from phoihop.errors import NotFound, PhoihopError

DIC_OFFICER = {"agency": "dic", "officer": "Nguyễn Văn An (Thanh tra Sở)"}


class StepTimeout(PhoihopError):
    """Raised when a case does not reach the awaited point in time."""

    code = "step_timeout"


def wait_until(what, probe, timeout=60.0, interval=0.3):
    """Call ``probe`` until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = probe()
        except NotFound as exc:
            value, last_error = None, exc
        if value:
            return value
        time.sleep(interval)
    detail = f" (last answer: {last_error})" if last_error else ""
    raise StepTimeout(f"timed out waiting for {what}{detail}")


@dataclass
class Walk:
    """What happened to one case on its way, for the summary."""

    case_id: str
    scenario: str
    steps: list = field(default_factory=list)
    state: str = ""

    def note(self, step):
        self.steps.append(step)


class Playbook:
    """Officer actions over a nameko RPC proxy (``ClusterRpcProxy``)."""

    def __init__(self, rpc, actor=DIC_OFFICER, timeout=90.0):
        self.rpc = rpc
        self.actor = actor
        self.timeout = timeout

    # Triage and assignment ---------------------------------------------

    def triage(
        self,
        case_id,
        categories,
        *,
        sector=None,
        locality=None,
        incident=False,
        journalists_involved=False,
        severity="medium",
        classification="internal",
        posted_at=None,
    ):
        """Confirm the triage (an officer's decision, never automatic)."""
        return self.rpc.intake.confirm_triage(
            case_id,
            categories,
            sector,
            locality,
            incident,
            journalists_involved,
            severity,
            classification,
            posted_at,
            self.actor,
        )

    def assignments(self, case_id):
        """Wait for routing's assignment of a triaged case."""
        return wait_until(
            f"the assignment of {case_id}",
            lambda: self.rpc.routing.get_assignments(case_id),
            self.timeout,
        )

    def consultation_case(self, case_id, state=None):
        """Wait until consultation knows the case (in ``state`` if given)."""

        def probe():
            case = self.rpc.consultation.get_case(case_id, self.actor)
            if state is None or case.get("state") == state:
                return case
            return None

        return wait_until(
            f"case {case_id} in consultation ({state})", probe, self.timeout
        )

    @staticmethod
    def coordinating(assignment):
        return [
            item["agency"]
            for item in assignment.get("agencies", [])
            if item.get("role") != "lead"
        ]

    # Verification: a written round or a meeting (Art. 5.2) --------------

    def written_round(self, case_id, invited, question):
        """Open a round; the invited agencies' adapters answer; wait for the
        round to close."""
        self.consultation_case(case_id, "assigned")
        opened = self.rpc.consultation.open_round(
            case_id, {"question": question, "invited": invited}, self.actor
        )
        round_id = opened["consultation_id"]

        def closed():
            found = self.rpc.consultation.get_round(round_id, self.actor)
            return found if found.get("state") == "closed" else None

        return wait_until(f"the round {round_id} to close", closed, self.timeout)

    def meeting(
        self, case_id, invited, agenda, minutes, conclusions, starts_at, wait_start=0
    ):
        """Convene a meeting, record who came, the minutes, approve them."""
        self.consultation_case(case_id, "assigned")
        meeting = self.rpc.consultation.convene_meeting(
            case_id,
            {
                "agenda": agenda,
                "invited": invited,
                "starts_at": starts_at,
                "place": "Phòng họp Sở Thông tin và Truyền thông Hải Phòng",
            },
            self.actor,
        )
        meeting_id = meeting["meeting_id"]
        time.sleep(wait_start)
        attendance = [
            {"agency": code, "officer": f"Cán bộ đầu mối ({code})", "present": True}
            for code in ["dic", *invited]
        ]
        self.rpc.consultation.record_attendance(
            meeting_id, {"attendance": attendance}, self.actor
        )
        self.rpc.consultation.record_minutes(
            meeting_id, {"minutes": minutes, "conclusions": conclusions}, self.actor
        )
        return self.rpc.consultation.approve_minutes(meeting_id, self.actor)

    # Appraisal, decision, results ----------------------------------------

    def appraise(
        self, case_id, outcome, legal_basis, consideration, *, reason="", posted_at=None
    ):
        request = {
            "outcome": outcome,
            "legal_basis": legal_basis,
            "art_4_2_consideration": consideration,
            "reason": reason,
        }
        if posted_at:
            request["posted_at"] = posted_at
        return self.rpc.consultation.appraise(case_id, request, self.actor)

    def decide(self, case_id, measures, summary=""):
        return self.rpc.consultation.decide(
            case_id, {"measures": measures, "summary": summary}, self.actor
        )

    def report_own_results(self, case_id, decision, note="Đã thực hiện"):
        """Report the results of the measures given to the officer's own
        agency (Art. 7.6.c)."""
        for measure in decision.get("measures", []):
            if measure["agency"] != self.actor["agency"]:
                continue
            self.rpc.consultation.report_result(
                case_id,
                measure["measure_id"],
                {"result": "done", "evidence": [{"description": note}]},
                self.actor,
            )

    def wait_state(self, case_id, state):
        return self.consultation_case(case_id, state)

    def close(self, case_id, reason="Đã xử lý xong theo kế hoạch"):
        return self.rpc.consultation.close_case(case_id, reason, self.actor)

    # Escalation (Art. 7.1.a, 7.1.g, 7.1.h) -------------------------------

    def escalate(self, case_id, to, reason, article=None):
        return self.rpc.routing.escalate(case_id, to, reason, self.actor, article)

    def answer_escalation(self, escalation_id, outcome, next_state, note=""):
        return self.rpc.routing.answer_escalation(
            escalation_id, outcome, next_state, self.actor, note
        )
