"""Fixtures of the routing service tests."""

import pytest
from routing_helpers import Publisher, Tap


@pytest.fixture
def publisher(service_config):
    publisher = Publisher(service_config)
    yield publisher
    publisher.close()


@pytest.fixture
def tap(service_config):
    tap = Tap(service_config, ["case.#", "agency.#", "deadline.#"])
    yield tap
    tap.close()
