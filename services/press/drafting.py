"""What fills a statement's template: the case facts as the press service
knows them, the agency's words, and for a results notice the decision.

The facts come from the case view the service keeps (title and summary
from intake, never for a classified case); the drafter may replace them.
Names of agencies, sectors and localities come from the registry, so a
statement reads "lĩnh vực quản lý của Sở Y tế", not a code.
"""

from phoihop.i18n import local_time, t
from phoihop.store import utcnow
from services.press.notices import (
    handling_results_text,
    legal_basis_text,
    legal_education_text,
)
from services.press.statements import RESULTS, bullet_list, place_date, render_draft


class Drafter:
    """Fills the templates for one service's reference data."""

    def __init__(self, reference):
        self.registry = reference.registry
        self.catalogue = reference.catalogue
        self.templates = reference.templates

    def agency_name(self, code):
        if not code or code not in self.registry:
            return code or ""
        return self.registry.get(code).name_vi

    def case_title(self, view):
        return view.get("title") or t(f"vụ việc {view['_id']}", f"case {view['_id']}")

    def scope(self, view, on):
        """The sector and locality concerned, named as their agencies are."""
        parts = []
        sector, locality = view.get("sector"), view.get("locality")
        if sector:
            codes = self.registry.responsible_for(sector=sector, on=on)
            name = self.agency_name(codes[0]) if codes else None
            parts.append(f"lĩnh vực quản lý của {name}" if name else sector)
        if locality:
            codes = self.registry.responsible_for(locality=locality, on=on)
            name = self.agency_name(codes[0]) if codes else None
            parts.append(f"địa bàn {name}" if name else locality)

        return ", ".join(parts)

    def recipients_names(self, codes=None):
        codes = codes or [agency.code for agency in self.registry.press_agencies()]
        names = [self.agency_name(code) for code in codes]
        if len(names) > 1:
            return ", ".join(names[:-1]) + " và " + names[-1]

        return "".join(names)

    def facts(self, view):
        """Title and summary of the case, as intake gave them."""
        title, summary = view.get("title"), view.get("summary")
        if summary and summary != title:
            return f"{title}. {summary}" if title else summary

        return title or None

    def values(self, view, agency, started_at, inputs):
        """Blanks of an initial-information or official statement."""
        measures = inputs.get("first_measures") or []
        return {
            "agency_name": self.agency_name(agency),
            "case_title": self.case_title(view),
            "scope": self.scope(view, started_at),
            "noted_at": local_time(started_at, "%H giờ %M ngày %d/%m/%Y"),
            "facts": inputs.get("facts") or self.facts(view),
            "leadership_position": inputs.get("leadership_position"),
            "first_measures": bullet_list(measures) if measures else None,
            "recipients_names": self.recipients_names(),
        }

    def cited_codes(self, view):
        """The provisions of the decision, with the sanction provisions its
        measures cite (Decree 15/2020 Art. 101), each once."""
        decision = view.get("decision") or {}
        codes = list(decision.get("legal_basis") or [])
        for measure in decision.get("measures") or []:
            code = measure.get("sanction_code")
            if code and code not in codes:
                codes.append(code)

        return codes

    def results_values(self, view, issuer, inputs):
        """Blanks of a results notice (Art. 6.6)."""
        decision = view.get("decision") or {}
        codes = self.cited_codes(view)
        results = {
            measure_id: item["result"]
            for measure_id, item in (view.get("results") or {}).items()
        }

        return {
            "agency_name": self.agency_name(issuer),
            "case_title": self.case_title(view),
            "scope": self.scope(view, view.get("resolved_at") or utcnow()),
            "facts": inputs.get("facts") or self.facts(view),
            "legal_basis": legal_basis_text(codes, self.catalogue) if codes else None,
            "handling_results": handling_results_text(
                self.templates,
                decision.get("measures") or [],
                results,
                self.agency_name,
            ),
            "legal_education": legal_education_text(
                self.templates, codes, self.catalogue
            ),
            "recipients_names": self.recipients_names(),
        }

    def draft(self, kind, values):
        return render_draft(self.templates, kind, values)

    def redraw(self, kind, view, agency, started_at, inputs):
        """The body of a statement again, after its inputs changed."""
        if kind == RESULTS:
            values = self.results_values(view, agency, inputs)
        else:
            values = self.values(view, agency, started_at, inputs)

        return self.draft(kind, values)[1]

    def footer_values(self, agency, person, at):
        return {
            "place_date": place_date(at),
            "spokesperson_name": person.name,
            "spokesperson_role": person.role,
            "agency_name": self.agency_name(agency),
        }
