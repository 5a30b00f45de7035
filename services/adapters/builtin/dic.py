"""DIC, the lead (Sở Thông tin và Truyền thông, through its Inspectorate).

Art. 7.1: DIC receives and aggregates every report, runs verification,
decides within its authority or advises the City People's Committee, and
compiles the reports of Art. 8. Its adapter therefore takes every copy
routed to DIC (``agency.dic.#``) and, beyond the cases it leads, every
report and new case (7.1.a: before routing there is no copy for anyone),
every escalation and its answer (7.1.a, 7.1.h), every handling result
(copied to DIC under Art. 7.6 and reported through DIC under Art. 8.2),
every overdue clock, and the periodic reports (Art. 8.3).
"""

from phoihop.adapters import ALL, handles
from services.adapters.builtin.common import AgencyAdapter


class DicAdapter(AgencyAdapter):
    """Sở Thông tin và Truyền thông (lead, Art. 7.1)."""

    agency = "dic"
    description = "DIC, lead of Art. 7.1: every case it leads and every report"

    @handles("#")
    def on_lead_copy(self, event):
        self.notify(event)

    @handles(
        "report.received",
        "report.quarantined",
        "case.opened",
        "case.report_attached",
        "case.merge_proposed",
        "case.triaged",
        scope=ALL,
    )
    def on_intake(self, event):
        self.notify(event)

    @handles("case.escalated", "case.escalation_answered", scope=ALL)
    def on_escalation(self, event):
        self.notify(event)

    @handles("measure.reported", "deadline.overdue", "report.generated", scope=ALL)
    def on_follow_up(self, event):
        self.notify(event)
