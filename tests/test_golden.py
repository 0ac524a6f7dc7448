"""Golden outputs hold: the same scenario and seed give the numbers committed in ``tests/golden``.

Each shipped scenario and ablation runs on both engines at 300 merchants x 24 months x 3 replications
(``tests/golden/make_golden.py``). ``summary.json`` must match byte for byte and every time-series value
exactly (NaN where NaN): a refactor of the model changes no number. A change meant to change behaviour
regenerates the goldens in the same commit and says why.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.golden.make_golden import ENGINES, HERE, cases, compute

CASES = [(engine, name, path) for name, path in cases() for engine in ENGINES]


@pytest.mark.parametrize(("engine", "name", "path"), CASES, ids=[f"{e}-{n}" for e, n, _ in CASES])
def test_golden(engine, name, path):
    gold = HERE / engine / name
    text, ts = compute(path, engine)
    assert text == (gold / "summary.json").read_text(), f"{engine} {name}: summary.json differs from the golden"
    want = pd.read_parquet(gold / "timeseries.parquet")
    pd.testing.assert_frame_equal(ts.reset_index(drop=True), want, check_exact=True)


def test_every_case_has_a_golden():
    """A new scenario or ablation without a golden fails here (run make_golden.py)."""
    missing = [f"{e}/{n}" for e, n, _ in CASES if not (HERE / e / n / "summary.json").is_file()]
    assert not missing, missing
