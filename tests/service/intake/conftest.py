"""Fixtures of the intake service tests: a running service, an event tap,
the shared samples."""

from pathlib import Path

import pytest
from intake_support import SAMPLES, EventTap

from services.intake.service import IntakeService


@pytest.fixture
def intake(container_factory, service_config):
    container = container_factory(IntakeService, service_config)
    container.start()
    return container


@pytest.fixture
def tap(service_config):
    events = EventTap(service_config)
    yield events
    events.close()


@pytest.fixture
def samples():
    assert SAMPLES.is_dir(), f"the shared samples are expected at {SAMPLES}"
    return Path(SAMPLES)
