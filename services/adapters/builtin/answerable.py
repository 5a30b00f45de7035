"""City departments and local People's Committees, Art. 7.6.

A department (Sở, ban, ngành) answers for its sector, a local People's
Committee (UBND quận, huyện; wards and communes since 2025) for its
locality. Each receives the cases of its sector or locality, carries out
coordination requests, handles violations within its authority and reports
the results to the City People's Committee, copied to DIC (Art. 7.6.c,
8.2); when an incident arises it owes city media initial information within
2 hours (Art. 7.6.d), so it receives the press service's clock and its
reminders.

One class serves every department (and one every locality): the agency is
given in the configuration, usually as ``agencies: "dept-*"``.
"""

from phoihop.adapters import AdapterConfigError, handles
from phoihop.agencies import DEPARTMENT, LOCALITY
from services.adapters.builtin.common import CoordinatingAdapter


class AnswerableAgencyAdapter(CoordinatingAdapter):
    """Base of the department and locality adapters (Art. 7.6)."""

    kind = None

    def setup(self):
        super().setup()
        record = self.agency_record
        if record is not None and record.kind != self.kind:
            raise AdapterConfigError(
                f"adapter {self.name!r} is for a {self.kind}, and {self.agency!r} "
                f"is a {record.kind}",
                {f"{self.name}.agency": f"an agency of kind {self.kind}"},
            )

    @handles(
        "case.assigned",
        "case.assignment_changed",
        "meeting.convened",
        "case.decided",
        "case.closed",
        "press.initial_info_due",
        "press.initial_info_overdue",
        "deadline.due_soon",
        "deadline.overdue",
    )
    def on_case(self, event):
        self.notify(event)


class DepartmentAdapter(AnswerableAgencyAdapter):
    """Sở, ban, ngành: a city department (Art. 7.6)."""

    kind = DEPARTMENT
    description = "a city department, Art. 7.6: its sector's cases"


class LocalityAdapter(AnswerableAgencyAdapter):
    """UBND quận, huyện, phường, xã: a local People's Committee (Art. 7.6)."""

    kind = LOCALITY
    description = "a local People's Committee, Art. 7.6: its locality's cases"
