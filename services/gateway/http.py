"""The gateway's HTTP entrypoint: authentication, access, validation, JSON.

``api(method, url, action=..., body=Schema, query=Schema, response=Schema)``
declares an endpoint once; the same declaration drives the request handling
here and the OpenAPI document (``services.gateway.openapi``). Before a worker
runs, the entrypoint

1. refuses bodies larger than the configured limit (413);
2. authenticates the caller (API key, or the dashboard's session cookie on
   safe methods) when the endpoint names an ``action`` (401);
3. applies the caller's rate limit (429);
4. checks the role and agency rules of the action in ``phoihop.auth`` (403);
5. validates the query string and the JSON body with their schemas (400).

Whatever goes wrong, the answer is the one JSON error shape of
``services.gateway.errors``; every refusal is logged with its reason.
"""

import json
import re
import time
import uuid
from functools import partial

from eventlet.event import Event
from marshmallow import ValidationError as SchemaError
from marshmallow import fields as ma_fields
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.exceptions import MethodNotAllowed as WerkzeugMethodNotAllowed
from werkzeug.wrappers import Request, Response

from phoihop.auth import CredentialStore, check_action
from phoihop.config import db_prefix, mongodb_uri
from phoihop.errors import (
    Forbidden,
    NotFound,
    PhoihopError,
    ServiceUnavailable,
    Unauthenticated,
    ValidationError,
)
from phoihop.logging import bind_ids, get_logger
from phoihop.store import database_name, get_database, make_client
from services.gateway.errors import (
    MethodNotAllowed,
    PayloadTooLarge,
    RateLimited,
    error_response,
    json_dumps,
    status_for,
)
from services.gateway.ratelimit import RateLimiter

log = get_logger("phoihop.gateway")

SESSION_COOKIE = "phoihop_session"
CORRELATION_HEADER = "X-Correlation-Id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_SAFE_METHODS = frozenset({"GET", "HEAD"})

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024
DEFAULT_RATE_PER_MINUTE = 600
DEFAULT_RATE_BURST = 120


def _http_error(exc, environ):
    if isinstance(exc, WerkzeugMethodNotAllowed):
        allowed = sorted(exc.valid_methods or ())
        return MethodNotAllowed(
            f"{environ.get('REQUEST_METHOD')} is not allowed here",
            {"method": f"allowed: {', '.join(allowed)}"},
            allowed=allowed,
        )
    if exc.code == 404:
        return NotFound(
            f"no endpoint at {environ.get('PATH_INFO')}",
            {"path": "see /api/v1/openapi.json for the endpoints"},
        )
    return ValidationError(exc.description or "bad request", {})


class _JsonErrors:
    """Wraps a werkzeug HTTPException raised by routing in our shape."""

    def __init__(self, exc):
        self.exc = exc

    def __call__(self, environ, start_response):
        return error_response(_http_error(self.exc, environ))(environ, start_response)


