"""A small client of the public HTTP API, for the CLI and for scripts.

It speaks to the gateway with an API key (``Authorization: Bearer``) and
turns the API's one error shape back into exceptions: ``ApiError`` carries
the status, the error code, the message and the fields at fault, and
``ApiUnreachable`` says the gateway could not be reached (or answered 503).
The address and the key come from the arguments, else from
``PHOIHOP_API_URL`` and ``PHOIHOP_API_KEY``. (Agency adapters use the
SDK's own ``phoihop.adapters.ApiClient``, which adds retries with
idempotency keys for answering events.)
"""

import json
import os
import uuid

import requests

from phoihop import __version__
from phoihop.errors import PhoihopError

DEFAULT_API_URL = "http://127.0.0.1:8000"
API_URL_ENV = "PHOIHOP_API_URL"
API_KEY_ENV = "PHOIHOP_API_KEY"


class ApiError(PhoihopError):
    """Raised when the API refused a request; ``status`` is its HTTP status."""

    code = "api_error"

    def __init__(self, message, fields=None, status=None, error_code=None):
        super().__init__(message, fields)
        self.status = status
        self.error_code = error_code or "error"


class ApiUnreachable(ApiError):
    """Raised when the gateway, or a service behind it, could not answer."""

    code = "api_unreachable"


class PhoihopClient:
    """The public API, one method per common task; ``request`` for the rest."""

    def __init__(self, base_url=None, api_key=None, timeout=30.0, session=None):
        self.base_url = (
            base_url or os.environ.get(API_URL_ENV) or DEFAULT_API_URL
        ).rstrip("/")
        self.api_key = api_key or os.environ.get(API_KEY_ENV) or ""
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update(
            {"Accept": "application/json", "User-Agent": f"phoihop/{__version__}"}
        )

    def __repr__(self):
        # Never show the key.
        return f"PhoihopClient({self.base_url!r})"

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def request(self, method, path, params=None, body=None, idempotency_key=None):
        """Call ``path`` (``/api/v1/...``); returns the decoded JSON answer."""
        if not self.api_key:
            raise ApiError(
                "no API key",
                {"api_key": f"set {API_KEY_ENV} or pass --api-key"},
                status=401,
                error_code="unauthenticated",
            )
        headers = {"Authorization": f"Bearer {self.api_key}"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        url = self.base_url + path
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise ApiUnreachable(
                f"cannot reach the API at {self.base_url}: {type(exc).__name__}",
                {"url": self.base_url},
                error_code="unreachable",
            ) from exc

        return _answer(response)

    def get(self, path, **params):
        return self.request("GET", path, params={k: v for k, v in params.items() if v})

    def post(self, path, body=None, idempotency_key=None):
        return self.request(
            "POST",
            path,
            body=body if body is not None else {},
            idempotency_key=idempotency_key,
        )

    # Tasks of the CLI and of scripts.

    def me(self):
        return self.get("/api/v1/me")

    def list_cases(self, **filters):
        return self.get("/api/v1/cases", **filters)

    def get_case(self, case_id):
        return self.get(f"/api/v1/cases/{case_id}")

    def submit_report(self, report, idempotency_key=None):
        return self.post(
            "/api/v1/reports", report, idempotency_key or str(uuid.uuid4())
        )

    def submit_input(self, channel, data, encoding="text", idempotency_key=None):
        body = {
            "channel": channel,
            "data": data,
            "encoding": encoding,
            "idempotency_key": idempotency_key,
        }
        return self.post("/api/v1/inputs", body)


def _answer(response):
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    if response.status_code < 400:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    kind = ApiUnreachable if response.status_code in (502, 503, 504) else ApiError
    raise kind(
        error.get("message") or f"the API answered {response.status_code}",
        error.get("fields") or {},
        status=response.status_code,
        error_code=error.get("code"),
    )
