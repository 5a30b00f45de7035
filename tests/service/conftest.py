"""Fixtures of the service tests.

Every service test module starts on empty service queues. The services'
queues are durable and stay bound to the run's exchange after a container
stops, so they collect what every later module publishes; a container of
the next module would work through that backlog before its own events and
miss the module's time limits. Only the run's own virtual host is touched.
"""

import pytest

from phoihop.testing import purge_queues, run_queues

SERVICES = ("intake", "routing", "consultation", "press", "reporting", "gateway")


@pytest.fixture(scope="module", autouse=True)
def _empty_service_queues(test_env):
    uri = test_env.amqp_uri
    purge_queues(uri, [q for q in run_queues(uri) if q.split(".")[0] in SERVICES])
