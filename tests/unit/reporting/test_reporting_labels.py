"""Every deadline kind a service starts has a Vietnamese name in reports."""

from services.consultation.service import DEADLINE_KINDS as CONSULTATION_KINDS
from services.press.initial_info import DEFAULT_DEADLINE_KINDS as PRESS_KINDS
from services.reporting import labels
from services.routing.service import DEFAULT_DEADLINE_KINDS as ROUTING_KINDS


def test_every_deadline_kind_of_the_services_has_a_vietnamese_name():
    kinds = set(ROUTING_KINDS) | set(CONSULTATION_KINDS) | set(PRESS_KINDS)

    unnamed = {kind for kind in kinds if labels.deadline_kind(kind) == kind}

    assert kinds, "the services declare their deadline kinds"
    assert unnamed == set()
