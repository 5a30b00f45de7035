"""City Police (Công an thành phố), Art. 7.2.

National security, public order and cybercrime: the police receive the
cases routing gives them (fraud, impersonation, state secrets, incitement,
...), join verification (opinions, meetings), and carry out the measures a
decision gives them, above all when posting or sharing is to be handled as
a violation. The registry clears the police for secret content.
"""

from phoihop.adapters import handles
from services.adapters.builtin.common import CoordinatingAdapter


class PoliceAdapter(CoordinatingAdapter):
    """Công an thành phố (Art. 7.2)."""

    agency = "police"
    description = "City Police, Art. 7.2: security, order, cybercrime"

    @handles(
        "case.assigned",
        "case.assignment_changed",
        "case.lead_transferred",
        "meeting.convened",
        "case.appraised",
        "case.decided",
        "case.reopened",
        "case.closed",
        "deadline.due_soon",
        "deadline.overdue",
    )
    def on_case(self, event):
        self.notify(event)
