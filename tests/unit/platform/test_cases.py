"""The case state machine."""

import pytest

from phoihop import cases
from phoihop.errors import IllegalTransition


@pytest.mark.parametrize(
    "current, target",
    [
        ("received", "triaged"),
        ("triaged", "assigned"),
        ("assigned", "verifying"),
        ("verifying", "appraised"),
        ("appraised", "decided"),
        ("decided", "handling"),
        ("handling", "resolved"),
        ("resolved", "closed"),
        ("appraised", "rejected"),
        ("assigned", "escalated"),
        ("closed", "verifying"),
    ],
    ids=lambda value: value,
)
def test_main_path_and_side_states_are_allowed(current, target):
    cases.check_transition(current, target)


def test_illegal_transition_names_current_and_allowed_states():
    with pytest.raises(IllegalTransition) as refused:
        cases.check_transition("received", "closed", case_id="C-1")

    message = refused.value.fields["state"]
    assert "'received'" in message
    assert "merged, rejected, triaged" in message


def test_merged_case_goes_nowhere():
    with pytest.raises(IllegalTransition, match="none"):
        cases.check_transition("merged", "verifying")


def test_every_state_has_a_vietnamese_label():
    for state in cases.STATES:
        assert cases.label(state)
        assert cases.label(state, "en")
