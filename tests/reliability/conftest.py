"""Fixtures of the fault tests. The stack they break, its adapters and the
helpers the tests share are in ``faults.py``: a module of its own name,
because every test folder has a ``conftest`` and only one of them can be
imported under that name."""

from faults import fault_stack, since  # noqa: F401 - fixtures for the tests

__all__ = ["fault_stack", "since"]
