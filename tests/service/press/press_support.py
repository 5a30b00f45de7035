"""Helpers of the press service tests (the fixtures are in conftest.py)."""

import time

from nameko.testing.services import entrypoint_hook

# Spokespersons the test registry names (Art. 7.6.d).
SPOKESPERSONS = {
    "dic": "Trần Thị Bình",
    "dept-health": "Nguyễn Văn An",
}


def spokesperson(agency):
    return {"agency": agency, "officer": SPOKESPERSONS[agency]}


def officer(agency, name="Lê Văn Cường"):
    return {"agency": agency, "officer": name}


def call(container, name, *args, **kwargs):
    """Call one RPC method of a running service container."""
    with entrypoint_hook(container, name) as method:
        return method(*args, **kwargs)


def wait_until(predicate, timeout=15.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)

    return predicate()
