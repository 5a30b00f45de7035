"""The two commissions of the City Party Committee, Art. 7.4 and 7.5.

The Propaganda and Education Commission (Ban Tuyên giáo Thành ủy) leads the
orientation of information and rebuttals on sensitive issues and joins
appraisal; it also sees the statements sent to the press about its cases.
The Internal Affairs Commission (Ban Nội chính Thành ủy) handles political
security, internal affairs, the judiciary and anti-corruption and joins
appraisal. Both are "requested" parties: they answer DIC's requests.
"""

from phoihop.adapters import handles
from services.adapters.builtin.common import CoordinatingAdapter


class PropagandaAdapter(CoordinatingAdapter):
    """Ban Tuyên giáo Thành ủy (Art. 7.4)."""

    agency = "propaganda"
    description = "Propaganda and Education Commission, Art. 7.4: orientation"

    @handles(
        "case.assigned",
        "case.assignment_changed",
        "meeting.convened",
        "case.appraised",
        "case.decided",
        "press.statement_distributed",
        "deadline.due_soon",
        "deadline.overdue",
    )
    def on_case(self, event):
        self.notify(event)


class InternalAffairsAdapter(CoordinatingAdapter):
    """Ban Nội chính Thành ủy (Art. 7.5)."""

    agency = "internal_affairs"
    description = "Internal Affairs Commission, Art. 7.5: security, anti-corruption"

    @handles(
        "case.assigned",
        "case.assignment_changed",
        "case.lead_transferred",
        "meeting.convened",
        "case.appraised",
        "case.decided",
        "case.closed",
        "deadline.due_soon",
        "deadline.overdue",
    )
    def on_case(self, event):
        self.notify(event)
