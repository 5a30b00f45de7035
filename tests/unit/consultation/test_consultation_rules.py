"""The pure rules of consultation: tally, dissent, following other services'
states, the path of a case through consultation, and the checks of a
handling plan against the real catalogue and registry."""

from datetime import UTC, datetime, timedelta

import pytest

from phoihop.agencies import shipped_registry
from phoihop.cases import check_transition
from phoihop.errors import Forbidden, IllegalTransition, ValidationError
from phoihop.legal import default_catalogue
from services.consultation import rules

INVITED = ["police", "journalists", "propaganda", "internal_affairs"]
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
POSTED = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)


def opinion(position, reasoning="lý do", legal_basis=()):
    return {"position": position, "reasoning": reasoning, "legal_basis": legal_basis}


@pytest.mark.parametrize(
    ("positions", "tally", "outcome", "dissenters"),
    [
        (
            {"police": "agree", "journalists": "disagree", "propaganda": "agree"},
            {"agree": 2, "disagree": 1, "abstain": 0, "missing": 1},
            "agreed",
            ["journalists"],
        ),
        (
            {"police": "agree", "journalists": "disagree", "propaganda": "disagree"},
            {"agree": 1, "disagree": 2, "abstain": 0, "missing": 1},
            "not_agreed",
            ["police"],
        ),
        (
            {"police": "agree", "journalists": "disagree"},
            {"agree": 1, "disagree": 1, "abstain": 0, "missing": 2},
            "split",
            ["journalists"],
        ),
        (
            {"police": "abstain"},
            {"agree": 0, "disagree": 0, "abstain": 1, "missing": 3},
            "no_answers",
            [],
        ),
        (
            {},
            {"agree": 0, "disagree": 0, "abstain": 0, "missing": 4},
            "no_answers",
            [],
        ),
    ],
    ids=["majority-agrees", "majority-disagrees", "tie", "only-abstain", "silence"],
)
def test_round_tally_outcome_and_dissent(positions, tally, outcome, dissenters):
    opinions = {agency: opinion(position) for agency, position in positions.items()}

    summary = rules.summarize_round(INVITED, opinions)

    assert summary.tally == tally
    assert summary.outcome == outcome
    assert [item["agency"] for item in summary.dissent] == dissenters
    assert summary.missing == [a for a in INVITED if a not in positions]


def test_dissent_keeps_the_reasoning_and_proposed_codes():
    opinions = {
        "police": opinion("agree"),
        "propaganda": opinion("agree"),
        "journalists": opinion("disagree", "Là tác phẩm báo chí.", ["PRESS2016-9.12"]),
    }

    [dissent] = rules.summarize_round(INVITED, opinions).dissent

    assert dissent == {
        "agency": "journalists",
        "position": "disagree",
        "reasoning": "Là tác phẩm báo chí.",
        "legal_basis": ["PRESS2016-9.12"],
    }


def test_answers_of_agencies_not_invited_do_not_count():
    opinions = {"police": opinion("agree"), "dept-health": opinion("disagree")}

    summary = rules.summarize_round(["police"], opinions)

    assert summary.tally == {"agree": 1, "disagree": 0, "abstain": 0, "missing": 0}
    assert summary.dissent == []


def test_proposed_codes_are_counted_once_per_agency_most_proposed_first():
    opinions = {
        "police": opinion("agree", legal_basis=["CYBER2018-16.3", "PRESS2016-9.8"]),
        "propaganda": opinion("agree", legal_basis=["PRESS2016-9.8", "PRESS2016-9.8"]),
    }

    counts = rules.proposed_legal_basis(INVITED, opinions)

    assert counts == {"PRESS2016-9.8": 2, "CYBER2018-16.3": 1}
    assert list(counts) == ["PRESS2016-9.8", "CYBER2018-16.3"]


# Transitions -------------------------------------------------------------


CONSULTATION_PATH = [
    ("assigned", "verifying"),
    ("verifying", "appraised"),
    ("appraised", "decided"),
    ("decided", "handling"),
    ("handling", "resolved"),
    ("resolved", "closed"),
    ("closed", "verifying"),
    ("verifying", "appraised"),
    ("appraised", "rejected"),
    ("rejected", "verifying"),
]


@pytest.mark.parametrize(("current", "target"), CONSULTATION_PATH, ids=lambda v: str(v))
def test_the_moves_consultation_makes_are_allowed(current, target):
    check_transition(current, target, "case-1")


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("assigned", "decided"),
        ("verifying", "decided"),
        ("handling", "closed"),
        ("decided", "resolved"),
        ("closed", "closed"),
        ("merged", "verifying"),
    ],
    ids=lambda v: str(v),
)
def test_skipping_a_step_is_refused_with_the_allowed_states(current, target):
    with pytest.raises(IllegalTransition) as refused:
        check_transition(current, target, "case-1")

    assert f"current state is {current!r}" in refused.value.fields["state"]


@pytest.mark.parametrize(
    ("current", "current_at", "state", "occurred_at", "taken"),
    [
        ("triaged", 1, "assigned", 2, "assigned"),
        ("assigned", 2, "triaged", 1, None),
        ("verifying", 2, "assigned", 3, None),
        ("verifying", 2, "escalated", 3, "escalated"),
        ("escalated", 3, "decided", 4, "decided"),
        ("assigned", 2, "merged", 3, "merged"),
        ("assigned", 2, "assigned", 3, None),
        ("assigned", 2, None, 3, None),
    ],
    ids=[
        "assigned-after-triage",
        "late-triage-ignored",
        "reassignment-does-not-pull-back",
        "escalation-taken",
        "escalation-answer-taken",
        "merge-taken",
        "same-state",
        "no-state",
    ],
)
def test_followed_state(current, current_at, state, occurred_at, taken):
    def at(minute):
        return NOW + timedelta(minutes=minute)

    assert (
        rules.followed_state(current, at(current_at), state, at(occurred_at)) == taken
    )


