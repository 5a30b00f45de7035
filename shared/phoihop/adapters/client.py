"""The adapter's client of the public API: answering back as its agency.

An adapter answers with its own API key (``Authorization: Bearer <key>``),
which the gateway ties to the agency and checks like an officer's: an
adapter may answer only for the cases its agency is assigned to. Methods:

- ``submit_opinion``: the agency's written opinion in a round (Art. 5.2.b);
  a verification result is given the same way, as the opinion with the
  legal basis the agency found;
- ``report_result``: the handling result of a measure (Art. 7.6.c, 8.2);
- ``submit_report``: a report of new harmful content the agency detected
  (Art. 5.1, Art. 8.1);
- ``confirm_statement``: a press agency confirms it received a statement.

Every call carries an ``Idempotency-Key``; the runner's retries send the
same key, so an answer whose reply was lost is not recorded twice. A 4xx
raises ``ApiRefused`` (not retried), a 5xx, 429 or a network failure
``ApiUnavailable`` (retried with back-off).
"""

import json
import uuid

import requests

from phoihop import __version__
from phoihop.adapters.errors import ApiRefused, ApiUnavailable

# Paths of the gateway (services/gateway/service.py).
OPINIONS_PATH = "/api/v1/rounds/{consultation_id}/opinions"
RESULTS_PATH = "/api/v1/cases/{case_id}/measures/{measure_id}/result"
REPORTS_PATH = "/api/v1/reports"
CONFIRMATIONS_PATH = "/api/v1/statements/{statement_id}/deliveries"

RETRY_STATUSES = frozenset({408, 425, 429})


class ApiClient:
    """A small client of the gateway for one adapter; thread-safe."""

    def __init__(self, base_url, api_key, agency=None, adapter=None, timeout=15.0):
        self.base_url = base_url.rstrip("/")
        self.agency = agency
        self.adapter = adapter
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": f"phoihop-adapter/{__version__} ({adapter or '-'})",
            }
        )

    def __repr__(self):
        # Never show the key.
        return f"ApiClient({self.base_url!r}, agency={self.agency!r})"

    def close(self):
        self._session.close()

    def post(self, path, body, idempotency_key=None):
        """POST ``body`` as JSON to ``path``; returns the decoded answer."""
        url = self.base_url + path
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
            data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
        try:
            response = self._session.post(
                url, data=data, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise ApiUnavailable(
                f"cannot reach the API at {url}: {type(exc).__name__}"
            ) from exc

        return _answer(response, url)

    def submit_opinion(
        self,
        consultation_id,
        position,
        reasoning,
        legal_basis=(),
        attachments=(),
        idempotency_key=None,
    ):
        """Answer a written-opinion round: ``agree``, ``disagree`` or ``abstain``."""
        return self.post(
            OPINIONS_PATH.format(consultation_id=consultation_id),
            {
                "position": position,
                "reasoning": reasoning,
                "legal_basis": list(legal_basis),
                "attachments": list(attachments),
            },
            idempotency_key,
        )

    def report_result(
        self,
        case_id,
        measure_id,
        result,
        evidence=(),
        note="",
        difficulties="",
        idempotency_key=None,
    ):
        """Report a measure ``done``, ``partly_done`` or ``not_possible``;
        a measure carried out needs its evidence (a description, a link)."""
        return self.post(
            RESULTS_PATH.format(case_id=case_id, measure_id=measure_id),
            {
                "result": result,
                "evidence": list(evidence),
                "note": note,
                "difficulties": difficulties,
            },
            idempotency_key,
        )

    def submit_report(self, report, idempotency_key=None):
        """Report new content the agency detected (the intake report form)."""
        return self.post(REPORTS_PATH, dict(report), idempotency_key)

    def confirm_statement(self, statement_id, idempotency_key=None):
        """Confirm that a press agency received a statement."""
        return self.post(
            CONFIRMATIONS_PATH.format(statement_id=statement_id), None, idempotency_key
        )


def _answer(response, url):
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {"raw": response.text[:500]}
    if response.status_code < 400:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    message = error.get("message") or f"{url} answered {response.status_code}"
    kwargs = {
        "fields": error.get("fields") or {},
        "status": response.status_code,
        "error_code": error.get("code"),
    }
    if response.status_code >= 500 or response.status_code in RETRY_STATUSES:
        raise ApiUnavailable(message, **kwargs)

    raise ApiRefused(message, **kwargs)


def idempotency_key(adapter, event, action):
    """The key of one answer to one event: the same on every retry."""
    return f"{adapter}:{event.id}:{action}"
