"""How ``phoihop watch`` writes one event on a terminal."""

from phoihop.cli.watch import render, style_of, summary


def event(event_type, **payload):
    return {
        "id": "e-1",
        "type": event_type,
        "case_id": "HP-20261103-000001",
        "actor": {"agency": "dic", "officer": None},
        "classification": "public",
        "occurred_at": "2026-11-03T04:05:06+00:00",
        "payload": payload,
    }


def test_line_shows_local_time_type_case_and_state_move():
    line = render(
        event("case.assigned", state="assigned", previous_state="triaged", lead="dic")
    ).plain

    assert line.startswith("11:05:06 03/11")
    assert "case.assigned" in line
    assert "HP-20261103-000001" in line
    assert "triaged → assigned" in line
    assert "lead=dic" in line


def test_due_times_are_shown_in_local_time():
    text = summary(
        event(
            "deadline.set",
            kind="initial_info",
            owner_agency="dept-health",
            due_at="2026-11-03T06:00:00+00:00",
        )
    )

    assert "due_at=13:00 03/11" in text
    assert "owner_agency=dept-health" in text


def test_classified_events_are_marked():
    line = render({**event("case.opened"), "classification": "secret"}).plain

    assert "[MẬT]" in line


def test_overdue_events_stand_out():
    assert style_of("deadline.overdue") == "bold red"
    assert style_of("case.triaged") == "cyan"
    assert style_of("unknown.kind") == "white"
