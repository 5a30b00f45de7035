"""The case state machine (DESIGN.md, The case), enforced in one place.

Every service that moves a case calls ``check_transition`` before it writes
the new state; an illegal move is refused with the current state and the
states that are allowed from it.
"""

from phoihop.errors import IllegalTransition

RECEIVED = "received"
TRIAGED = "triaged"
ASSIGNED = "assigned"
VERIFYING = "verifying"
APPRAISED = "appraised"
DECIDED = "decided"
HANDLING = "handling"
RESOLVED = "resolved"
CLOSED = "closed"
ESCALATED = "escalated"
REJECTED = "rejected"
MERGED = "merged"

MAIN_STATES = (
    RECEIVED,
    TRIAGED,
    ASSIGNED,
    VERIFYING,
    APPRAISED,
    DECIDED,
    HANDLING,
    RESOLVED,
    CLOSED,
)
SIDE_STATES = (ESCALATED, REJECTED, MERGED)
STATES = MAIN_STATES + SIDE_STATES

# Open cases take new reports (deduplication joins them); the others do not.
OPEN_STATES = frozenset(STATES) - {CLOSED, REJECTED, MERGED}

TRANSITIONS = {
    RECEIVED: {TRIAGED, MERGED, REJECTED},
    TRIAGED: {TRIAGED, ASSIGNED, MERGED, REJECTED},
    ASSIGNED: {ASSIGNED, VERIFYING, ESCALATED, REJECTED, MERGED},
    VERIFYING: {APPRAISED, ESCALATED, REJECTED},
    # Art. 4.2: an appraisal that finds no violation ends in ``rejected``.
    APPRAISED: {DECIDED, VERIFYING, ESCALATED, REJECTED},
    DECIDED: {HANDLING, ESCALATED},
    HANDLING: {RESOLVED, ESCALATED},
    RESOLVED: {CLOSED, HANDLING},
    # Reopening (with a reason) sends a case back to verification.
    CLOSED: {VERIFYING},
    # Art. 7.1.a/g/h: after the City People's Committee or the Ministry
    # answers, the case goes on where the outcome puts it.
    ESCALATED: {VERIFYING, DECIDED, HANDLING, CLOSED, REJECTED},
    REJECTED: {VERIFYING},
    MERGED: set(),
}

LABELS = {
    RECEIVED: ("Đã tiếp nhận", "Received"),
    TRIAGED: ("Đã phân loại", "Triaged"),
    ASSIGNED: ("Đã phân công", "Assigned"),
    VERIFYING: ("Đang xác minh", "Verifying"),
    APPRAISED: ("Đã thẩm định", "Appraised"),
    DECIDED: ("Đã quyết định xử lý", "Decided"),
    HANDLING: ("Đang xử lý", "Handling"),
    RESOLVED: ("Đã xử lý xong", "Resolved"),
    CLOSED: ("Đã đóng", "Closed"),
    ESCALATED: ("Đã báo cáo cấp trên", "Escalated"),
    REJECTED: ("Không vi phạm", "Rejected"),
    MERGED: ("Đã gộp", "Merged"),
}


def allowed_from(state):
    return sorted(TRANSITIONS.get(state, ()))


def is_open(state):
    return state in OPEN_STATES


def can_transition(current, target):
    return target in TRANSITIONS.get(current, ())


def check_transition(current, target, case_id=None):
    """Raise IllegalTransition unless ``current -> target`` is allowed."""
    if current not in TRANSITIONS:
        raise IllegalTransition(
            f"case {case_id or ''} is in unknown state {current!r}".replace("  ", " "),
            {"state": f"one of {', '.join(STATES)}"},
        )
    if not can_transition(current, target):
        allowed = allowed_from(current)
        raise IllegalTransition(
            f"case {case_id or ''} cannot go from {current!r} to {target!r}".replace(
                "  ", " "
            ),
            {
                "state": f"current state is {current!r}; allowed next: "
                + (", ".join(allowed) or "none")
            },
        )


def label(state, language="vi"):
    vi, en = LABELS[state]
    return en if language == "en" else vi
