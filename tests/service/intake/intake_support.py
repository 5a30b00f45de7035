"""Helpers of the intake service tests: the samples, an officer, polling,
and a tap on the events the service publishes."""

import threading
import time
import uuid

from kombu import Connection, Exchange, Queue

from phoihop.config import PROJECT_ROOT, exchange_name

SAMPLES = PROJECT_ROOT.parent / "shared" / "samples"
OFFICER = {"agency": "dic", "officer": "Nguyễn Văn An"}


def wait_for(predicate, timeout=20.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class EventTap:
    """Collects the events published on the run's exchange."""

    def __init__(self, config, keys=("report.#", "case.#")):
        self.events = []
        self.lock = threading.Lock()
        self.connection = Connection(config["AMQP_URI"])
        exchange = Exchange(exchange_name(config), type="topic", durable=True)
        self.queue = Queue(
            f"intake-test-tap-{uuid.uuid4().hex[:10]}", exclusive=True, auto_delete=True
        )
        channel = self.connection.channel()
        exchange(channel).declare()
        self.bound = self.queue(channel)
        self.bound.declare()
        for key in keys:
            self.bound.bind_to(exchange=exchange, routing_key=key)
        self.consumer = self.connection.Consumer(
            self.bound, callbacks=[self._on_message], accept=["json"]
        )
        self.consumer.consume()
        self.running = True
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _on_message(self, body, message):
        with self.lock:
            self.events.append((time.monotonic(), body))
        message.ack()

    def _drain(self):
        while self.running:
            try:
                self.connection.drain_events(timeout=0.2)
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - the tap stops with the test
                return

    def of_type(self, name):
        with self.lock:
            return [body for _, body in self.events if body["type"] == name]

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.connection.release()
