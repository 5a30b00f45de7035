"""The adapter written out in docs/adapters.md is a valid plugin that binds
what the page says."""

import re
import types

from phoihop.adapters import DELIVERED, Adapter
from phoihop.adapters.discovery import check_adapter_class
from phoihop.adapters.settings import keys_for
from phoihop.config import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "adapters.md"


def documented_module():
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    [source] = [block for block in blocks if "class CyberTicketsAdapter" in block]
    module = types.ModuleType("police_cyber_adapter")
    exec(compile(source, str(DOC), "exec"), module.__dict__)  # noqa: S102
    return module


def test_documented_adapter_is_a_valid_plugin_for_the_police():
    cls = documented_module().CyberTicketsAdapter

    check_adapter_class(cls, "police-cyber")
    assert issubclass(cls, Adapter)
    assert keys_for(cls, "police") == (
        "agency.police.case.assigned",
        "agency.police.measure.assigned",
        "agency.police.meeting.convened",
        "agency.police.consultation.opinion_requested",
    )


def test_documented_adapter_opens_a_ticket_through_its_session():
    from adapter_factories import make_event

    cls = documented_module().CyberTicketsAdapter
    adapter = cls("police-cyber", options={"tickets_url": "https://t.invalid"})
    posted = []

    class Session:
        def post(self, url, json, timeout):
            posted.append((url, json))
            return types.SimpleNamespace(status_code=201, json=lambda: {"id": 7})

        def close(self):
            pass

    adapter.session = Session()
    event = make_event("measure.assigned", {"measure_id": "m-1"})

    assert adapter.dispatch(event) == DELIVERED
    assert posted == [
        (
            "https://t.invalid/tickets",
            {
                "external_id": event.id,
                "case": "case-1",
                "kind": "measure.assigned",
                "due": None,
                "classified": False,
                "details": {"measure_id": "m-1"},
            },
        )
    ]
