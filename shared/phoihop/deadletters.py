"""Listing and replaying the messages in dead-letter queues.

A dead-letter queue is ``<consumer queue>.dlq``. Listing reads the messages
without acknowledging them and closes the channel, which returns them to the
queue untouched. Replaying republishes a message to its consumer's queue with
the attempt count reset, and acknowledges the dead letter only once the
broker confirmed the copy.
"""

from dataclasses import dataclass

from kombu import Connection, Queue

from phoihop.bus import confirmed_connection, dead_letter_queue_name
from phoihop.constants import (
    HEADER_ATTEMPTS,
    HEADER_ERROR,
    HEADER_FAILED_AT,
    HEADER_QUEUE,
)


@dataclass
class DeadLetter:
    queue: str
    event_id: str | None
    event_type: str | None
    case_id: str | None
    attempts: int
    error: str
    failed_at: str | None
    body: object


def _to_dead_letter(queue, message):
    body = message.decode() if hasattr(message, "decode") else message.payload
    headers = message.headers or {}
    is_envelope = isinstance(body, dict)

    return DeadLetter(
        queue=headers.get(HEADER_QUEUE, queue),
        event_id=body.get("id") if is_envelope else None,
        event_type=body.get("type") if is_envelope else None,
        case_id=body.get("case_id") if is_envelope else None,
        attempts=int(headers.get(HEADER_ATTEMPTS, 0)),
        error=headers.get(HEADER_ERROR, ""),
        failed_at=headers.get(HEADER_FAILED_AT),
        body=body,
    )


class DeadLetters:
    """Dead-letter queues of one broker (one virtual host)."""

    def __init__(self, amqp_uri):
        self.amqp_uri = amqp_uri

    def count(self, queue):
        """Messages waiting in ``queue``'s dead-letter queue (0 if none)."""
        with Connection(self.amqp_uri) as connection:
            channel = connection.channel()
            try:
                _, count, _ = channel.queue_declare(
                    dead_letter_queue_name(queue), passive=True
                )
            except Exception:  # noqa: BLE001 - a queue never declared holds nothing
                return 0
            return count

    def list(self, queue, limit=1000):
        """The dead letters of ``queue``, oldest first, left in place."""
        letters = []
        with Connection(self.amqp_uri) as connection:
            channel = connection.channel()
            dlq = Queue(dead_letter_queue_name(queue), durable=True)(channel)
            dlq.declare()
            for _ in range(limit):
                message = dlq.get(no_ack=False)
                if message is None:
                    break
                letters.append(_to_dead_letter(queue, message))
            # Closing the channel without acking returns every message read.
            channel.close()

        return letters

    def replay(self, queue, event_ids=None, limit=1000):
        """Send dead letters back to ``queue``; returns how many were sent.

        With ``event_ids``, only those events are replayed; others stay.
        """
        replayed = 0
        with confirmed_connection(self.amqp_uri) as connection:
            channel = connection.channel()
            producer = connection.Producer(serializer="json")
            dlq = Queue(dead_letter_queue_name(queue), durable=True)(channel)
            dlq.declare()
            skipped = []
            for _ in range(limit):
                message = dlq.get(no_ack=False)
                if message is None:
                    break
                letter = _to_dead_letter(queue, message)
                if event_ids is not None and letter.event_id not in event_ids:
                    skipped.append(message)
                    continue
                headers = {
                    key: value
                    for key, value in (message.headers or {}).items()
                    if key not in (HEADER_ATTEMPTS, HEADER_ERROR)
                }
                producer.publish(
                    letter.body,
                    exchange="",
                    routing_key=letter.queue,
                    headers={**headers, "x-phoihop-replayed": True},
                    delivery_mode=2,
                )
                message.ack()
                replayed += 1
            channel.close()

        return replayed