class ApiWsgiApp(WsgiApp):
    """nameko's WSGI app, answering unknown paths and methods in JSON."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values
            response = provider.handle_request(request)
        except HTTPException as exc:
            response = _JsonErrors(exc)
        except Exception:  # noqa: BLE001 - never a bare traceback page
            log.exception("http_unhandled", path=environ.get("PATH_INFO"))
            response = error_response(RuntimeError())
        return response(environ, start_response)


class ApiServer(WebServer):
    """The web server of the gateway; unknown routes answer in JSON."""

    def get_wsgi_app(self):
        return ApiWsgiApp(self)

    def context_data_from_headers(self, request):
        # The correlation id travels with every RPC call the worker makes
        # (nameko copies context data into message headers), so one request
        # can be followed through the logs of every service.
        given = request.headers.get(CORRELATION_HEADER, "")
        correlation_id = given if _SAFE_ID.match(given) else str(uuid.uuid4())
        return {"correlation_id": correlation_id}


class Gatekeeper(DependencyProvider):
    """The gateway's own database (credentials, sessions) and rate limits.

    ``setup()`` runs once at container start: it connects to MongoDB, creates
    the indexes and reads the limits from the ``gateway`` section of the
    config; a database that does not answer stops the start there.
    ``stop()`` closes the client. Workers get the ``CredentialStore``.
    """

    def __init__(self):
        self.client = None
        self.store = None
        self.limiter = None
        self.section = {}

    def setup(self):
        config = self.container.config
        self.section = config.get("gateway") or {}
        self.client = make_client(mongodb_uri(config), serverSelectionTimeoutMS=5000)
        db = get_database(self.client, database_name(db_prefix(config), "gateway"))
        self.store = CredentialStore(db)
        try:
            self.store.ensure_indexes()
        except Exception as exc:
            raise ServiceUnavailable(f"gateway database not reachable: {exc}") from exc
        self.limiter = RateLimiter(
            per_minute=int(
                self.section.get("rate_limit_per_minute", DEFAULT_RATE_PER_MINUTE)
            ),
            burst=int(self.section.get("rate_limit_burst", DEFAULT_RATE_BURST)),
        )

    @property
    def max_body_bytes(self):
        return int(self.section.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES))

    def stop(self):
        if self.client is not None:
            self.client.close()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return GateAccess(self)

    def authenticate(self, request):
        """The caller of ``request``; Unauthenticated when there is none."""
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, key = header.partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                raise Unauthenticated(
                    "unsupported authorization scheme",
                    {"authorization": "expected Bearer phk_<id>_<secret>"},
                )
            return self._store_call(self.store.authenticate, key.strip())
        key = request.headers.get("X-API-Key", "")
        if key:
            return self._store_call(self.store.authenticate, key.strip())
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie and request.method in _SAFE_METHODS:
            # The session cookie is accepted only for reading: a page on
            # another site cannot make a browser change anything (CSRF).
            return self._store_call(self.store.authenticate_session, cookie)
        raise Unauthenticated(
            "credentials required",
            {"authorization": "send Authorization: Bearer <API key>"},
        )

    def _store_call(self, function, *args):
        try:
            return function(*args)
        except PhoihopError:
            raise
        except Exception as exc:
            log.warning("credential_store_unreachable", error=str(exc))
            raise ServiceUnavailable("the credential store cannot be reached") from exc

    def throttle(self, caller):
        wait = self.limiter.take(caller.key_id)
        if wait:
            raise RateLimited(
                "too many requests for this credential",
                {"authorization": f"retry after {wait:.1f} s"},
                retry_after=wait,
            )


class GateAccess:
    """What a gateway worker gets: the credential store, the container's
    config, and sign-in with a bare API key (the dashboard's form)."""

    def __init__(self, gatekeeper):
        self._gatekeeper = gatekeeper
        self.credentials = gatekeeper.store
        self.config = gatekeeper.container.config

    def authenticate_key(self, key):
        gate = self._gatekeeper
        caller = gate._store_call(gate.store.authenticate, key)
        gate.throttle(caller)
        return caller


class ApiEndpoint(HttpRequestHandler):
    """One endpoint of the public API (see the module docstring)."""

    server = ApiServer()

    def __init__(
        self,
        method,
        url,
        action=None,
        body=None,
        query=None,
        response=None,
        status=200,
        also=None,
        summary="",
        description="",
        tag="",
        public_doc=True,
        **kwargs,
    ):
        kwargs.setdefault("expected_exceptions", (PhoihopError,))
        super().__init__(method, url, **kwargs)
        self.action = action
        self.body = body
        self.query = query
        self.response = response
        self.status = status
        # Other success statuses the handler may answer with, by the
        # description the API document gives them.
        self.also = also or {}
        self.summary = summary
        self.description = description
        self.tag = tag
        self.public_doc = public_doc

    @property
    def gatekeeper(self):
        for dependency in self.container.dependencies:
            if isinstance(dependency, Gatekeeper):
                return dependency
        raise LookupError("the gateway service needs a Gatekeeper dependency")

    def handle_request(self, request):
        request.shallow = False
        started = time.monotonic()
        caller = None
        try:
            context_data = self.server.context_data_from_headers(request)
            gate = self.gatekeeper
            request.max_content_length = gate.max_body_bytes
            if request.content_length and request.content_length > gate.max_body_bytes:
                raise PayloadTooLarge(
                    f"request body over {gate.max_body_bytes} bytes",
                    {"body": f"at most {gate.max_body_bytes} bytes"},
                )
            kwargs = dict(request.path_values)
            if self.action:
                caller = gate.authenticate(request)
                gate.throttle(caller)
                check_action(caller, self.action)
                kwargs["caller"] = caller
                bind_ids(correlation_id=context_data["correlation_id"])
            if self.public_doc:
                check_path_values(request.path_values)
            if self.query is not None:
                kwargs["query"] = load_query(self.query, request.args)
            if self.body is not None:
                kwargs["body"] = load_body(self.body, request)
            args = (request,)
            self.check_signature(args, kwargs)

            event = Event()
            self.container.spawn_worker(
                self,
                args,
                kwargs,
                context_data=context_data,
                handle_result=partial(self.handle_result, event),
            )
            result = event.wait()
            response = self.response_from_result(result)
        except Exception as exc:  # noqa: BLE001 - every error becomes JSON
            response = self.response_for_error(exc, request, caller)

        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
        if "context_data" in locals():
            response.headers[CORRELATION_HEADER] = context_data["correlation_id"]
        log.info(
            "http_request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            key_id=caller.key_id if caller else None,
        )
        return response

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        status = self.status
        if isinstance(result, tuple):
            status, result = result
        return Response(json_dumps(result), status=status, mimetype="application/json")

    def response_for_error(self, exc, request, caller):
        if isinstance(exc, RequestEntityTooLarge):
            exc = PayloadTooLarge(
                "request body too large",
                {"body": f"at most {self.gatekeeper.max_body_bytes} bytes"},
            )
        status = status_for(exc)
        if isinstance(exc, Forbidden):
            # Every refusal is logged with who asked, what and why.
            log.warning(
                "access_refused",
                action=self.action,
                path=request.path,
                key_id=caller.key_id if caller else None,
                agency=caller.agency if caller else None,
                roles=sorted(caller.roles) if caller else None,
                reason=exc.message,
                fields=exc.fields,
            )
        elif isinstance(exc, Unauthenticated):
            log.info("authentication_refused", path=request.path, reason=exc.message)
        elif status == 500:
            log.error("http_failed", path=request.path, error=repr(exc), exc_info=exc)
        return error_response(exc)


api = ApiEndpoint.decorator


def check_path_values(values):
    """Identifiers in paths are short and plain (case ids, agency codes,
    uuids); anything else is refused before a service is asked."""
    bad = {
        name: "letters, digits and . _ : - only, 1 to 100 characters"
        for name, value in values.items()
        if not _SAFE_ID.match(str(value))
    }
    if bad:
        raise ValidationError("invalid path parameter", bad)


def load_query(schema, args):
    """Validate a query string; list fields take every repeated value."""
    instance = schema() if isinstance(schema, type) else schema
    data = {}
    for key in args.keys():
        field = instance.fields.get(key)
        if isinstance(field, ma_fields.List):
            data[key] = args.getlist(key)
        else:
            values = args.getlist(key)
            data[key] = values[0] if len(values) == 1 else values
    try:
        return instance.load(data)
    except SchemaError as exc:
        raise ValidationError(
            "invalid query parameters", flatten(exc.messages)
        ) from exc


def load_body(schema, request):
    """Validate a JSON object body with its schema."""
    instance = schema() if isinstance(schema, type) else schema
    raw = request.get_data(cache=True)
    if not raw.strip():
        # A body whose every field is optional may be left out.
        if any(field.required for field in instance.fields.values()):
            raise ValidationError("a JSON body is required", {"body": "empty"})
        raw = b"{}"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValidationError("body is not UTF-8", {"body": "invalid UTF-8"}) from exc
    except ValueError as exc:
        raise ValidationError("body is not valid JSON", {"body": str(exc)}) from exc
    if not isinstance(data, dict):
        raise ValidationError("body must be a JSON object", {"body": "not an object"})
    try:
        return instance.load(data)
    except SchemaError as exc:
        raise ValidationError("invalid request body", flatten(exc.messages)) from exc


def flatten(messages, prefix=""):
    """marshmallow's nested messages as ``{"a.b": "reason"}``."""
    flat = {}
    if isinstance(messages, list):
        return {prefix.rstrip(".") or "_schema": "; ".join(map(str, messages))}
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = "; ".join(
                str(item) if not isinstance(item, dict) else json_dumps(item)
                for item in value
            )
        else:
            flat[name] = str(value)
    return flat
