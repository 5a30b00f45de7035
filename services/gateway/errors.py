"""The HTTP edge of the domain errors: one shape, one table of status codes.

Every error the API returns is ``{"error": {"code", "message", "fields"}}``.
``ERROR_STATUS`` is the only place that maps an exception class to a status;
the first matching row wins, so subclasses come before their parents.
"""

import json

from nameko.exceptions import (
    IncorrectSignature,
    MalformedRequest,
    MethodNotFound,
    RemoteError,
    UnknownService,
)
from werkzeug.wrappers import Response

from phoihop.errors import (
    ConfigError,
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    PhoihopError,
    ServiceUnavailable,
    Unauthenticated,
    UnknownEventType,
    ValidationError,
)


class RateLimited(PhoihopError):
    """Raised when a credential sent more requests than its limit allows."""

    code = "rate_limited"

    def __init__(self, message, fields=None, retry_after=1):
        super().__init__(message, fields)
        self.retry_after = max(1, int(retry_after + 0.999))


class BoardBehind(ServiceUnavailable):
    """Raised when a case exists (routing has it) but the case board has
    not logged it yet: the board is fed by events and may run seconds
    behind under load. The caller retries after ``retry_after``."""

    code = "board_behind"

    def __init__(self, message, fields=None, retry_after=2):
        super().__init__(message, fields)
        self.retry_after = retry_after


class PayloadTooLarge(PhoihopError):
    """Raised when a request body is larger than the gateway accepts."""

    code = "payload_too_large"


class MethodNotAllowed(PhoihopError):
    """Raised when the path exists but not with this HTTP method."""

    code = "method_not_allowed"

    def __init__(self, message, fields=None, allowed=()):
        super().__init__(message, fields)
        self.allowed = tuple(allowed)


class UpstreamError(PhoihopError):
    """Raised when a service answered with an error it did not mean to
    raise, or does not offer the method the gateway called."""

    code = "upstream_error"


ERROR_STATUS = (
    (ValidationError, 400),
    (UnknownEventType, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (MethodNotAllowed, 405),
    (IllegalTransition, 409),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (RateLimited, 429),
    (UpstreamError, 502),
    (ServiceUnavailable, 503),
    (ConfigError, 503),
)


def status_for(exc):
    for cls, status in ERROR_STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def from_rpc_error(service, method, exc):
    """Turn what nameko raised for an RPC call into a domain error."""
    if isinstance(exc, PhoihopError):
        return exc
    if isinstance(exc, UnknownService):
        return ServiceUnavailable(
            f"the {service} service is not running", {"service": service}
        )
    if isinstance(exc, (MethodNotFound, IncorrectSignature, MalformedRequest)):
        return UpstreamError(
            f"the {service} service does not offer {method} as the gateway calls it",
            {"service": service},
        )
    if isinstance(exc, RemoteError):
        return UpstreamError(
            f"the {service} service failed to answer {method}", {"service": service}
        )
    return None


def json_dumps(data):
    return json.dumps(data, ensure_ascii=False, default=_json_default)


def _json_default(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def error_body(code, message, fields=None):
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(exc):
    """The JSON response for an exception; unknown ones become a bare 500
    without internals (the caller logs them)."""
    status = status_for(exc)
    if isinstance(exc, PhoihopError):
        body = error_body(exc.code, exc.message, _plain_fields(exc.fields))
    else:
        body = error_body("internal_error", "the gateway failed; see its log")
    headers = {}
    if isinstance(exc, RateLimited | BoardBehind):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="phoihop"'
    if isinstance(exc, MethodNotAllowed) and exc.allowed:
        headers["Allow"] = ", ".join(exc.allowed)

    return Response(
        json_dumps(body),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


def _plain_fields(fields):
    # Services may name fields with nested dicts or lists of messages; the
    # API promises a flat mapping of field name to one reason.
    flat = {}
    for key, value in (fields or {}).items():
        if isinstance(value, dict):
            for inner, reason in _plain_fields(value).items():
                flat[f"{key}.{inner}"] = reason
        elif isinstance(value, (list, tuple)):
            flat[str(key)] = "; ".join(str(item) for item in value)
        else:
            flat[str(key)] = str(value)
    return flat
