"""Root pytest configuration: the cells of one notebook run in order in one kernel, so under pytest-xdist
(``make test`` runs ``-n 2 --dist loadgroup``) every nbval item of a notebook is put in one group, on one worker."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group nbval's items by notebook file (other tests are spread over the workers one by one)."""
    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(pytest.mark.xdist_group(name=f"notebook:{item.fspath}"))
