"""The parts of a results notice that come from the handling decision.

Art. 6.6 asks that the results of handling go to the press together with
legal education: which provisions were applied, in words a reader knows
("điểm a khoản 1 Điều 9 Luật Báo chí 2016"), the fines where a sanction was
cited, and a short paragraph on lawful use of social networks. The provisions
come from the legal-basis catalogue (``phoihop.legal``), never from free text.
"""

from phoihop.legal import CODE_PATTERN
from services.press.statements import bullet_list, render


def _point(letter):
    return "đ" if letter == "dd" else letter


def provision_reference(code):
    """``PRESS2016-9.1.a`` -> ``điểm a khoản 1 Điều 9``; None if malformed."""
    if not CODE_PATTERN.match(code or ""):
        return None
    parts = code.split("-", 1)[1].split(".")
    words = [f"Điều {parts[0]}"]
    if len(parts) > 1:
        words.insert(0, f"khoản {parts[1]}")
    if len(parts) > 2:
        words.insert(0, f"điểm {_point(parts[2])}")

    return " ".join(words)


def instrument_name(instrument):
    # The catalogue's Vietnamese title ends with the article it covers
    # ("Luật Báo chí 2016 (103/2016/QH13), Điều 9"); the citation names the
    # article itself, so only the part before the first comma is kept.
    return instrument.title_vi.split(",", 1)[0].strip()


def citation(code, catalogue):
    """The provision as a Vietnamese reader cites it, with its instrument."""
    provision = catalogue.get(code)
    reference = provision_reference(code)
    if provision is None or reference is None:
        return code

    return f"{reference} {instrument_name(catalogue.instrument_of(code))}"


def legal_basis_text(codes, catalogue):
    """One line per provision applied: the citation and what it forbids."""
    lines = []
    for code in codes:
        provision = catalogue.get(code)
        if provision is None:
            lines.append(code)
        else:
            lines.append(f"{citation(code, catalogue)}: {provision.label_vi}")

    return bullet_list(lines)


def format_vnd(amount):
    """``10000000`` -> ``10.000.000`` (Vietnamese thousands separator)."""
    return f"{int(amount):,}".replace(",", ".")


def _fine_range(bounds):
    low, high = bounds
    return f"từ {format_vnd(low)} đến {format_vnd(high)} đồng"


def fines_text(codes, catalogue):
    """The fines of the sanction provisions cited, or '' when none was."""
    parts = []
    for code in codes:
        provision = catalogue.get(code)
        if (
            provision is None
            or not catalogue.is_sanction(code)
            or not provision.fine_vnd
        ):
            continue
        ranges = []
        fine = provision.fine_vnd
        if fine.get("organisation"):
            ranges.append(f"{_fine_range(fine['organisation'])} đối với tổ chức")
        if fine.get("individual"):
            ranges.append(f"{_fine_range(fine['individual'])} đối với cá nhân")
        if ranges:
            parts.append(f"{', '.join(ranges)} ({citation(code, catalogue)})")

    return "; ".join(parts)


def legal_education_text(templates, codes, catalogue):
    """The legal-education paragraph of Art. 6.6 for the provisions applied."""
    extras = templates.get("results").extras
    violated = [code for code in codes if not catalogue.is_sanction(code)]
    provisions = "; ".join(citation(code, catalogue) for code in violated or codes)
    fines = fines_text(codes, catalogue)
    sanctions = render(extras["sanctions"], {"fines": fines}) if fines else ""
    text = render(
        extras["legal_education"],
        {"provisions": provisions or "quy định của pháp luật", "sanctions": sanctions},
    )

    return " ".join(text.split())


def handling_results_text(templates, measures, results, agency_name):
    """One line per measure decided: what, by whom, and how far it went.

    ``results`` maps a measure id to its latest reported result; a measure
    with no report yet reads as under way.
    """
    lines = []
    for measure in measures:
        label = templates.measure_label(
            measure.get("kind") or "", measure.get("target")
        )
        result = results.get(measure.get("measure_id"), "pending")
        by = agency_name(measure.get("agency"))
        who = f" ({by})" if by else ""
        lines.append(f"{label}{who}: {templates.result_label(result)}")

    return bullet_list(lines)
