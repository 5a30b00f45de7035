"""Cases that routing escalates: consultation holds while the City People's
Committee decides, and goes on from the state its answer gives."""

import pytest

from phoihop.errors import IllegalTransition

from .conftest import DIC, appraised_case, wait_for


def test_escalated_case_refuses_consultation_moves(rpc_proxy, assigned_case):
    consultation = rpc_proxy.consultation
    case_id = assigned_case()
    rpc_proxy.case_source.escalate(case_id, "assigned", None)
    assert wait_for(lambda: consultation.get_case(case_id)["state"] == "escalated")

    with pytest.raises(IllegalTransition) as refused:
        consultation.open_round(
            case_id, {"question": "Có vi phạm không?", "invited": ["police"]}, DIC
        )

    assert "'escalated'" in refused.value.fields["state"]


def test_case_the_city_directs_to_handling_gets_its_plan_in_place(
    rpc_proxy, tap, assigned_case
):
    consultation = rpc_proxy.consultation
    case_id = appraised_case(consultation, assigned_case())
    rpc_proxy.case_source.escalate(case_id, "appraised", "decided")
    assert wait_for(lambda: consultation.get_case(case_id)["state"] == "decided")

    decision = consultation.decide(
        case_id,
        {"measures": [{"kind": "police_referral", "agency": "police"}]},
        DIC,
    )

    assert decision["legal_basis"] == ["PRESS2016-9.8"]
    assert consultation.get_case(case_id)["state"] == "handling"
    assert tap.wait_for(lambda tap: tap.of_type("measure.assigned", case_id))
    [decided] = tap.of_type("case.decided", case_id)
    assert decided["payload"]["previous_state"] == "decided"
