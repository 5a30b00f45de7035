"""The City People's Committee and the Ministry: where escalations go.

The City People's Committee (UBND thành phố) receives what is beyond DIC's
authority (Art. 7.1.a, 7.1.h), the handling results that departments and
localities report to it (Art. 7.6.c, 8.2) and the periodic reports of
Art. 8; the Ministry receives DIC's proposals to remove violating content
(Art. 7.1.g). An escalation is one event, ``case.escalated``, whose ``to``
says where it goes: each adapter binds the type and keeps its own.
"""

from phoihop.adapters import ALL, handles
from services.adapters.builtin.common import AgencyAdapter


def addressed_to_self(adapter, event):
    return event.payload.get("to") == adapter.agency


def removal_for_ministry(adapter, event):
    """A removal request measure that DIC carries to the Ministry (7.1.g)."""
    payload = event.payload
    return (
        payload.get("kind") == "removal_request" and payload.get("target") == "ministry"
    )


class CityAdapter(AgencyAdapter):
    """Ủy ban nhân dân thành phố (Art. 7.1.a, 7.1.h, Art. 8)."""

    agency = "city"
    description = "City People's Committee: escalations, results, reports"

    @handles("#")
    def on_copy(self, event):
        self.notify(event)

    @handles("case.escalated", scope=ALL, when=addressed_to_self)
    def on_escalation(self, event):
        self.notify(event)

    @handles("measure.reported", "report.generated", scope=ALL)
    def on_report(self, event):
        self.notify(event)


class MinistryAdapter(AgencyAdapter):
    """Bộ Thông tin và Truyền thông, or its successor (Art. 7.1.g)."""

    agency = "ministry"
    description = "the Ministry: removal proposals (Art. 7.1.g)"

    @handles("#")
    def on_copy(self, event):
        self.notify(event)

    @handles("case.escalated", scope=ALL, when=addressed_to_self)
    def on_escalation(self, event):
        self.notify(event)

    @handles("measure.assigned", scope=ALL, when=removal_for_ministry)
    def on_removal_request(self, event):
        self.notify(event)
