"""Golden outputs: every shipped scenario and ablation, on both engines, at a small size.

``python tests/golden/make_golden.py`` writes ``tests/golden/<engine>/<name>/summary.json`` and
``timeseries.parquet``; ``tests/test_golden.py`` reruns each case and compares. A refactor keeps them
byte-identical (summary bytes; every time-series value exactly). Regenerate only when the model's
behaviour is meant to change, and say so in the commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MERCHANTS, MONTHS, BURN_IN, REPS, SEED = 300, 24, 24, 3, 20261201
ENGINES = ("mesa", "fast")


def cases() -> list[tuple[str, Path]]:
    """(name, scenario file) of every shipped scenario and ablation."""
    out = [(p.stem, p) for p in sorted((ROOT / "scenarios").glob("*.yaml"))]
    out += [(f"ablation-{p.stem}", p) for p in sorted((ROOT / "scenarios" / "ablations").glob("*.yaml"))]
    return out


def compute(path: Path, engine: str):
    """The small run of one case: (summary.json text, time series frame)."""
    from sim.experiment.runner import run_scenario
    from sim.model.schema import load_scenario

    scn = load_scenario(path, [f"population.merchants={MERCHANTS}", f"population.months={MONTHS}",
                               f"population.burn_in_months={BURN_IN}"])
    res = run_scenario(scn, reps=REPS, seed=SEED, engine=engine, progress=False)
    return json.dumps(res.summary, indent=2) + "\n", res.timeseries


def main() -> int:
    for name, path in cases():
        for engine in ENGINES:
            text, ts = compute(path, engine)
            out = HERE / engine / name
            out.mkdir(parents=True, exist_ok=True)
            (out / "summary.json").write_text(text)
            ts.to_parquet(out / "timeseries.parquet", index=False)
            print(engine, name, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
