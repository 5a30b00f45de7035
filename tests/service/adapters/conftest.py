"""Fixtures of the adapter host tests: each test starts with no adapter
queue left over from another one."""

import pytest
from adapter_support import USED_NAMES, delete_adapter_queues


@pytest.fixture(autouse=True)
def _fresh_adapter_queues(test_env):
    USED_NAMES.clear()
    yield
    delete_adapter_queues(test_env.amqp_uri, sorted(USED_NAMES))
    USED_NAMES.clear()