# Who may do what -----------------------------------------------------------


def test_dic_and_a_transferred_lead_lead_the_case():
    case = {"lead": "police"}

    assert rules.is_lead({"agency": "dic"}, case)
    assert rules.is_lead({"agency": "police"}, case)
    assert not rules.is_lead({"agency": "journalists"}, case)
    with pytest.raises(Forbidden):
        rules.require_lead({"agency": "journalists"}, case, ("quyết định", "decide"))


def test_lead_may_record_an_answer_received_on_paper_others_may_not():
    case = {"lead": "dic"}

    assert rules.answering_agency({"agency": "police"}, case, None, [], "") == "police"
    assert rules.answering_agency({"agency": "dic"}, case, "police", [], "") == (
        "police"
    )
    with pytest.raises(Forbidden) as refused:
        rules.answering_agency(
            {"agency": "journalists"}, case, "police", ["police"], "invited"
        )
    assert "journalists" in refused.value.message


# Legal basis and the handling plan -----------------------------------------


@pytest.fixture(scope="module")
def catalogue():
    return default_catalogue()


@pytest.fixture(scope="module")
def registry():
    return shipped_registry()


def test_confirmed_codes_in_force_on_the_posting_date_pass(catalogue):
    rules.check_confirmed_legal_basis(
        catalogue, ["PRESS2016-9.8", "CYBER2018-16.3"], POSTED
    )


def test_codes_out_of_force_unknown_or_sanctions_are_refused_by_position(catalogue):
    with pytest.raises(ValidationError) as refused:
        rules.check_confirmed_legal_basis(
            catalogue,
            ["PRESS2016-9.8", "D72-5.1.d", "NOPE-1.1", "D15-101.1.a"],
            POSTED,
        )

    assert set(refused.value.fields) == {
        "legal_basis[1]",
        "legal_basis[2]",
        "legal_basis[3]",
    }
    assert "D72-5.1.d" in refused.value.fields["legal_basis[1]"]
    assert "sanction" in refused.value.fields["legal_basis[3]"]


def test_codes_are_checked_on_the_vietnamese_calendar_day_of_posting(catalogue):
    # 2024-12-24 17:30 UTC is already 25 December in Hai Phong, the first day
    # Decree 72/2013 is no longer in force.
    late_evening = datetime(2024, 12, 24, 17, 30, tzinfo=UTC)

    with pytest.raises(ValidationError):
        rules.check_confirmed_legal_basis(catalogue, ["D72-5.1.d"], late_evening)
    rules.check_confirmed_legal_basis(
        catalogue, ["D72-5.1.d"], late_evening - timedelta(hours=1)
    )


def test_missing_posting_date_is_named(catalogue):
    with pytest.raises(ValidationError) as refused:
        rules.check_confirmed_legal_basis(catalogue, ["PRESS2016-9.8"], None)

    assert "posted_at" in refused.value.fields


def test_decision_cites_the_confirmed_codes_by_default():
    assert rules.decision_legal_basis(None, ["PRESS2016-9.8"]) == ["PRESS2016-9.8"]
    assert rules.decision_legal_basis(
        ["PRESS2016-9.8", "PRESS2016-9.8"], ["PRESS2016-9.8", "CYBER2018-16.3"]
    ) == ["PRESS2016-9.8"]
    with pytest.raises(ValidationError) as refused:
        rules.decision_legal_basis(["PRESS2016-9.8"], [])
    assert "legal_basis" in refused.value.fields


def measure(kind="removal_request", agency="dic", hours=24, **extra):
    return {
        "kind": kind,
        "agency": agency,
        "due_at": NOW + timedelta(hours=hours),
        **extra,
    }


def test_a_sound_plan_has_no_problems(catalogue, registry):
    plan = [
        measure(target="platform"),
        measure(target="ministry"),
        measure("sanction_proposal", "police", sanction_code="D15-101.1.a"),
        measure("official_information", "press-hp"),
    ]

    assert rules.measure_problems(plan, catalogue, registry, POSTED, NOW) == {}


def test_plan_problems_name_each_measure_and_field(catalogue, registry):
    plan = [
        measure(agency="nobody"),
        measure(hours=-1),
        measure("sanction_proposal", sanction_code="PRESS2016-9.8"),
        measure("sanction_proposal", sanction_code="D15-101.1.a"),
        measure(agency="police", target="ministry"),
    ]

    problems = rules.measure_problems(
        plan, catalogue, registry, datetime(2019, 5, 1, tzinfo=UTC), NOW
    )

    assert set(problems) == {
        "measures[0].agency",
        "measures[1].due_at",
        "measures[2].sanction_code",
        "measures[3].sanction_code",
        "measures[4].agency",
    }
    assert "2020" in problems["measures[3].sanction_code"]


def test_no_action_stands_alone(catalogue, registry):
    plan = [measure("no_action"), measure("rebuttal", "propaganda")]

    problems = rules.measure_problems(plan, catalogue, registry, POSTED, NOW)

    assert "measures" in problems


def test_results_are_counted_and_unreported_measures_found():
    measures = [
        {"result": {"result": "done"}},
        {"result": {"result": "partly_done"}},
        {"result": None},
    ]

    assert rules.results_count(measures) == {
        "done": 1,
        "partly_done": 1,
        "not_possible": 0,
    }
    assert rules.unreported(measures) == [{"result": None}]
