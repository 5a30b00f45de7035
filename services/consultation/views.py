"""What the RPC methods return: JSON-safe views of rounds, meetings, measures
and the consultation side of a case.

Datetimes become ISO 8601 strings in UTC (nameko's RPC serialiser is JSON);
the gateway shows them in Hai Phong time. While a round is open, an invited
agency sees only its own opinion, so written answers stay independent of
each other; the lead sees them all. The appraisal and decision shown are
those of the current verification cycle (a reopened case starts a new one);
earlier ones stay in ``appraisals`` and ``decisions``.
"""

from datetime import datetime

from phoihop.store import utcnow

from . import rules
from .decisions import current
from .rounds import OPEN


def json_safe(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def round_view(doc, viewer=None, is_lead=True):
    view = {key: value for key, value in doc.items() if key not in ("_id", "revisions")}
    view["consultation_id"] = doc["_id"]
    view.pop("deadlines", None)
    if not is_lead and viewer and doc["state"] == OPEN:
        view["opinions"] = {
            agency: opinion
            for agency, opinion in doc["opinions"].items()
            if agency == viewer
        }
    if doc["state"] == OPEN:
        view["tally"] = (
            rules.tally(doc["invited"], doc["opinions"]) if is_lead else None
        )
        view["missing"] = rules.missing_agencies(doc["invited"], doc["opinions"])
    view["revisions"] = len(doc.get("revisions", []))

    return json_safe(view)


def meeting_view(doc):
    view = {key: value for key, value in doc.items() if key != "_id"}
    view["meeting_id"] = doc["_id"]
    return json_safe(view)


def measure_view(doc, now=None):
    now = now or utcnow()
    view = {
        key: value for key, value in doc.items() if key not in ("_id", "deadline_id")
    }
    view["measure_id"] = doc["_id"]
    view["overdue"] = doc["result"] is None and doc["due_at"] < now
    return json_safe(view)


def case_view(case, rounds, meetings, measures, viewer=None, lead="dic"):
    is_lead = viewer is None or rules.is_lead(viewer, case, lead)
    agency = (viewer or {}).get("agency")
    cycle = case.get("cycle", 1)
    appraisals = case.get("appraisals", [])
    decisions = case.get("decisions", [])

    return json_safe(
        {
            "case_id": case["_id"],
            "state": case["state"],
            "cycle": cycle,
            "lead": case.get("lead"),
            "agencies": case.get("agencies", []),
            "categories": case.get("categories", []),
            "sector": case.get("sector"),
            "locality": case.get("locality"),
            "incident": case.get("incident", False),
            "classification": case.get("classification", "public"),
            "posted_at": case.get("posted_at"),
            "rounds": [round_view(item, agency, is_lead) for item in rounds],
            "meetings": [meeting_view(item) for item in meetings],
            "appraisal": current(appraisals, cycle),
            "appraisals": appraisals,
            "decision": current(decisions, cycle),
            "decisions": decisions,
            "measures": [measure_view(item) for item in measures],
            "results": [
                {"measure_id": item["_id"], "agency": item["agency"], **item["result"]}
                for item in measures
                if item.get("result")
            ],
            "history": case.get("history", []),
            "updated_at": case.get("updated_at"),
        }
    )


def involved_agencies(case, rounds, meetings, measures):
    """Every agency that takes part in the case, as consultation knows it."""
    codes = {case.get("lead")}
    codes.update(entry["agency"] for entry in case.get("agencies", []))
    for item in rounds:
        codes.update(item["invited"])
    for item in meetings:
        codes.update(item["invited"])
    codes.update(item["agency"] for item in measures)
    codes.discard(None)

    return codes
