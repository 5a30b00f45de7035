"""Per-case lanes: order within a case, parallel cases, back-off off-worker."""

from phoihop.adapters.lanes import LaneScheduler


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def drain(scheduler):
    taken = []
    while (item := scheduler.take(timeout=0)) is not None:
        taken.append(item)
    return taken


def test_a_lane_gives_one_item_at_a_time_in_order():
    scheduler = LaneScheduler()
    for item in ("a1", "a2", "a3"):
        scheduler.add("A", item)

    assert drain(scheduler) == [("A", "a1")]
    scheduler.done("A")
    assert drain(scheduler) == [("A", "a2")]
    scheduler.done("A")
    assert drain(scheduler) == [("A", "a3")]


def test_lanes_of_different_cases_are_handed_out_together():
    scheduler = LaneScheduler()
    scheduler.add("A", "a1")
    scheduler.add("B", "b1")
    scheduler.add("A", "a2")

    assert drain(scheduler) == [("A", "a1"), ("B", "b1")]


def test_a_failing_head_holds_its_case_only():
    clock = Clock()
    scheduler = LaneScheduler(clock=clock)
    scheduler.add("A", "a1")
    scheduler.add("A", "a2")
    scheduler.add("B", "b1")
    assert drain(scheduler) == [("A", "a1"), ("B", "b1")]

    scheduler.retry_later("A", 30)
    scheduler.done("B")
    scheduler.add("B", "b2")

    assert drain(scheduler) == [("B", "b2")]
    clock.now += 31
    assert drain(scheduler) == [("A", "a1")]


def test_wake_all_retries_waiting_lanes_at_once():
    clock = Clock()
    scheduler = LaneScheduler(clock=clock)
    scheduler.add("A", "a1")
    scheduler.add("C", "c1")
    drain(scheduler)
    scheduler.retry_later("A", 600)
    scheduler.retry_later("C", 600)
    assert drain(scheduler) == []

    scheduler.wake_all()

    assert sorted(drain(scheduler)) == [("A", "a1"), ("C", "c1")]
    assert scheduler.waiting_lanes() == 0


def test_backlog_counts_every_waiting_item():
    scheduler = LaneScheduler()
    for index in range(3):
        scheduler.add("A", index)
    scheduler.add("B", 9)

    assert scheduler.backlog() == 4
