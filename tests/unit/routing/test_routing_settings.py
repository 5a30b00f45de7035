"""The routing section of the configuration refuses clocks it cannot end."""

import pytest
from marshmallow import ValidationError

from services.routing.schemas import RoutingSettingsSchema


def test_defaults_start_verification_and_resolution_clocks():
    settings = RoutingSettingsSchema().load({})

    assert settings["assignment_deadlines"] == ["verification", "resolution"]
    assert settings["escalation_deadline"] == "escalation_answer"


def test_an_assignment_clock_routing_cannot_end_is_refused_naming_it():
    with pytest.raises(ValidationError) as refused:
        RoutingSettingsSchema().load(
            {"assignment_deadlines": ["verification", "verifcation"]}
        )

    assert 1 in refused.value.messages["assignment_deadlines"]


def test_no_escalation_clock_is_allowed():
    settings = RoutingSettingsSchema().load({"escalation_deadline": None})

    assert settings["escalation_deadline"] is None
