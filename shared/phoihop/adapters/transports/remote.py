"""Remote hand-over: the event, redacted, into the queue an agency reads.

The host runs this transport for an adapter an agency runs in its own
process (``run: remote``): it publishes each event, already redacted to the
agency's clearance and in order per case, to ``adapter.<name>.remote`` with
publisher confirms. The agency's runner takes it from there with the same
guarantees (its own retries, dead letters and idempotency).
"""

import threading

from kombu.exceptions import OperationalError

from phoihop.adapters.errors import DeliveryFailed
from phoihop.adapters.topology import remote_queue_name
from phoihop.adapters.transports.base import Transport, TransportSchema
from phoihop.bus import RETRY_POLICY, confirmed_connection
from phoihop.constants import HEADER_QUEUE

ROUTING_KEY_HEADER = "x-phoihop-routing-key"


class RemoteSchema(TransportSchema):
    pass


class RemoteQueueTransport(Transport):
    kind = "remote"
    schema = RemoteSchema

    def __init__(self, settings, context):
        super().__init__(settings, context)
        self.queue = remote_queue_name(context.adapter)
        self._lock = threading.Lock()
        self._connection = None
        self._producer = None

    def describe(self):
        return f"remote queue {self.queue}"

    def _ensure(self):
        if self._producer is None:
            self._connection = confirmed_connection(self.context.amqp_uri)
            self._producer = self._connection.Producer(serializer="json")
        return self._producer

    def send(self, event, adapter, **extra):
        with self._lock:
            try:
                self._ensure().publish(
                    event.envelope,
                    exchange="",
                    routing_key=self.queue,
                    delivery_mode=2,
                    message_id=event.id,
                    headers={
                        ROUTING_KEY_HEADER: event.routing_key,
                        HEADER_QUEUE: self.queue,
                    },
                    retry=True,
                    retry_policy=RETRY_POLICY,
                )
            except (OSError, OperationalError) as exc:
                self._reset()
                raise DeliveryFailed(
                    f"cannot hand over to {self.queue}: {exc}"
                ) from exc

        return {"queue": self.queue}

    def _reset(self):
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self._connection = None
        self._producer = None

    def close(self):
        with self._lock:
            self._reset()
