"""Events for the transport tests, as the SDK hands them to an adapter."""

from phoihop.adapters.envelopes import adapter_event
from phoihop.agencies import shipped_registry
from phoihop.events import build_event


def assigned_event():
    envelope = build_event(
        "case.assigned",
        {
            "lead": "dic",
            "agencies": [
                {"agency": "dic", "role": "lead", "rule": "lead", "article": "7.1.a"},
                {
                    "agency": "police",
                    "role": "coordinating",
                    "rule": "category",
                    "article": "7.2.a",
                    "matched": "fraud_scam",
                },
            ],
            "responsible_agencies": [],
            "categories": ["fraud_scam"],
            "incident": False,
            "state": "assigned",
            "previous_state": "triaged",
        },
        case_id="case-7",
        actor={"agency": "dic", "officer": "test"},
    )
    return adapter_event(
        envelope, "agency.police.case.assigned", "police", shipped_registry()
    )
