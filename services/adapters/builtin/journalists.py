"""City Journalists' Association (Hội Nhà báo thành phố), Art. 7.3.

The association joins verification and appraisal at DIC's request and
disciplines members who break the ethics and social-media rules of the
profession; routing involves it when journalists or press members are
concerned. It is not cleared for secret content: such events reach it
redacted.
"""

from phoihop.adapters import handles
from services.adapters.builtin.common import CoordinatingAdapter


class JournalistsAdapter(CoordinatingAdapter):
    """Hội Nhà báo thành phố (Art. 7.3)."""

    agency = "journalists"
    description = "Journalists' Association, Art. 7.3: cases involving journalists"

    @handles(
        "case.assigned",
        "case.assignment_changed",
        "meeting.convened",
        "case.appraised",
        "case.decided",
        "case.closed",
        "deadline.due_soon",
        "deadline.overdue",
    )
    def on_case(self, event):
        self.notify(event)
