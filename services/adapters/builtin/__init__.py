"""The built-in adapters: one for each agency of Art. 7 of the regulation.

They are found like any third-party adapter, through the ``phoihop.adapters``
entry points that pyproject.toml declares, and configured in
``deploy/config/adapters.yaml``.
"""
