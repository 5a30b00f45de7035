"""Webhook: the event as a signed JSON POST to the agency's own system.

The request carries:

- ``X-Phoihop-Timestamp``: Unix seconds when it was signed;
- ``X-Phoihop-Signature``: ``v1=`` and the hex HMAC-SHA256, keyed with the
  secret shared with the agency, of ``<timestamp>.`` followed by the raw
  body bytes. Signing the timestamp with the body lets the receiver refuse
  a captured request replayed later (``verify_signature`` checks both);
- ``Idempotency-Key``: the event id, the same on every retry, so the
  receiver keeps each event once even when an answer was lost on the way.

2xx (and 409, "already have it") is a delivery; 408, 425, 429 and 5xx or a
network error are retried; any other status is refused for good.
"""

import hashlib
import hmac
import json
import time

import requests
from marshmallow import fields, validate

from phoihop import __version__
from phoihop.adapters.errors import DeliveryFailed, DeliveryRefused
from phoihop.adapters.templates import render
from phoihop.adapters.transports.base import ENV_NAME, Transport, TransportSchema

SIGNATURE_HEADER = "X-Phoihop-Signature"
TIMESTAMP_HEADER = "X-Phoihop-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_VERSION = "v1"

# A receiver refuses a signature older (or newer) than this.
DEFAULT_TOLERANCE_SECONDS = 300

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
ALREADY_RECEIVED = 409


def sign(secret, timestamp, body):
    """The ``v1=<hex>`` signature of ``body`` (bytes) at ``timestamp``."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    message = str(int(timestamp)).encode("ascii") + b"." + body
    digest = hmac.new(secret, message, hashlib.sha256).hexdigest()

    return f"{SIGNATURE_VERSION}={digest}"


def verify_signature(
    secret, timestamp, body, signature, tolerance=DEFAULT_TOLERANCE_SECONDS, now=None
):
    """True when ``signature`` is the signature of ``body`` at ``timestamp``
    with ``secret`` and the timestamp is within ``tolerance`` seconds.

    For receivers: pass the raw body bytes as received, before any JSON
    parsing, and the two header values as strings.
    """
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - stamp) > tolerance:
        return False
    expected = sign(secret, stamp, body)

    # compare_digest takes the same time whatever the first differing byte.
    return hmac.compare_digest(expected, str(signature or ""))


class WebhookSchema(TransportSchema):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    secret_env = fields.String(required=True, validate=ENV_NAME)
    timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=300))
    connect_retries = fields.Integer(
        load_default=2, validate=validate.Range(min=0, max=10)
    )
    include_text = fields.Boolean(load_default=True)
    headers = fields.Dict(
        keys=fields.String(), values=fields.String(), load_default=dict
    )


def delivery_body(event, adapter, text=None):
    """The JSON document a webhook or an endpoint receives."""
    document = {
        "adapter": adapter.name,
        "agency": adapter.agency,
        "event": event.envelope,
    }
    if text is not None:
        document["text"] = {"subject": text[0], "body": text[1]}

    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")


def signed_headers(event, adapter, secret, body, content_type):
    timestamp = int(time.time())
    headers = {
        "Content-Type": content_type,
        "User-Agent": f"phoihop-adapter/{__version__}",
        TIMESTAMP_HEADER: str(timestamp),
        IDEMPOTENCY_HEADER: event.id,
        "X-Phoihop-Event-Id": event.id,
        "X-Phoihop-Event-Type": event.type,
        "X-Phoihop-Adapter": adapter.name,
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)

    return headers


def post(session, url, body, headers, timeout, connect_retries):
    """POST once, retrying only when the connection could not be made;
    returns the receipt or raises DeliveryFailed or DeliveryRefused."""
    started = time.monotonic()
    for attempt in range(connect_retries + 1):
        try:
            response = session.post(
                url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            )
            break
        except requests.ConnectionError as exc:
            if attempt == connect_retries:
                raise DeliveryFailed(
                    f"cannot reach {url}: {type(exc).__name__}"
                ) from exc
            time.sleep(0.5 * (attempt + 1))
        except requests.Timeout as exc:
            # The request may have arrived: retrying is safe thanks to the
            # idempotency key, but only in a later attempt, after back-off.
            raise DeliveryFailed(f"no answer from {url} within {timeout} s") from exc
        except requests.RequestException as exc:
            raise DeliveryFailed(f"request to {url} failed: {exc}") from exc
    status = response.status_code
    elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    if 200 <= status < 300 or status == ALREADY_RECEIVED:
        return {"status": status, "elapsed_ms": elapsed_ms}
    reason = f"{url} answered {status}: {response.text[:300]}"
    if status in RETRY_STATUSES or status >= 500:
        raise DeliveryFailed(reason)

    raise DeliveryRefused(reason)


class WebhookTransport(Transport):
    kind = "webhook"
    schema = WebhookSchema

    def __init__(self, settings, context):
        super().__init__(settings, context)
        self._secret = self.secret("secret_env")
        self._session = requests.Session()

    def describe(self):
        return f"webhook {self.settings['url']}"

    def send(self, event, adapter, **extra):
        text = None
        if self.settings["include_text"]:
            text = render(
                event, adapter.agency, adapter.registry, self.context.templates
            )
        body = delivery_body(event, adapter, text)
        headers = {
            **self.settings["headers"],
            **signed_headers(
                event, adapter, self._secret, body, "application/json; charset=utf-8"
            ),
        }

        return post(
            self._session,
            self.settings["url"],
            body,
            headers,
            self.settings["timeout"],
            self.settings["connect_retries"],
        )

    def close(self):
        self._session.close()
