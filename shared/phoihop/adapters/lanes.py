"""Serial lanes: one per case, many cases at once.

The events of one case are delivered one after the other, in the order the
adapter received them; events of different cases are delivered in parallel,
up to the adapter's concurrency. A lane whose head failed waits for its
back-off without holding a worker, so the other lanes keep flowing.
"""

import heapq
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class _Lane:
    items: deque = field(default_factory=deque)
    busy: bool = False
    queued: bool = False
    ready_at: float = 0.0


class LaneScheduler:
    """Hands out the head of a ready lane to one worker at a time."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lanes = {}
        self._ready = deque()
        self._delayed = []
        self._tick = itertools.count()
        self._cond = threading.Condition()
        self._closed = False

    def add(self, lane, item):
        """Append ``item`` to ``lane``; it runs after the lane's earlier items."""
        with self._cond:
            state = self._lanes.setdefault(lane, _Lane())
            state.items.append(item)
            self._schedule(lane, state)

    def _schedule(self, lane, state):
        if state.busy or state.queued or not state.items:
            return
        state.queued = True
        if state.ready_at <= self._clock():
            self._ready.append(lane)
            self._cond.notify()
        else:
            heapq.heappush(self._delayed, (state.ready_at, next(self._tick), lane))
            self._cond.notify()

    def contains(self, lane, event_id):
        """Whether an item of ``event_id`` waits or runs in ``lane``."""
        with self._cond:
            state = self._lanes.get(lane)
            return state is not None and any(
                item.event_id == event_id for item in state.items
            )

    def take(self, timeout=0.5):
        """The (lane, head item) to work on next, or None after ``timeout``."""
        deadline = self._clock() + timeout
        with self._cond:
            while not self._closed:
                self._promote()
                if self._ready:
                    lane = self._ready.popleft()
                    state = self._lanes[lane]
                    state.queued = False
                    state.busy = True
                    return lane, state.items[0]
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return None
                if self._delayed:
                    remaining = min(
                        remaining, max(self._delayed[0][0] - self._clock(), 0)
                    )
                self._cond.wait(max(remaining, 0.005))
        return None

    def _promote(self):
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, lane = heapq.heappop(self._delayed)
            state = self._lanes.get(lane)
            if state is not None and state.queued and state.ready_at <= now:
                self._ready.append(lane)

    def done(self, lane):
        """The head of ``lane`` is finished; the next item may run."""
        with self._cond:
            state = self._lanes.get(lane)
            if state is None:
                return
            state.items.popleft()
            state.busy = False
            state.ready_at = 0.0
            if not state.items:
                del self._lanes[lane]
                return
            self._schedule(lane, state)

    def retry_later(self, lane, delay):
        """The head of ``lane`` failed; run it again after ``delay`` seconds."""
        with self._cond:
            state = self._lanes.get(lane)
            if state is None:
                return
            state.busy = False
            state.ready_at = self._clock() + delay
            self._schedule(lane, state)

    def wake_all(self):
        """Run every waiting lane now: the receiver answered again."""
        with self._cond:
            now = self._clock()
            for lane, state in self._lanes.items():
                if state.queued and state.ready_at > now:
                    state.ready_at = now
                    self._ready.append(lane)
            self._delayed = [
                entry for entry in self._delayed if entry[2] not in self._ready
            ]
            heapq.heapify(self._delayed)
            self._cond.notify_all()

    def clear(self):
        """Forget every lane (the runner reloads them from the ledger)."""
        with self._cond:
            self._lanes.clear()
            self._ready.clear()
            self._delayed.clear()

    def busy_count(self):
        with self._cond:
            return sum(1 for state in self._lanes.values() if state.busy)

    def backlog(self):
        with self._cond:
            return sum(len(state.items) for state in self._lanes.values())

    def waiting_lanes(self):
        """Lanes waiting for a retry (their head failed)."""
        with self._cond:
            now = self._clock()
            return sum(
                1
                for state in self._lanes.values()
                if state.ready_at > now and not state.busy
            )

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify_all()
