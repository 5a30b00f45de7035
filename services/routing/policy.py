"""The Art. 7 responsibility matrix applied to a case: who leads, who
coordinates, and why.

``AssignmentPolicy`` is pure: it reads the agency registry and a triaged
case and returns assignments, each with the rule and the article that
produced it, so an officer can see why an agency is involved and override
it with a reason. The officer's overrides (an agency added, removed, the
lead transferred) are applied by the functions below and survive a new
triage of the same case.
"""

from dataclasses import dataclass, field

from phoihop.agencies import RULE_LEAD
from phoihop.errors import Conflict, ValidationError

LEAD_ROLE = "lead"
COORDINATING_ROLE = "coordinating"

RULE_MANUAL = "manual"
RULE_TRANSFERRED = "lead_transferred"

# Flags raised on an assignment for an officer to look at.
FLAG_SECTOR_WITHOUT_AGENCY = "sector_without_agency"
FLAG_LOCALITY_WITHOUT_AGENCY = "locality_without_agency"
FLAG_INCIDENT_WITHOUT_RESPONSIBLE = "incident_without_responsible_agency"
FLAG_REDACTED_FOR_UNCLEARED = "redacted_for_uncleared_agencies"


@dataclass
class Overrides:
    """What officers changed by hand; kept across a new triage."""

    added: dict = field(default_factory=dict)  # code -> assignment dict
    removed: dict = field(default_factory=dict)  # code -> reason
    lead: str | None = None
    lead_reason: str = ""

    @classmethod
    def from_doc(cls, doc):
        doc = doc or {}
        return cls(
            added=dict(doc.get("added") or {}),
            removed=dict(doc.get("removed") or {}),
            lead=doc.get("lead"),
            lead_reason=doc.get("lead_reason", ""),
        )

    def to_doc(self):
        return {
            "added": self.added,
            "removed": self.removed,
            "lead": self.lead,
            "lead_reason": self.lead_reason,
        }


@dataclass
class AssignmentPlan:
    lead: str
    agencies: list
    responsible_agencies: list
    flags: list


def assignment(agency, role, rule, article, matched="", reason=""):
    return {
        "agency": agency,
        "role": role,
        "rule": rule,
        "article": article,
        "matched": matched,
        "reason": reason,
    }


class AssignmentPolicy:
    """Computes the assignments of a triaged case from the registry."""

    def __init__(self, registry):
        self.registry = registry

    def plan(self, triage, on=None, overrides=None):
        """Assignments for ``triage`` (the ``case.triaged`` payload) on a day."""
        overrides = overrides or Overrides()
        registry = self.registry
        categories = list(triage.get("categories") or ())
        sector = triage.get("sector") or None
        locality = triage.get("locality") or None
        found = registry.agencies_for(
            categories,
            sector=sector,
            locality=locality,
            on=on,
            journalists_involved=bool(triage.get("journalists_involved")),
        )

        agencies = {}
        for item in found:
            if item.agency in overrides.removed:
                continue
            role = LEAD_ROLE if item.rule == RULE_LEAD else COORDINATING_ROLE
            agencies[item.agency] = assignment(
                item.agency, role, item.rule, item.article, item.matched
            )
        for code, added in overrides.added.items():
            if code not in agencies and registry.is_active(code, on):
                agencies[code] = dict(added)

        lead = registry.lead.code
        if overrides.lead and registry.is_active(overrides.lead, on):
            lead = overrides.lead
            agencies = _with_lead(agencies, lead, overrides.lead_reason, registry)
        responsible = registry.responsible_for(sector, locality, on)
        flags = self._flags(triage, sector, locality, responsible, on)
        flags += self._clearance_flags(triage, agencies)

        return AssignmentPlan(
            lead=lead,
            agencies=_ordered(agencies, lead),
            responsible_agencies=responsible,
            flags=flags,
        )

    def _flags(self, triage, sector, locality, responsible, on):
        registry = self.registry
        flags = []
        # A sector no department answers for still reaches DIC (the lead
        # receives every case, Art. 7.1.a); the flag asks an officer to
        # pick the agency by hand.
        if sector and not registry.has_sector_agency(sector, on):
            flags.append(FLAG_SECTOR_WITHOUT_AGENCY)
        if locality and not registry.has_locality_agency(locality, on):
            flags.append(FLAG_LOCALITY_WITHOUT_AGENCY)
        # Art. 7.6.d: the 2-hour initial information falls on the sector or
        # locality; with neither known, DIC must name who gives it.
        if triage.get("incident") and not responsible:
            flags.append(FLAG_INCIDENT_WITHOUT_RESPONSIBLE)

        return flags

    def _clearance_flags(self, triage, agencies):
        classification = triage.get("classification") or "public"
        if any(
            not self.registry.has_clearance(code, classification) for code in agencies
        ):
            return [FLAG_REDACTED_FOR_UNCLEARED]
        return []


def _with_lead(agencies, lead, reason, registry):
    agencies = {
        code: {**item, "role": COORDINATING_ROLE} if item["role"] == LEAD_ROLE else item
        for code, item in agencies.items()
    }
    current = agencies.get(lead)
    article = registry.get(lead).article
    agencies[lead] = assignment(
        lead,
        LEAD_ROLE,
        RULE_TRANSFERRED,
        current["article"] if current else article,
        current["matched"] if current else "",
        reason,
    )
    return agencies


def _ordered(agencies, lead):
    """The lead first, then the others in the order rules found them."""
    ordered = [agencies[lead]] if lead in agencies else []
    ordered += [item for code, item in agencies.items() if code != lead]
    return ordered


def add_agency(agencies, code, reason, registry, on=None):
    """A new list with ``code`` coordinating, added by an officer."""
    if not registry.is_active(code, on):
        raise ValidationError(
            f"agency {code!r} is not an active agency of the registry",
            {"agency": "unknown or no longer valid agency code"},
        )
    if any(item["agency"] == code for item in agencies):
        raise Conflict(
            f"agency {code!r} already takes part in the case",
            {"agency": "already assigned"},
        )
    added = assignment(
        code, COORDINATING_ROLE, RULE_MANUAL, registry.get(code).article, "", reason
    )

    return [*agencies, added], added


def remove_agency(agencies, code):
    """A new list without ``code``; the lead cannot be removed."""
    current = next((item for item in agencies if item["agency"] == code), None)
    if current is None:
        raise Conflict(
            f"agency {code!r} does not take part in the case",
            {"agency": "not assigned"},
        )
    if current["role"] == LEAD_ROLE:
        raise Conflict(
            f"agency {code!r} leads the case; transfer the lead first",
            {"agency": "the lead cannot be removed"},
        )

    return [item for item in agencies if item["agency"] != code]


def transfer_lead(agencies, to_agency, reason, registry, on=None):
    """A new list with ``to_agency`` as lead and the old lead coordinating."""
    if not registry.is_active(to_agency, on):
        raise ValidationError(
            f"agency {to_agency!r} is not an active agency of the registry",
            {"to_agency": "unknown or no longer valid agency code"},
        )
    current = next(item for item in agencies if item["role"] == LEAD_ROLE)
    if current["agency"] == to_agency:
        raise Conflict(
            f"agency {to_agency!r} already leads the case",
            {"to_agency": "already the lead"},
        )
    by_code = {item["agency"]: dict(item) for item in agencies}
    updated = _with_lead(by_code, to_agency, reason, registry)

    return current["agency"], _ordered(updated, to_agency)
