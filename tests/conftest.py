"""Shared fixtures: paths found relative to this file, small scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.model.schema import Scenario, _merge, load_raw, validate_dict

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))


def small(base: str | None = None, **over) -> Scenario:
    """A shipped scenario (or the defaults) shrunk for tests, with nested overrides merged in."""
    data = load_raw(SCENARIOS / base) if base else {}
    data = _merge(data, {"population": {"merchants": 300, "months": 24}})
    data = _merge(data, over)
    return validate_dict(data, base or "test")


@pytest.fixture
def root() -> Path:
    return ROOT
