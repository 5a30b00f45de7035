"""Generated bad input against the running stack: channel inputs through
the intake service, requests to every operation of the public API.

The parsers alone are fuzzed by the intake unit tests and the gateway alone
(against stand-in services) by its schemathesis test. Here the input goes
all the way, through the service processes, the broker and the database:

- every channel gets real sample inputs (``../shared/samples``) cut short,
  with bytes flipped or inserted, or with a JSON value swapped for another
  kind; each input must become reports or a quarantine entry that names its
  reason, never an error of the service;
- every operation of the OpenAPI document gets valid and invalid requests
  from schemathesis; no answer may be a server error, and every refusal
  must say what is wrong.
"""

import base64
import json

import pytest
import requests
import schemathesis
from faults import PEPPER
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from load import OFFICER
from nameko.exceptions import RemoteError
from schemathesis import GenerationMode

from phoihop.auth import CredentialStore
from phoihop.config import PROJECT_ROOT

SAMPLES = PROJECT_ROOT.parent / "shared" / "samples"
OUTCOMES = ("opened", "attached", "duplicate", "quarantined")
# Refusals of a whole input that the intake service may answer with.
INPUT_REFUSALS = ("ValidationError",)
CHANNEL_EXAMPLES = 80
API_EXAMPLES_PER_OPERATION = 4


def _head(path, lines):
    """The first lines of a large file: a batch of a few rows."""
    with open(path, "rb") as stream:
        return b"".join(stream.readline() for _ in range(lines))


def sample_inputs():
    """(channel, bytes) of real inputs, a few of each kind."""
    inputs = [
        ("email", path.read_bytes()) for path in sorted(SAMPLES.glob("email/*.eml"))
    ]
    inputs += [
        ("misp", path.read_bytes()) for path in sorted(SAMPLES.glob("misp/*.json"))
    ]
    inputs += [
        ("stix", path.read_bytes()) for path in sorted(SAMPLES.glob("stix/*.json"))
    ]
    posts = sorted(SAMPLES.glob("vfnd/social/*.json"))[:4]
    inputs += [("api", path.read_bytes()) for path in posts]
    inputs += [("csv", _head(SAMPLES / "vfnd" / "vn_news_226_tlfr.csv", 4))]
    comments = _head(SAMPLES / "vihos" / "test.csv", 6).decode("utf-8", "replace")
    for number, line in enumerate(comments.splitlines()[1:4]):
        sms = {"from": "0912345678", "text": line, "id": f"fuzz-{number}"}
        inputs.append(("sms", json.dumps(sms, ensure_ascii=False).encode()))
    phone = {"called_at": "2026-11-02T08:00:00+07:00", "summary": comments[:200]}
    inputs.append(("phone", json.dumps(phone, ensure_ascii=False).encode()))
    letter = {"received_on": "2026-11-02", "subject": "Phản ánh", "summary": comments}
    inputs.append(("post", json.dumps(letter, ensure_ascii=False).encode()))
    return inputs


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mutated_input(draw):
    """A real input, damaged in one of a few ways."""
    channel, data = draw(st.sampled_from(sample_inputs()))
    how = draw(st.sampled_from(("cut", "flip", "insert", "swap_json", "as_is")))
    if how == "cut" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif how == "flip" and data:
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            index = draw(st.integers(0, len(data) - 1))
            data[index] = draw(st.integers(0, 255))
        data = bytes(data)
    elif how == "insert":
        index = draw(st.integers(0, len(data)))
        data = data[:index] + draw(st.binary(min_size=1, max_size=64)) + data[index:]
    elif how == "swap_json":
        data = _swap_json_value(draw, data)
    return channel, data


def _swap_json_value(draw, data):
    try:
        document = json.loads(data)
    except ValueError:
        return data
    node = document
    for _ in range(draw(st.integers(1, 4))):
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node)))
            if not isinstance(node[key], (dict, list)) or draw(st.booleans()):
                node[key] = draw(JSON_VALUES)
                break
            node = node[key]
        elif isinstance(node, list) and node:
            index = draw(st.integers(0, len(node) - 1))
            if not isinstance(node[index], (dict, list)):
                node[index] = draw(JSON_VALUES)
                break
            node = node[index]
        else:
            break
    return json.dumps(document).encode()


@pytest.mark.timeout(300)
def test_damaged_channel_inputs_become_reports_or_quarantine_with_a_reason(
    fault_stack,
):
    seen = {"results": 0, "quarantined": 0, "refused": 0}

    with fault_stack.rpc(timeout=60) as rpc:

        @settings(
            max_examples=CHANNEL_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=mutated_input())
        def submit(case):
            channel, data = case
            encoded = base64.b64encode(data).decode("ascii")
            try:
                answer = rpc.intake.submit_input(
                    channel, encoded, OFFICER, encoding="base64"
                )
            except RemoteError as refusal:
                assert refusal.exc_type in INPUT_REFUSALS, refusal
                assert str(refusal.value).strip()
                seen["refused"] += 1
                return
            assert answer["results"], answer
            for result in answer["results"]:
                assert result["outcome"] in OUTCOMES, result
                seen["results"] += 1
                if result["outcome"] == "quarantined":
                    seen["quarantined"] += 1
                    assert result["reason"].strip()
                    kept = rpc.intake.get_quarantine(
                        result["quarantine_id"], include_raw=False
                    )
                    assert kept["reason"] == result["reason"][:2000]

        submit()

    print(f"\nchannel inputs: {seen}")
    assert fault_stack.stack.stack.health("intake")
    assert seen["quarantined"] > 0 and seen["results"] > seen["quarantined"]


@pytest.fixture
def api_key(fault_stack):
    store = CredentialStore(
        fault_stack.stack.database("gateway"), pepper=PEPPER.encode()
    )
    _, key = store.create(
        "dic",
        "Kiểm thử API",
        ["dic_inspector", "focal_point", "admin"],
        clearance="secret",
        days=1,
    )
    return key


def check_answer(response, case):
    """No server error; a refusal carries the error document with its
    message (``{"error": {"code", "message", "fields"}}``)."""
    where = f"{case.method} {case.formatted_path}"
    assert response.status_code < 500, (
        f"{where}: {response.status_code} {response.text[:300]}"
    )
    if response.status_code >= 400:
        error = response.json().get("error") or {}
        assert error.get("message"), f"{where}: {response.text[:300]}"


@pytest.mark.timeout(420)
def test_generated_requests_to_every_operation_get_no_server_error(
    fault_stack, api_key
):
    base_url = fault_stack.stack.base_url
    document = requests.get(f"{base_url}/api/v1/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    headers = {"Authorization": f"Bearer {api_key}"}
    failures = {}
    calls = {"operations": len(operations)}

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=API_EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def call(case):
                response = case.call(base_url=base_url, headers=headers, timeout=60)
                calls[case.method] = calls.get(case.method, 0) + 1
                check_answer(response, case)

            try:
                call()
            except Unsatisfiable:
                continue
            except Exception as exc:  # noqa: BLE001 - collect them all
                failures[f"{operation.label} [{mode.value}]"] = str(exc)[:1500]

    print(f"\nAPI requests: {calls}")
    for name, failure in failures.items():
        print(f"=== {name}\n{failure}")
    assert failures == {}
    assert fault_stack.stack.stack.health("gateway")
