"""The deadline engine on the real broker and database: reminders and overdue
fire on time, once, across restarts, and never after the step is done."""

import threading
import time
from datetime import timedelta

import pytest
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook

from phoihop.bus import subscribe
from phoihop.deadlines import Deadlines
from phoihop.events import UtcDateTime
from phoihop.store import Store, utcnow

seen = []
police_copies = []
seen_lock = threading.Lock()


class ClockService:
    """A service that keeps one kind of deadline, as press or consultation do."""

    name = "clock"
    store = Store()
    deadlines = Deadlines(kinds={"reply": {"duration": "1h", "article": "5.2.b"}})

    @rpc
    def start_clock(self, subject_id, seconds, reminders_seconds=()):
        start = utcnow()
        return self.deadlines.set(
            None,
            "reply",
            subject=("case", subject_id),
            owner_agency="police",
            case_id=subject_id,
            start=start,
            due_at=start + timedelta(seconds=seconds),
            reminders_minutes=[value / 60 for value in reminders_seconds],
        )

    @rpc
    def step_done(self, subject_id):
        with self.store.transaction() as tx:
            tx.db.steps.insert_one({"subject": subject_id}, session=tx.session)
            return self.deadlines.meet(tx, kind="reply", subject=("case", subject_id))

    @rpc
    def withdraw(self, subject_id, reason):
        return self.deadlines.cancel(None, subject=("case", subject_id), reason=reason)

    @rpc
    def list_deadlines(self, **filters):
        return self.deadlines.list(**filters)


class WatcherService:
    name = "watcher"

    @subscribe("deadline.*")
    def handle_deadline(self, event):
        with seen_lock:
            seen.append((time.time(), event))

    @subscribe("agency.police.deadline.*")
    def handle_police_copy(self, event):
        with seen_lock:
            police_copies.append(event["id"])


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def events(kind, subject_id):
    with seen_lock:
        return [
            (at, event)
            for at, event in seen
            if event["type"] == kind and event["payload"]["subject"]["id"] == subject_id
        ]


@pytest.fixture(autouse=True)
def _clear_seen():
    seen.clear()
    police_copies.clear()


@pytest.fixture
def watcher(container_factory, service_config):
    container = container_factory(WatcherService, service_config)
    container.start()
    return container


def due_at_of(event):
    return UtcDateTime().deserialize(event["payload"]["due_at"]).timestamp()


def test_reminder_and_overdue_fire_within_a_second_across_two_restarts(
    container_factory, service_config, watcher
):
    clock = container_factory(ClockService, service_config)
    clock.start()
    with entrypoint_hook(clock, "start_clock") as start_clock:
        deadline = start_clock("c-restart", 20.0, reminders_seconds=[7.0])
    assert wait_for(lambda: events("deadline.set", "c-restart"))

    # Two restarts while the clock runs: a fresh container each time, as a
    # restarted process would be, on the same database.
    for _ in range(2):
        clock.stop()
        time.sleep(0.5)
        clock = container_factory(ClockService, service_config)
        clock.start()
        time.sleep(0.5)
    remind_at = UtcDateTime().deserialize(deadline["due_at"]).timestamp() - 7.0
    assert time.time() < remind_at, "the restarts took longer than the test allows"

    assert wait_for(lambda: events("deadline.overdue", "c-restart"), timeout=30)
    [(reminded_at, reminder)] = events("deadline.due_soon", "c-restart")
    [(overdue_at, overdue)] = events("deadline.overdue", "c-restart")
    due = due_at_of(overdue)
    assert abs(overdue_at - due) < 1.0
    assert abs(reminded_at - (due - 7.0)) < 1.0
    assert reminder["payload"]["minutes_before"] == pytest.approx(7.0 / 60)
    assert overdue["payload"]["deadline_id"] == deadline["deadline_id"]
    assert overdue["case_id"] == "c-restart"

    assert wait_for(lambda: overdue["id"] in police_copies)

    time.sleep(1.5)
    assert len(events("deadline.overdue", "c-restart")) == 1


def test_deadline_met_before_due_time_never_fires(
    container_factory, service_config, watcher
):
    clock = container_factory(ClockService, service_config)
    clock.start()
    with entrypoint_hook(clock, "start_clock") as start_clock:
        start_clock("c-met", 2.5, reminders_seconds=[1.5])
    with entrypoint_hook(clock, "step_done") as step_done:
        [met] = step_done("c-met")

    assert met["state"] == "met"
    assert met["late"] is False
    assert wait_for(lambda: events("deadline.met", "c-met"))
    time.sleep(3.5)
    assert events("deadline.due_soon", "c-met") == []
    assert events("deadline.overdue", "c-met") == []


def test_cancelled_deadline_never_fires_and_says_why(
    container_factory, service_config, watcher
):
    clock = container_factory(ClockService, service_config)
    clock.start()
    with entrypoint_hook(clock, "start_clock") as start_clock:
        start_clock("c-cancel", 2.0)
    with entrypoint_hook(clock, "withdraw") as withdraw:
        [cancelled] = withdraw("c-cancel", "case merged into another")

    assert cancelled["state"] == "cancelled"
    assert wait_for(lambda: events("deadline.cancelled", "c-cancel"))
    [(_, event)] = events("deadline.cancelled", "c-cancel")
    assert event["payload"]["reason"] == "case merged into another"
    time.sleep(2.5)
    assert events("deadline.overdue", "c-cancel") == []


def test_overdue_deadline_met_later_is_recorded_late(
    container_factory, service_config, watcher
):
    clock = container_factory(ClockService, service_config)
    clock.start()
    with entrypoint_hook(clock, "start_clock") as start_clock:
        start_clock("c-late", 0.5)
    assert wait_for(lambda: events("deadline.overdue", "c-late"))

    with entrypoint_hook(clock, "step_done") as step_done:
        [met] = step_done("c-late")

    assert met["late"] is True
    assert wait_for(lambda: events("deadline.met", "c-late"))


def test_deadline_due_while_service_was_down_fires_at_start(
    container_factory, service_config, watcher
):
    clock = container_factory(ClockService, service_config)
    clock.start()
    with entrypoint_hook(clock, "start_clock") as start_clock:
        start_clock("c-down", 3.0, reminders_seconds=[1.0])
    clock.stop()
    time.sleep(3.5)
    assert events("deadline.overdue", "c-down") == []

    clock = container_factory(ClockService, service_config)
    clock.start()

    assert wait_for(lambda: events("deadline.overdue", "c-down"), timeout=5)
    # The missed reminder is recorded as skipped rather than sent late.
    assert events("deadline.due_soon", "c-down") == []
    with entrypoint_hook(clock, "list_deadlines") as list_deadlines:
        [stored] = list_deadlines(case_id="c-down")
    assert stored["state"] == "overdue"
    assert stored["reminders"][0]["skipped"] is True


def test_setting_the_same_clock_twice_keeps_one_deadline(
    container_factory, service_config, watcher
):
    clock = container_factory(ClockService, service_config)
    clock.start()
    with entrypoint_hook(clock, "start_clock") as start_clock:
        first = start_clock("c-twice", 30.0)
        second = start_clock("c-twice", 30.0)

    assert first["deadline_id"] == second["deadline_id"]
    with entrypoint_hook(clock, "list_deadlines") as list_deadlines:
        assert len(list_deadlines(case_id="c-twice")) == 1
